"""The typed parts of :class:`ingestd.config.Settings`, one per concern.

``Settings`` reads the environment (``INGESTD_*``) and the flags, declares every default and
validates every value; a part is a frozen view of the fields one concern reads, built from it
(``settings.queue``, ``settings.webhooks``, …). Code receives the part it reads, not the whole
``Settings``: the webhook dispatcher cannot grow a dependency on the queue's lease by accident,
and a test builds the part it needs without an environment.

Nothing here declares a default or an environment variable: those stay in ``config.py``, so a
new setting is one field there plus, when a concern reads it, one line in its part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The HTTP server and who may call it."""

    host: str
    port: int
    cors_origins: tuple[str, ...]
    admin_key: str | None
    log_format: str = "text"  # text | json (observe/logs.py)
    metrics_port: int = 0  # `ingestd worker`'s own /metrics (0 = off)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str  # resolved: a SQLAlchemy async URL (SQLite in the data directory by default)
    pool_size: int
    is_default_sqlite: bool  # no INGESTD_DATABASE_URL: the file lives in the data directory


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Workers: how many, how they claim, lease, retry and scan."""

    workers: int  # parser processes; 0 = API only
    prefetch: int
    worker_process: bool
    lease_seconds: float
    heartbeat_seconds: float
    poll_seconds: float
    retry_base_seconds: float
    retry_max_seconds: float
    process_count: int
    files_in_flight: int
    files_in_flight_max: int
    parser_memory_mb: int
    clamd: str | None
    clamd_timeout_seconds: float


@dataclass(frozen=True, slots=True)
class EventSettings:
    """The event log and its live fan-out (docs/events.md)."""

    poll_seconds: float
    gap_seconds: float
    queue_size: int
    keepalive_seconds: float
    retention_seconds: float
    retention_count: int | None
    retention_check_seconds: float
    feed: Literal["auto", "redis", "postgres", "poll"]
    fallback_poll_seconds: float
    channel: str
    redis_url: str | None
    progress_event_seconds: float
    job_progress_event_seconds: float


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    enabled: bool
    reads: str
    writes: str
    upload_mb: str
    redis_url: str | None


@dataclass(frozen=True, slots=True)
class UploadSettings:
    """Multipart and resumable (tus) uploads (docs/uploads.md)."""

    max_upload_size: int  # bytes per uploaded file, whatever the job allows
    max_files_per_request: int
    tus_expiry_seconds: float
    tus_cleanup_seconds: float
    tus_progress_seconds: float
    convert_max_files: int = 20  # files and URLs per POST /api/v1/convert
    convert_max_bytes: int = 100 * 1024**2  # the uploaded files' bytes, all together


@dataclass(frozen=True, slots=True)
class OutboundSettings:
    """Requests made on a user's behalf: URL sources and webhooks (docs/sources.md)."""

    allow: tuple[str, ...]  # INGESTD_OUTBOUND_ALLOW: CIDRs, addresses, host names
    url_max_bytes: int
    url_max_per_source: int
    url_max_redirects: int
    url_connect_timeout_seconds: float
    url_read_timeout_seconds: float
    url_total_timeout_seconds: float


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """The durable webhook outbox (docs/webhooks.md), and what its targets may be."""

    retry_base_seconds: float
    max_attempts: int
    disable_after: int
    allow_private: bool
    timeout_seconds: float
    poll_seconds: float
    concurrency: int
    retention_seconds: float
    outbound_allow: tuple[str, ...]
    # How long a round waits for a lower event seq still committing (0 on SQLite).
    gap_seconds: float


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """Templates for tabular files (docs/templates.md)."""

    require_approval: bool = True  # a submitted mapping waits for an admin's approval
    embedder: str | None = None  # for name and sample-value similarity in suggestions


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the data lives: the data directory and the blob store (docs/storage.md)."""

    data_dir: Path
    blob_url: str | None
    blob_dir: Path  # <data_dir>/blobs: the default store, and staging for remote ones
    blob_gc_seconds: float  # 0 = never
    blob_gc_grace_seconds: float
    check_seconds: float = 5.0  # the storage monitor's probe interval
    slow_ms: float = 1000.0  # average probe latency past this: degraded


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What directory, zip and s3 sources may read."""

    roots: tuple[Path, ...]  # resolved
    path_maps: tuple[str, ...]
    s3_endpoint_url: str | None
    s3_region: str | None
    s3_allowed_endpoints: tuple[str, ...]


__all__ = [
    "DatabaseSettings",
    "EventSettings",
    "OutboundSettings",
    "QueueSettings",
    "RateLimitSettings",
    "ServerSettings",
    "SourceSettings",
    "StorageSettings",
    "UploadSettings",
    "WebhookSettings",
]
