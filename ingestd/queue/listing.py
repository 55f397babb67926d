"""Listing sources into files, crash-safe: a source is claimed with a lease like a file, its files
are inserted in batches that ignore duplicates, so a listing re-run after a crash adds nothing twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ingestd.domain.ids import new_id
from ingestd.domain.states import CLAIMABLE_JOB_STATUSES, FileStatus
from ingestd.queue.finalize import finish_job_if_done
from ingestd.sources.base import SourceEntry
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.dialect import for_update_skip_locked
from ingestd.store.tables import job_sources, jobs


async def claim_source(
    db: Database, worker_id: str, *, now: float, lease_seconds: float
) -> dict[str, Any] | None:
    """Take one pending source of a job that may run; returns it with its job's tenant and priority."""
    async with db.write() as conn:
        query = (
            sa.select(job_sources, jobs.c.tenant, jobs.c.priority)
            .join(jobs, jobs.c.id == job_sources.c.job_id)
            .where(
                job_sources.c.state == "pending",
                jobs.c.status.in_([s.value for s in CLAIMABLE_JOB_STATUSES]),
                sa.or_(jobs.c.run_at.is_(None), jobs.c.run_at <= now),
            )
            .order_by(job_sources.c.job_id, job_sources.c.idx)
            .limit(1)
        )
        row = (
            (await conn.execute(for_update_skip_locked(conn, query, job_sources)))
            .mappings()
            .first()
        )
        if row is None:
            return None
        await job_store.update_source(
            conn,
            row["job_id"],
            row["idx"],
            state="listing",
            lease_owner=worker_id,
            lease_expires_at=now + lease_seconds,
        )
        return dict(row)


def file_row(
    entry: SourceEntry,
    *,
    job_id: str,
    tenant: str,
    source_index: int,
    priority_rank: int,
    now: float,
) -> dict[str, Any]:
    failed = entry.error is not None
    return {
        "id": new_id("file"),
        "job_id": job_id,
        "tenant": tenant,
        "source_index": source_index,
        "name": entry.name,
        "path": entry.path,
        "size": entry.size,
        "status": (FileStatus.FAILED if failed else FileStatus.QUEUED).value,
        "error_code": entry.error[0] if entry.error else None,
        "error_message": entry.error[1] if entry.error else None,
        "completed_at": now if failed else None,
        "priority_rank": priority_rank,
        "run_after": now,
        "local_path": entry.local_path,
        "blob_key": entry.blob_key,
        "metadata": {},
        "created_at": now,
    }


class ListingStopped(Exception):
    """The source is no longer this worker's to list (the job was cancelled, or the lease lapsed)."""


async def _hold(conn: Any, job_id: str, idx: int, owner: str, expires: float) -> None:
    """Check (and lock) that ``owner`` still lists this source, and extend its lease."""
    await job_store.lock_jobs(conn, [job_id])
    query = sa.select(job_sources.c.state).where(
        job_sources.c.job_id == job_id,
        job_sources.c.idx == idx,
        job_sources.c.state == "listing",
        job_sources.c.lease_owner == owner,
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    if (await conn.execute(query)).first() is None:
        raise ListingStopped(f"source {idx} of {job_id}")
    await job_store.update_source(conn, job_id, idx, lease_expires_at=expires)


async def add_files(
    db: Database,
    job_id: str,
    rows: Sequence[dict[str, Any]],
    *,
    lease: tuple[int, str, float] | None = None,
) -> int:
    """Insert listed files and count them in. ``lease`` = (source index, worker id, new expiry):
    the batch is written only while that worker still holds the source."""
    async with db.write() as conn:
        if lease is not None:
            await _hold(conn, job_id, *lease)
        inserted = await file_store.insert_files(conn, rows)
        await count_in(conn, job_id, inserted)
    return len(inserted)


async def count_in(conn: Any, job_id: str, inserted: Sequence[dict[str, Any]]) -> None:
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in inserted:
        groups[(row["source_index"], row["status"])].append(row["size"])
    for (source_index, status), sizes in groups.items():
        await job_store.move_counter(
            conn, job_id, source_index, None, FileStatus(status), size=sum(sizes), count=len(sizes)
        )


async def finish_listing(
    db: Database,
    job_id: str,
    idx: int,
    owner: str,
    *,
    now: float,
    error: dict[str, str] | None = None,
) -> None:
    async with db.write() as conn:
        try:
            await _hold(conn, job_id, idx, owner, now)
        except ListingStopped:
            return
        await job_store.update_source(
            conn,
            job_id,
            idx,
            state="failed" if error else "listed",
            error=error,
            lease_owner=None,
            lease_expires_at=None,
        )
        await finish_job_if_done(conn, job_id, now)
