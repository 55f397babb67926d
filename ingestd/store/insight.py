"""Aggregate queries for stats, the queue view and metrics."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import FILE_FINISHED_EVENTS, EventType
from ingestd.store.tables import events, files, job_sources, jobs, workers

RECENT_DURATIONS = 10_000  # completed files whose timings feed the mean and p95


def _scope(query: Any, column: Any, tenant: str | None) -> Any:
    return query if tenant is None else query.where(column == tenant)


async def processed(conn: AsyncConnection, tenant: str | None) -> dict[str, int]:
    query = _scope(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(files.c.size), 0)).where(
            files.c.status == "completed"
        ),
        files.c.tenant,
        tenant,
    )
    count, size = (await conn.execute(query)).one()
    return {"files": int(count), "bytes": int(size)}


async def recent_durations(conn: AsyncConnection, tenant: str | None) -> list[int]:
    query = _scope(
        sa.select(files.c.duration_ms)
        .where(files.c.status == "completed", files.c.duration_ms.is_not(None))
        .order_by(files.c.completed_at.desc())
        .limit(RECENT_DURATIONS),
        files.c.tenant,
        tenant,
    )
    return [int(v) for v in (await conn.execute(query)).scalars()]


async def jobs_by_source_type(conn: AsyncConnection, tenant: str | None) -> dict[str, int]:
    query = _scope(
        sa.select(job_sources.c.type, sa.func.count(sa.distinct(job_sources.c.job_id)))
        .join(jobs, jobs.c.id == job_sources.c.job_id)
        .group_by(job_sources.c.type),
        jobs.c.tenant,
        tenant,
    )
    return {str(k): int(v) for k, v in (await conn.execute(query)).all()}


FINISHED_FILE_EVENTS = FILE_FINISHED_EVENTS


async def recent_rate(conn: AsyncConnection, tenant: str | None, since: float) -> tuple[int, int]:
    """Files finished and bytes completed since ``since``, from the event log: a range of its
    ``at`` index, where counting files by ``completed_at`` would scan the whole files table."""
    completed_size = sa.case(
        (events.c.type == EventType.FILE_COMPLETED.value, events.c.data["size"].as_integer()),
        else_=0,
    )
    query = _scope(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(completed_size), 0)).where(
            events.c.at >= since, events.c.type.in_(FINISHED_FILE_EVENTS)
        ),
        events.c.tenant,
        tenant,
    )
    count, size = (await conn.execute(query)).one()
    return int(count), int(size)


async def queue_counts(conn: AsyncConnection, tenant: str | None) -> tuple[int, int]:
    """Files queued and running, from the per-source counters (no scan of the files table)."""
    query = sa.select(
        sa.func.coalesce(sa.func.sum(job_sources.c.n_queued), 0),
        sa.func.coalesce(sa.func.sum(job_sources.c.n_running), 0),
    )
    if tenant is not None:
        query = query.join(jobs, jobs.c.id == job_sources.c.job_id).where(jobs.c.tenant == tenant)
    queued, running = (await conn.execute(query)).one()
    return int(queued), int(running)


async def registered_workers(conn: AsyncConnection, *, limit: int = 500) -> list[dict[str, Any]]:
    """Workers that have not said goodbye (active or gone), most recently seen first."""
    query = (
        sa.select(workers)
        .where(workers.c.stopped_at.is_(None))
        .order_by(workers.c.last_seen.desc())
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def live_workers(conn: AsyncConnection, seen_after: float) -> list[dict[str, Any]]:
    query = (
        sa.select(workers)
        .where(workers.c.stopped_at.is_(None), workers.c.last_seen >= seen_after)
        .order_by(workers.c.started_at)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# -- /metrics: gauges read at scrape time, from small tables only --------------------------------
_COUNTERS = ("queued", "running", "completed", "failed", "skipped", "cancelled")


async def files_by_status_counters(conn: AsyncConnection) -> dict[str, int]:
    """Files by status, summed from the per-source counters (one row per job source, never
    the files table: a scrape stays fast with millions of files)."""
    columns = [
        sa.func.coalesce(sa.func.sum(getattr(job_sources.c, f"n_{s}")), 0) for s in _COUNTERS
    ]
    row = (await conn.execute(sa.select(*columns))).one()
    return {status: int(value) for status, value in zip(_COUNTERS, row, strict=True)}


async def queue_depth(conn: AsyncConnection, by: str) -> dict[str, tuple[int, int]]:
    """(queued, running) files by the job's ``priority`` or ``tenant``, from the per-source
    counters joined to their jobs (one row each)."""
    key = jobs.c.priority if by == "priority" else jobs.c.tenant
    query = (
        sa.select(
            key,
            sa.func.coalesce(sa.func.sum(job_sources.c.n_queued), 0),
            sa.func.coalesce(sa.func.sum(job_sources.c.n_running), 0),
        )
        .join(jobs, jobs.c.id == job_sources.c.job_id)
        .group_by(key)
    )
    return {str(k): (int(q), int(r)) for k, q, r in (await conn.execute(query)).all()}


async def count_live_workers(conn: AsyncConnection, seen_after: float) -> int:
    query = sa.select(sa.func.count()).where(
        workers.c.stopped_at.is_(None), workers.c.last_seen >= seen_after
    )
    return int((await conn.execute(query)).scalar_one())
