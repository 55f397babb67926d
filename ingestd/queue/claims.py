"""Claiming queued files with a lease, and keeping or losing that lease.

A claim is a short write transaction: pick the best queued files (priority, then age) of jobs
that may run, respecting each job's ``max_workers``, and mark them running with a lease that the
worker must keep renewing. On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets claimers pass each other.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.states import CLAIMABLE_JOB_STATUSES, FileStatus, JobStatus
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.dialect import for_update_skip_locked
from ingestd.store.events import append_event
from ingestd.store.tables import files, job_sources, jobs


@dataclass(frozen=True, slots=True)
class ClaimedFile:
    id: str
    job_id: str
    tenant: str
    source_index: int
    name: str
    path: str
    size: int
    mime_type: str | None
    sha256: str | None
    local_path: str | None
    blob_key: str | None
    attempts: int
    lease_token: str
    pipeline: str
    options: dict[str, Any]


_running_in_job = (
    sa.select(sa.func.coalesce(sa.func.sum(job_sources.c.n_running), 0))
    .where(job_sources.c.job_id == jobs.c.id)
    .scalar_subquery()
)


class Claimed(list[ClaimedFile]):
    """The files claimed; ``contended`` says queued files were passed over because their job was
    locked by another writer at that instant: claim again soon rather than at the next poll."""

    contended: bool = False


async def claim_files(
    db: Database, worker_id: str, limit: int, *, now: float, lease_seconds: float
) -> Claimed:
    result = Claimed()
    if limit <= 0:
        return result
    async with db.write() as conn:
        picked, result.contended = await _pick(conn, limit, now)
        if picked:
            result.extend(await _mark_running(conn, picked, worker_id, now + lease_seconds, now))
    return result


async def _pick(conn: AsyncConnection, limit: int, now: float) -> tuple[list[dict[str, Any]], bool]:
    claimable = [s.value for s in CLAIMABLE_JOB_STATUSES]
    query = (
        sa.select(
            files.c.id,
            files.c.job_id,
            files.c.source_index,
            jobs.c.max_workers,
            jobs.c.pipeline,
            jobs.c.options,
            jobs.c.status.label("job_status"),
            _running_in_job.label("running"),
        )
        .join(jobs, jobs.c.id == files.c.job_id)
        .where(
            files.c.status == FileStatus.QUEUED.value,
            files.c.run_after <= now,
            jobs.c.status.in_(claimable),
            sa.or_(jobs.c.run_at.is_(None), jobs.c.run_at <= now),
            _running_in_job < jobs.c.max_workers,
        )
        # Matches the index (status, priority_rank, id): read in order, stop at the limit.
        .order_by(files.c.priority_rank.desc(), files.c.id)
        .limit(limit * 4)  # room to skip files of jobs that reach max_workers in this batch
    )
    # Claimers pass each other on files (SKIP LOCKED) and never wait on a job row: a job being
    # cancelled or finished elsewhere is skipped this round (see job_store.try_lock_jobs).
    rows = (await conn.execute(for_update_skip_locked(conn, query, files))).mappings().all()
    contended = False
    if rows:
        lockable = await job_store.try_lock_jobs(conn, [r["job_id"] for r in rows])
        contended = any(r["job_id"] not in lockable for r in rows)
        rows = [r for r in rows if r["job_id"] in lockable]
    taken: Counter[str] = Counter()
    picked = []
    for row in rows:
        if row["running"] + taken[row["job_id"]] >= row["max_workers"]:
            continue
        taken[row["job_id"]] += 1
        picked.append(dict(row))
        if len(picked) == limit:
            break
    return picked, contended


async def _mark_running(
    conn: AsyncConnection, picked: list[dict[str, Any]], worker_id: str, expires: float, now: float
) -> list[ClaimedFile]:
    by_id = {p["id"]: p for p in picked}
    token = secrets.token_hex(8)
    updated = await conn.execute(
        files.update()
        .where(files.c.id.in_(list(by_id)), files.c.status == FileStatus.QUEUED.value)
        .values(
            status=FileStatus.RUNNING.value,
            step="accessing",
            progress=0.0,
            attempts=files.c.attempts + 1,
            lease_owner=worker_id,
            lease_token=token,
            lease_expires_at=expires,
            started_at=sa.func.coalesce(files.c.started_at, now),
        )
        .returning(*_CLAIMED_COLUMNS)
    )
    claimed = [_claimed(dict(row), by_id[row["id"]]) for row in updated.mappings()]
    moved: Counter[tuple[str, int]] = Counter((c.job_id, c.source_index) for c in claimed)
    for (job_id, source_index), count in moved.items():
        await job_store.move_counter(
            conn, job_id, source_index, FileStatus.QUEUED, FileStatus.RUNNING, count=count
        )
    starting = {
        c.job_id: c.tenant for c in claimed if by_id[c.id]["job_status"] == JobStatus.QUEUED
    }
    await _mark_jobs_running(conn, starting, now)
    order = {file_id: position for position, file_id in enumerate(by_id)}
    return sorted(claimed, key=lambda c: order[c.id])


async def _mark_jobs_running(conn: AsyncConnection, starting: dict[str, str], now: float) -> None:
    for job_id, tenant in starting.items():
        await conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.QUEUED.value)
            .values(
                status=JobStatus.RUNNING.value,
                started_at=sa.func.coalesce(jobs.c.started_at, now),
                updated_at=now,
            )
        )
        await append_event(
            conn,
            tenant=tenant,
            type="job.updated",
            job_id=job_id,
            data={"status": "running"},
            at=now,
        )


_CLAIMED_COLUMNS = [
    files.c[name]
    for name in (
        "id",
        "job_id",
        "tenant",
        "source_index",
        "name",
        "path",
        "size",
        "mime_type",
        "sha256",
        "local_path",
        "blob_key",
        "attempts",
        "lease_token",
    )
]


def _claimed(row: dict[str, Any], job: dict[str, Any]) -> ClaimedFile:
    return ClaimedFile(**row, pipeline=job["pipeline"], options=job["options"] or {})


async def renew_leases(
    db: Database,
    worker_id: str,
    progress: dict[str, tuple[str, float]],
    *,
    now: float,
    lease_seconds: float,
    job_ids: Sequence[str] = (),
) -> set[str]:
    """Extend this worker's leases and record the step of files in flight.

    Returns the ids of files this worker must stop: their lease is gone or their job was cancelled.
    ``job_ids`` are the jobs of those files: locked first, like every writer of their files does.
    """
    async with db.write() as conn:
        await job_store.lock_jobs(conn, job_ids)
        await conn.execute(
            files.update()
            .where(files.c.lease_owner == worker_id, files.c.status == FileStatus.RUNNING.value)
            .values(lease_expires_at=now + lease_seconds)
        )
        for file_id, (step, fraction) in progress.items():
            await conn.execute(
                files.update()
                .where(files.c.id == file_id, files.c.lease_owner == worker_id)
                .values(step=step, progress=fraction)
            )
        if not progress:
            return set()
        held = await conn.execute(
            sa.select(files.c.id)
            .join(jobs, jobs.c.id == files.c.job_id)
            .where(
                files.c.id.in_(list(progress)),
                files.c.lease_owner == worker_id,
                files.c.status == FileStatus.RUNNING.value,
                jobs.c.status != JobStatus.CANCELLED.value,
            )
        )
        return set(progress) - set(held.scalars())
