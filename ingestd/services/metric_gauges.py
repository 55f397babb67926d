"""The gauges ``/metrics`` reads from the database at scrape time, from small tables only:
files by status (per-source counters), jobs by status, queue depth by priority and by tenant,
live workers. Everything else is counted as work happens (``observe/metrics.py``)."""

from __future__ import annotations

import time

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from ingestd import __version__
from ingestd.store import insight
from ingestd.store import jobs as job_store
from ingestd.store.db import Database

TENANT_LABELS = 20  # tenants named in the per-tenant depth; the rest are summed as "other"
OTHER = "other"
LIVE_WORKER_SECONDS = 60.0


async def database_gauges(db: Database) -> list[Metric]:
    async with db.read() as conn:
        files = await insight.files_by_status_counters(conn)
        jobs = await job_store.totals_by(conn, "status", None)
        by_priority = await insight.queue_depth(conn, "priority")
        by_tenant = await insight.queue_depth(conn, "tenant")
        workers = await insight.count_live_workers(conn, time.time() - LIVE_WORKER_SECONDS)
    out: list[Metric] = []
    family = GaugeMetricFamily("ingestd_files", "Files by status", labels=["status"])
    for status, count in files.items():
        family.add_metric([status], count)
    out.append(family)
    family = GaugeMetricFamily("ingestd_jobs", "Jobs by status", labels=["status"])
    for status, count in jobs.items():
        family.add_metric([status], count)
    out.append(family)
    out.append(_depth("ingestd_queue_depth", "priority", by_priority))
    out.append(_depth("ingestd_queue_depth_by_tenant", "tenant", bounded(by_tenant)))
    out.append(
        GaugeMetricFamily("ingestd_workers", "Workers seen in the last minute", value=workers)
    )
    info = GaugeMetricFamily("ingestd_build_info", "Version of this server", labels=["version"])
    info.add_metric([__version__], 1)
    out.append(info)
    return out


def _depth(name: str, label: str, counts: dict[str, tuple[int, int]]) -> Metric:
    family = GaugeMetricFamily(
        name, f"Files queued and running, by the job's {label}", labels=[label, "state"]
    )
    for key, (queued, running) in sorted(counts.items()):
        family.add_metric([key, "queued"], queued)
        family.add_metric([key, "running"], running)
    return family


def bounded(counts: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The ``TENANT_LABELS`` busiest tenants by name, the others summed under ``other``: the
    label set stays bounded however many tenants there are."""
    ranked = sorted(counts.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    kept = dict(ranked[:TENANT_LABELS])
    rest = ranked[TENANT_LABELS:]
    if rest:
        queued, running = kept.get(OTHER, (0, 0))
        kept[OTHER] = (
            queued + sum(q for _k, (q, _r) in rest),
            running + sum(r for _k, (_q, r) in rest),
        )
    return kept
