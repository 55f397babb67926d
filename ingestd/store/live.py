"""The reads behind the live metrics feed (services/live_metrics.py): a few small queries a
second for every subscriber together, none of them a scan of the files table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import FILE_FINISHED_EVENTS, EventType
from ingestd.store.tables import events, job_sources, jobs, workers


async def finished_per_second(
    conn: AsyncConnection, since: float
) -> list[tuple[str, int, int, int]]:
    """``(tenant, second, files, bytes)`` of files finished since ``since``: a range of the event
    log's ``at`` index (completed files count their bytes; failed and skipped ones none)."""
    second = (
        sa.cast(events.c.at, sa.BigInteger)
        if conn.dialect.name == "sqlite"
        else (sa.cast(sa.func.floor(events.c.at), sa.BigInteger))
    )
    size = sa.case(
        (events.c.type == EventType.FILE_COMPLETED.value, events.c.data["size"].as_integer()),
        else_=0,
    )
    query = (
        sa.select(
            events.c.tenant,
            second.label("second"),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(size), 0),
        )
        .where(events.c.at >= since, events.c.type.in_(FILE_FINISHED_EVENTS))
        .group_by(events.c.tenant, second)
    )
    return [(str(t), int(s), int(n), int(b)) for t, s, n, b in (await conn.execute(query)).all()]


async def queue_by_tenant(conn: AsyncConnection) -> dict[str, tuple[int, int]]:
    """``{tenant: (queued, running)}`` from the per-source counters of jobs with work left."""
    query = (
        sa.select(
            jobs.c.tenant,
            sa.func.coalesce(sa.func.sum(job_sources.c.n_queued), 0),
            sa.func.coalesce(sa.func.sum(job_sources.c.n_running), 0),
        )
        .join(jobs, jobs.c.id == job_sources.c.job_id)
        .where(sa.or_(job_sources.c.n_queued > 0, job_sources.c.n_running > 0))
        .group_by(jobs.c.tenant)
    )
    return {str(t): (int(q), int(r)) for t, q, r in (await conn.execute(query)).all()}


async def worker_load(conn: AsyncConnection, seen_after: float) -> dict[str, Any]:
    """Workers heard from since ``seen_after`` and the files they hold."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(workers.c.running), 0)).where(
        workers.c.stopped_at.is_(None), workers.c.last_seen >= seen_after
    )
    count, running = (await conn.execute(query)).one()
    return {"active": int(count), "files_in_flight": int(running)}
