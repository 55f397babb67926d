"""Listing sources into files, crash-safe: a source is claimed with a lease like a file, its files
are inserted in batches that ignore duplicates, so a listing re-run after a crash adds nothing
twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.ids import new_id
from ingestd.domain.refs import BlobRef, ref_to_json
from ingestd.domain.states import CLAIMABLE_JOB_STATUSES, FileStatus, Priority
from ingestd.domain.work import ClaimedSource, SourceEntry
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.dialect import for_update_skip_locked
from ingestd.store.errors import ListingStopped, translated
from ingestd.store.finish import finish_job_if_done
from ingestd.store.tables import job_sources, jobs


@translated
async def claim_next_source(
    db: Database, worker_id: str, *, now: float, lease_seconds: float
) -> ClaimedSource | None:
    """Take one pending source of a job that may run, under a lease."""
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
    return ClaimedSource(
        job_id=row["job_id"],
        index=row["idx"],
        type=row["type"],
        spec=row["spec"],
        tenant=row["tenant"],
        priority_rank=Priority(row["priority"]).rank,
    )


def file_row(entry: SourceEntry, source: ClaimedSource, *, now: float) -> dict[str, Any]:
    """The ``files`` row of a listed entry: queued, or failed when the source refused it."""
    failed = entry.error is not None
    return {
        "id": new_id("file"),
        "job_id": source.job_id,
        "tenant": source.tenant,
        "source_index": source.index,
        "name": entry.name,
        "path": entry.path,
        "size": entry.size,
        "status": (FileStatus.FAILED if failed else FileStatus.QUEUED).value,
        "error_code": entry.error[0] if entry.error else None,
        "error_message": entry.error[1] if entry.error else None,
        "completed_at": now if failed else None,
        "priority_rank": source.priority_rank,
        "run_after": now,
        "ref": ref_to_json(entry.ref) if entry.ref is not None and not failed else None,
        "blob_key": entry.ref.key if isinstance(entry.ref, BlobRef) else None,
        "metadata": {},
        "created_at": now,
    }


async def _hold(conn: AsyncConnection, job_id: str, idx: int, owner: str, expires: float) -> None:
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


@translated
async def add_listed_files(
    db: Database,
    source: ClaimedSource,
    entries: Sequence[SourceEntry],
    *,
    now: float,
    lease: tuple[str, float] | None = None,
) -> int:
    """Insert the files of listed entries and count them in; returns how many were new.

    ``lease`` = (worker id, new expiry): the batch is written only while that worker still
    holds the source (else ``ListingStopped``), and its lease is extended."""
    rows = [file_row(entry, source, now=now) for entry in entries]
    async with db.write() as conn:
        if lease is not None:
            await _hold(conn, source.job_id, source.index, *lease)
        inserted = await file_store.insert_files(conn, rows)
        await count_in(conn, source.job_id, inserted)
    return len(inserted)


async def count_in(conn: AsyncConnection, job_id: str, inserted: Sequence[dict[str, Any]]) -> None:
    """Add newly inserted files (rows with ``source_index``, ``status``, ``size``) to their
    sources' counters."""
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in inserted:
        groups[(row["source_index"], row["status"])].append(row["size"])
    for (source_index, status), sizes in groups.items():
        await job_store.move_counter(
            conn, job_id, source_index, None, FileStatus(status), size=sum(sizes), count=len(sizes)
        )


@translated
async def finish_listing(
    db: Database,
    source: ClaimedSource,
    owner: str,
    *,
    now: float,
    error: dict[str, str] | None = None,
) -> None:
    """Mark the source listed (or failed with ``error``), if ``owner`` still holds it."""
    async with db.write() as conn:
        try:
            await _hold(conn, source.job_id, source.index, owner, now)
        except ListingStopped:
            return
        await job_store.update_source(
            conn,
            source.job_id,
            source.index,
            state="failed" if error else "listed",
            error=error,
            lease_owner=None,
            lease_expires_at=None,
        )
        await finish_job_if_done(conn, source.job_id, now)
