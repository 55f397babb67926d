"""Every Prometheus metric of ingestd, defined once; call sites are one line.

>>> from ingestd.observe import metrics
>>> metrics.DEDUP_HITS.labels("skipped").inc()
>>> with metrics.STEP_SECONDS.labels("parse").time():
...     pass

Counters and histograms are kept as work happens (no scan of the database at scrape time);
the few gauges that describe the database (files and jobs by status, queue depth, workers) are
read at scrape time from small tables (``store/insight.py``) and passed to :func:`render`.

Across processes (``ingestd serve``: API + worker child) the values live in prometheus_client's
multiprocess files (``observe/multiproc.py``); live gauges use ``livesum``, so a process that
died stops counting. Label values are bounded: route templates (never raw paths), detected
mime types, error codes, steps and outcomes — never file, job or tenant ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ingestd.observe import multiproc

__all__ = [
    "BLOB_SECONDS",
    "CONTENT_TYPE",
    "DB_SECONDS",
    "DEDUP_HITS",
    "EVENTS_SENT",
    "FILES_FINISHED",
    "FILES_IN_FLIGHT",
    "FILE_RETRIES",
    "FILE_SECONDS",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "LEASES_LOST",
    "LIVE_CONNECTIONS",
    "PAGES",
    "QUEUE_WAIT_SECONDS",
    "RESCUED_FILES",
    "STEP_SECONDS",
    "STORAGE_PROBE_SECONDS",
    "SUBSCRIBERS_DROPPED",
    "WEBHOOK_DELIVERIES",
    "WEBHOOK_SECONDS",
    "render",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# seconds: from a cached tiny file to a long OCR run
WORK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
# seconds: requests, queries, blob calls, webhook posts
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# seconds: how long files wait in the queue (a backlog can be hours)
WAIT_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)

# -- files -------------------------------------------------------------------------------------
FILES_FINISHED = Counter(
    "ingestd_files_finished",
    "Files that ended an attempt, by outcome (completed, failed, retrying, skipped, cancelled), "
    "detected type and error code ('' when none)",
    ["outcome", "mime_type", "error_code"],
)
FILE_RETRIES = Counter(
    "ingestd_file_retries", "Failed attempts queued again after a backoff", ["error_code"]
)
FILE_SECONDS = Histogram(
    "ingestd_file_seconds",
    "A file's processing time from claim to outcome (end to end), by outcome",
    ["outcome"],
    buckets=WORK_BUCKETS,
)
STEP_SECONDS = Histogram(
    "ingestd_step_seconds",
    "Time in each pipeline step: fetch, detect, scan, parse (extract + chunk, + embed for "
    "small files), embed, store (blob copy), record (the outcome's write)",
    ["step"],
    buckets=WORK_BUCKETS,
)
QUEUE_WAIT_SECONDS = Histogram(
    "ingestd_queue_wait_seconds",
    "From when a file became claimable (queued, or its backoff ended) to its claim",
    ["priority"],
    buckets=WAIT_BUCKETS,
)
FILES_IN_FLIGHT = Gauge(
    "ingestd_files_in_flight",
    "Files claimed and being worked on, by worker process",
    ["worker"],
    multiprocess_mode="livesum",
)
LEASES_LOST = Counter(
    "ingestd_lease_expirations",
    "Files whose lease expired under a worker (its result was discarded)",
    ["worker"],
)
RESCUED_FILES = Counter(
    "ingestd_rescued_files",
    "Files returned to the queue by the rescuer after their worker went silent",
    ["worker"],
)
DEDUP_HITS = Counter(
    "ingestd_dedup_hits",
    "Files not processed because the same content was (skipped) or is being (waiting) processed",
    ["kind"],
)
PAGES = Counter(
    "ingestd_pages",
    "Pages extracted, by where their text came from (text_layer, ocr)",
    ["text_source"],
)

# -- HTTP and live events ----------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "ingestd_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "ingestd_http_request_seconds",
    "HTTP request latency to the end of the response, by route template and method",
    ["route", "method"],
    buckets=FAST_BUCKETS,
)
LIVE_CONNECTIONS = Gauge(
    "ingestd_live_connections",
    "Open live-event connections, by transport (websocket, sse)",
    ["transport"],
    multiprocess_mode="livesum",
)
EVENTS_SENT = Counter("ingestd_events_sent", "Live events handed to subscribers", ["transport"])
SUBSCRIBERS_DROPPED = Counter(
    "ingestd_subscribers_dropped",
    "Live subscribers dropped because they fell too far behind (lagged)",
    ["reason"],
)

# -- webhooks ----------------------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "ingestd_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, failed, gave_up)",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "ingestd_webhook_delivery_seconds",
    "Webhook delivery latency (the POST and its answer)",
    ["outcome"],
    buckets=FAST_BUCKETS,
)

# -- storage -----------------------------------------------------------------------------------
DB_SECONDS = Histogram(
    "ingestd_db_transaction_seconds",
    "Database transaction time, from connection checkout to commit, by kind (read, write)",
    ["kind"],
    buckets=FAST_BUCKETS,
)
BLOB_SECONDS = Histogram(
    "ingestd_blob_operation_seconds",
    "Blob store calls, by operation (put, get, delete, check, …)",
    ["operation"],
    buckets=FAST_BUCKETS,
)
STORAGE_PROBE_SECONDS = Histogram(
    "ingestd_storage_probe_seconds",
    "The storage monitor's probes (write, read, delete), by store and result",
    ["store", "result"],
    buckets=FAST_BUCKETS,
)


class _Fixed(Collector):
    """Families computed for this scrape only (read from the database by the caller)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The Prometheus text exposition: every process's metrics (multiprocess mode) or this
    process's, plus ``extra`` families computed for this scrape."""
    if multiproc.enabled():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    registry.register(_Fixed(extra))
    return generate_latest(registry)


class _Default(Collector):
    """The process's own registry (metrics above, plus the process and platform collectors)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
