"""Jobs and their sources, including the per-source progress counters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.states import FileStatus
from ingestd.store import usage as usage_store
from ingestd.store.tables import files, job_sources, jobs

COUNTER = {status: f"n_{status.value}" for status in FileStatus}
FINAL_FOR_BYTES = (
    FileStatus.COMPLETED,
    FileStatus.FAILED,
    FileStatus.SKIPPED,
    FileStatus.CANCELLED,
    FileStatus.NEEDS_MAPPING,
)


async def insert_job(
    conn: AsyncConnection, job: dict[str, Any], sources: Sequence[dict[str, Any]]
) -> None:
    await conn.execute(jobs.insert().values(**job))
    await usage_store.add_job(
        conn, tenant=job["tenant"], pipeline=str(job["pipeline"]), at=job["created_at"]
    )
    if sources:
        await conn.execute(job_sources.insert(), [dict(s, job_id=job["id"]) for s in sources])


def _scoped(query: Any, tenant: str | None) -> Any:
    return query if tenant is None else query.where(jobs.c.tenant == tenant)


async def get_job(
    conn: AsyncConnection, job_id: str, tenant: str | None, *, lock: bool = False
) -> dict[str, Any] | None:
    query = _scoped(sa.select(jobs).where(jobs.c.id == job_id), tenant)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def sources_of(
    conn: AsyncConnection, job_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not job_ids:
        return grouped
    rows = await conn.execute(
        sa.select(job_sources)
        .where(job_sources.c.job_id.in_(list(job_ids)))
        .order_by(job_sources.c.job_id, job_sources.c.idx)
    )
    for row in rows.mappings():
        grouped[row["job_id"]].append(dict(row))
    return grouped


async def list_jobs(
    conn: AsyncConnection,
    tenant: str | None,
    *,
    statuses: Sequence[str] = (),
    labels: dict[str, str] | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` is the cursor (ids sort by creation time)."""
    query = _scoped(sa.select(jobs), tenant).order_by(jobs.c.id.desc())
    if statuses:
        query = query.where(jobs.c.status.in_(list(statuses)))
    if before_id:
        query = query.where(jobs.c.id < before_id)
    rows = [
        dict(r)
        for r in (await conn.execute(query.limit(limit if not labels else 10_000))).mappings()
    ]
    if labels:
        # Labels are JSON; filtering in Python keeps the query portable. Bounded by the scan cap.
        rows = [r for r in rows if all(r["labels"].get(k) == v for k, v in labels.items())][:limit]
    return rows


async def lock_jobs(conn: AsyncConnection, job_ids: Sequence[str]) -> None:
    """Lock these jobs' rows, in id order, before touching their files or counters.

    Every transaction that changes a job's files takes its job locks first and in the same
    order, so two of them (a cancel and a completion, say) can never deadlock on PostgreSQL.
    SQLite serialises writers anyway.
    """
    if conn.dialect.name == "postgresql" and job_ids:
        await conn.execute(
            sa.select(jobs.c.id)
            .where(jobs.c.id.in_(sorted(set(job_ids))))
            .order_by(jobs.c.id)
            .with_for_update()
        )


async def lock_job_statuses(conn: AsyncConnection, job_ids: Sequence[str]) -> dict[str, str]:
    """``lock_jobs``, and the status of each job as of the lock: one round trip for both."""
    query = sa.select(jobs.c.id, jobs.c.status).where(jobs.c.id.in_(sorted(set(job_ids))))
    if conn.dialect.name == "postgresql":
        query = query.order_by(jobs.c.id).with_for_update()
    return {str(k): str(v) for k, v in (await conn.execute(query)).all()}


async def idle_jobs(conn: AsyncConnection, job_ids: Sequence[str]) -> list[str]:
    """Those of these jobs with nothing queued or running: the only ones that may have ended."""
    col = job_sources.c
    query = (
        sa.select(col.job_id)
        .where(col.job_id.in_(sorted(set(job_ids))))
        .group_by(col.job_id)
        .having(sa.func.sum(col.n_queued) + sa.func.sum(col.n_running) == 0)
        .order_by(col.job_id)
    )
    return list((await conn.execute(query)).scalars())


async def try_lock_jobs(conn: AsyncConnection, job_ids: Sequence[str]) -> set[str]:
    """Lock what can be locked now and say which: for claimers, who must never wait on a job
    row (a cancel holding it may be waiting on the very files the claimer has locked)."""
    wanted = sorted(set(job_ids))
    if conn.dialect.name != "postgresql" or not wanted:
        return set(wanted)
    rows = await conn.execute(
        sa.select(jobs.c.id)
        .where(jobs.c.id.in_(wanted))
        .order_by(jobs.c.id)
        .with_for_update(skip_locked=True)
    )
    return set(rows.scalars())


async def update_job(conn: AsyncConnection, job_id: str, **values: Any) -> None:
    await conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))


async def delete_job(conn: AsyncConnection, job_id: str) -> None:
    await conn.execute(jobs.delete().where(jobs.c.id == job_id))


async def move_counter(
    conn: AsyncConnection,
    job_id: str,
    source_index: int,
    old: FileStatus | None,
    new: FileStatus,
    *,
    size: int = 0,
    count: int = 1,
    drift: int = 0,
) -> bool:
    """Account for ``count`` files of ``size`` total bytes moving from ``old`` to ``new``;
    ``drift`` corrects the source's ``bytes_total`` in the same statement (a file whose size
    was unknown or different when it was listed).

    Returns whether that source still has files queued or running: when it has, its job cannot
    have ended, and a completion need not ask.
    """
    values: dict[str, Any] = {}
    col = job_sources.c
    if old is not None:
        values[COUNTER[old]] = getattr(col, COUNTER[old]) - count
    values[COUNTER[new]] = getattr(col, COUNTER[new]) + count
    if old is None or drift:
        values["bytes_total"] = col.bytes_total + (size if old is None else 0) + drift
    if new in FINAL_FOR_BYTES and old not in FINAL_FOR_BYTES:
        values["bytes_done"] = col.bytes_done + size
    elif old in FINAL_FOR_BYTES and new not in FINAL_FOR_BYTES:
        values["bytes_done"] = col.bytes_done - size
    result = await conn.execute(
        job_sources.update()
        .where(col.job_id == job_id, col.idx == source_index)
        .values(**values)
        .returning(col.n_queued + col.n_running)
    )
    return bool(result.scalar_one_or_none())


async def recount(conn: AsyncConnection, job_id: str) -> None:
    """Rebuild a job's counters from its files (after bulk changes; not on the hot path)."""
    rows = await conn.execute(
        sa.select(
            files.c.source_index,
            files.c.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(files.c.size), 0),
        )
        .where(files.c.job_id == job_id)
        .group_by(files.c.source_index, files.c.status)
    )
    per_source: dict[int, dict[str, int]] = defaultdict(
        lambda: {name: 0 for name in COUNTER.values()} | {"bytes_total": 0, "bytes_done": 0}
    )
    for source_index, status, count, size in rows:
        counters = per_source[source_index]
        counters[COUNTER[FileStatus(status)]] = int(count)
        counters["bytes_total"] += int(size)
        if FileStatus(status) in FINAL_FOR_BYTES:
            counters["bytes_done"] += int(size)
    indexes = (
        await conn.execute(sa.select(job_sources.c.idx).where(job_sources.c.job_id == job_id))
    ).scalars()
    for idx in list(indexes):
        await conn.execute(
            job_sources.update()
            .where(job_sources.c.job_id == job_id, job_sources.c.idx == idx)
            .values(**per_source[idx])
        )


async def update_source(conn: AsyncConnection, job_id: str, idx: int, **values: Any) -> None:
    await conn.execute(
        job_sources.update()
        .where(job_sources.c.job_id == job_id, job_sources.c.idx == idx)
        .values(**values)
    )


async def totals_by(conn: AsyncConnection, column: str, tenant: str | None) -> dict[str, int]:
    col = getattr(jobs.c, column)
    query = _scoped(sa.select(col, sa.func.count()).group_by(col), tenant)
    return {str(k): int(v) for k, v in (await conn.execute(query)).all()}


# What a claim needs to know of a job, besides its counts.
_LOAD_COLUMNS = (
    jobs.c.id,
    jobs.c.tenant,
    jobs.c.priority,
    jobs.c.max_workers,
    jobs.c.status,
    jobs.c.pipeline,
    jobs.c.options,
)


async def claim_loads(
    conn: AsyncConnection,
    *,
    now: float,
    statuses: Sequence[str],
    local_settings: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Jobs that may be claimed from now, with their running and queued counts.

    Read from the per-source counters, never by counting files: one row per active job however
    many files it has. ``local_settings`` (PostgreSQL) are set for the rest of the transaction
    by this same statement, saving a round trip: they take effect whenever a row comes back,
    which is the only case in which the claim goes on to lock anything.
    """
    col = job_sources.c
    settings = [
        sa.func.set_config(name, value, True).label(f"setting_{i}")
        for i, (name, value) in enumerate((local_settings or {}).items())
    ]
    query = (
        sa.select(
            *_LOAD_COLUMNS,
            sa.func.coalesce(sa.func.sum(col.n_running), 0).label("running"),
            sa.func.coalesce(sa.func.sum(col.n_queued), 0).label("queued"),
            *settings,
        )
        .join(job_sources, col.job_id == jobs.c.id)
        .where(
            jobs.c.status.in_(list(statuses)),
            sa.or_(jobs.c.run_at.is_(None), jobs.c.run_at <= now),
        )
        .group_by(jobs.c.id)
        # Jobs with files running count towards their tenant's share even when nothing waits.
        .having(sa.or_(sa.func.sum(col.n_queued) > 0, sa.func.sum(col.n_running) > 0))
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def lock_claim_loads(
    conn: AsyncConnection,
    job_ids: Sequence[str],
    *,
    now: float,
    statuses: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """``claim_loads`` for these jobs, with their rows and source rows locked (PostgreSQL).
    ``statuses=None``: every one of these jobs, whatever its status and ``run_at``.

    Locks are taken in job id order, each job before its sources, like every writer does. A
    locking read returns the newest committed version of each row, so the counts are current
    even if another claimer committed after this transaction began.
    """
    col = job_sources.c
    query = (
        sa.select(
            *_LOAD_COLUMNS,
            jobs.c.run_at,
            col.n_running,
            col.n_queued,
        )
        .join(job_sources, col.job_id == jobs.c.id)
        .where(jobs.c.id.in_(sorted(set(job_ids))))
        .order_by(jobs.c.id, col.idx)
        .with_for_update(of=[jobs, job_sources])
    )
    merged: dict[str, dict[str, Any]] = {}
    for row in (await conn.execute(query)).mappings():
        load = merged.setdefault(row["id"], {**row, "running": 0, "queued": 0})
        load["running"] += row["n_running"]
        load["queued"] += row["n_queued"]
    return [
        load
        for load in merged.values()
        if statuses is None
        or (load["status"] in statuses and (load["run_at"] is None or load["run_at"] <= now))
    ]


# -- job control (services/jobs.py): cancel, retry, seal -----------------------------------------

# Sources whose listing a cancel stops, and those a retry lists again.
UNLISTED_SOURCE_STATES = ("pending", "listing")
RELISTABLE_SOURCE_TYPES = ("directory", "zip", "s3")


async def cancel_queued_files(conn: AsyncConnection, job_id: str, *, now: float) -> None:
    """Cancel the job's queued files and stop listing its sources, then recount it (a cancel;
    files in flight are stopped by their workers)."""
    await conn.execute(
        files.update()
        .where(files.c.job_id == job_id, files.c.status == FileStatus.QUEUED.value)
        .values(status=FileStatus.CANCELLED.value, completed_at=now, step=None)
    )
    await conn.execute(
        job_sources.update()
        .where(
            job_sources.c.job_id == job_id,
            job_sources.c.state.in_(UNLISTED_SOURCE_STATES),
        )
        .values(state="failed", error={"code": "cancelled", "message": "the job was cancelled"})
    )
    await recount(conn, job_id)


async def requeue_files(
    conn: AsyncConnection, job_id: str, statuses: Sequence[FileStatus], *, now: float
) -> int:
    """Queue the job's files in ``statuses`` again, due now; recount when any moved. Returns how
    many moved."""
    result = await conn.execute(
        files.update()
        .where(files.c.job_id == job_id, files.c.status.in_([s.value for s in statuses]))
        .values(status=FileStatus.QUEUED.value, run_after=now, completed_at=None, step=None)
    )
    if result.rowcount:
        await recount(conn, job_id)
    return int(result.rowcount or 0)


async def reopen_failed_sources(conn: AsyncConnection, job_id: str) -> None:
    """A listable source whose listing failed (or was cancelled mid-way) is listed again."""
    await conn.execute(
        job_sources.update()
        .where(
            job_sources.c.job_id == job_id,
            job_sources.c.state == "failed",
            job_sources.c.type.in_(RELISTABLE_SOURCE_TYPES),
        )
        .values(state="pending", error=None)
    )


async def seal_upload_sources(conn: AsyncConnection, job_id: str) -> None:
    """The job's upload sources take no more files: they are listed."""
    await conn.execute(
        job_sources.update()
        .where(job_sources.c.job_id == job_id, job_sources.c.state == "open")
        .values(state="listed")
    )


async def ended_since(conn: AsyncConnection, job_id: str, since: float) -> tuple[int, int]:
    """Bytes and files of the job done (not cancelled) at or after ``since``: its recent
    throughput, counting what its progress bar counts."""
    size, count = (
        await conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(files.c.size), 0), sa.func.count()).where(
                files.c.job_id == job_id,
                files.c.completed_at >= since,
                files.c.status != FileStatus.CANCELLED.value,
            )
        )
    ).one()
    return int(size), int(count)


async def cancelled_bytes(conn: AsyncConnection, job_id: str) -> dict[int, int]:
    """Bytes of the job's cancelled files, by source index (read only for a job that has some:
    the counters do not keep them apart from the bytes of done files)."""
    rows = await conn.execute(
        sa.select(files.c.source_index, sa.func.coalesce(sa.func.sum(files.c.size), 0))
        .where(files.c.job_id == job_id, files.c.status == FileStatus.CANCELLED.value)
        .group_by(files.c.source_index)
    )
    return {int(index): int(size) for index, size in rows.all()}
