"""Claiming queued files with a lease, and keeping or losing that lease.

A claim is a short write transaction: share the free slots between the jobs that may run (fair
between tenants, by priority then age inside a tenant, never past a job's ``max_workers``: see
``domain/fairness.py``), take each job's best queued files, and mark them running with a lease
that the worker must keep renewing. Every step reads counters or an index in order: no scans, no
sorts.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain import fairness
from ingestd.domain.events import EventType
from ingestd.domain.options import JobOptions
from ingestd.domain.refs import ref_from_json
from ingestd.domain.states import (
    CLAIMABLE_JOB_STATUSES,
    FileStatus,
    JobStatus,
    Pipeline,
    Priority,
)
from ingestd.domain.work import ClaimedFile
from ingestd.observe.metrics import QUEUE_WAIT_SECONDS
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.dialect import for_update_skip_locked
from ingestd.store.errors import translated
from ingestd.store.events import append_event
from ingestd.store.tables import files, jobs
from ingestd.store.workers import record_heartbeat


class Claimed(list[ClaimedFile]):
    """The files claimed, and what the claimer should know about the rest of the queue:

    - ``contended``: a job was locked by another writer for longer than a claimer waits: claim
      again soon rather than at the next poll;
    - ``held_back``: some job has queued files that only its ``max_workers`` keeps waiting:
      claim again as soon as a file of yours ends;
    - ``next_start``: when a job that may not start yet (``run_at``) does, if any (only asked
      when the claim came back short).
    """

    contended: bool = False
    held_back: bool = False
    next_start: float | None = None


# How long a claimer waits for a job row that another writer holds (milliseconds): claims and
# completions hold job rows for a few ms; a cancel of a huge job may hold one longer.
LOCK_WAIT_MS = 500

# PostgreSQL settings of a claim's transaction. A claim need not wait for its WAL flush: if the
# server crashed and lost it, the file is simply queued again and the claimer's completion is
# refused (lease check), so at worst the work is redone, never stored twice. Completions stay
# synchronous.
_CLAIM_SETTINGS = {"lock_timeout": f"{LOCK_WAIT_MS}ms", "synchronous_commit": "off"}


@translated
async def claim_next_files(
    db: Database,
    worker_id: str,
    limit: int,
    *,
    now: float,
    lease_seconds: float,
    look_ahead: bool = True,
    prefetch: int = 0,
) -> Claimed:
    """Claim up to ``limit`` queued files, shared fairly between tenants (see ``fairness``).
    With ``look_ahead``, a claim that comes back short also says when the next job starts
    (``next_start``: one more statement, worth it only when the caller does not know yet).

    PostgreSQL: the chosen jobs are locked first (in id order, like every writer of their files),
    then their counters are read again, so per-job ``max_workers`` holds across processes.
    SQLite serialises writers (``BEGIN IMMEDIATE``): what it reads is already current.

    ``prefetch``: how many files this worker processes at once (its parsers), or 0. A capped job
    whose running files are all this worker's (checked under the job's lock: no one else holds
    any) may then be claimed beyond its cap, as far as the window goes, like an uncapped job,
    when this worker alone can use the whole cap (``max_workers`` <= ``prefetch``) or the job
    is at its cap already (no one else can claim any of it then). The worker runs at most
    ``max_workers`` of them at once and keeps the rest prefetched (``worker/gate.py``). So
    ``max_workers`` still bounds the files of a job being processed at once, on every machine
    together, while the claims stay batched. A job whose cap is more than one worker can use
    is left to the cap in the database until it reaches it, so other workers can join it.
    """
    result = Claimed()
    if limit <= 0:
        return result
    try:
        async with db.write() as conn:
            mine = (worker_id, prefetch) if prefetch > 0 else None
            slots, loads, result.held_back = await _allot(conn, limit, now, mine)
            if slots:
                expires = now + lease_seconds
                result.extend(await _take(conn, slots, loads, worker_id, expires, now))
            if look_ahead and len(result) < limit:
                result.next_start = await _next_start(conn, now)
    except DBAPIError as exc:
        if not _lock_timed_out(exc):
            raise
        result.contended = True
    return result


@dataclass(frozen=True, slots=True)
class HandOff:
    """Who takes the successors a completion claims (``claim_successors``), and how many at
    most: ``limit`` is what the worker may take on (0: none)."""

    worker_id: str
    lease_seconds: float
    limit: int


async def lock_for_successors(
    conn: AsyncConnection, job_ids: Sequence[str], *, now: float
) -> list[dict[str, Any]]:
    """For a completion that may claim successors: lock its jobs and their sources (the order
    every writer follows) and read their loads, in the one statement that locks them."""
    return await job_store.lock_claim_loads(conn, job_ids, now=now, statuses=None)


async def claim_successors(
    conn: AsyncConnection,
    freed: Counter[str],
    loads: list[dict[str, Any]],
    hand_off: HandOff,
    *,
    now: float,
) -> list[ClaimedFile]:
    """In a completion's transaction: the next files of the jobs whose ``max_workers`` held
    queued files back while these ``freed`` files (per job) ran. ``loads`` are the jobs' loads
    as ``lock_for_successors`` read them, before the completion moved their counters.

    A slot a capped job frees goes straight back to it, under the same locks as any claim (its
    job and source rows, then its files), so ``max_workers`` holds across machines as it does
    for claims: a job gets at most as many files as it just freed, and never more than
    ``max_workers`` minus what it has running now. Jobs that were below their cap are not
    served here: the claim loop, which shares slots fairly between tenants, takes their files.
    """
    if hand_off.limit <= 0 or not freed:
        return []
    claimable = {s.value for s in CLAIMABLE_JOB_STATUSES}
    current = [
        {**row, "running": row["running"] - freed[row["id"]]}
        for row in loads
        if row["id"] in freed
        and row["status"] in claimable
        and (row["run_at"] is None or row["run_at"] <= now)
    ]
    slots: list[str] = []
    for load in sorted(_loads(current), key=lambda j: j.id):
        held_back = load.running + freed[load.id] >= load.max_workers  # at its cap until now
        if held_back:
            slots += [load.id] * min(freed[load.id], load.room)
    slots = slots[: hand_off.limit]
    if not slots:
        return []
    chosen = {row["id"]: row for row in current if row["id"] in set(slots)}
    expires = now + hand_off.lease_seconds
    return await _take(conn, slots, chosen, hand_off.worker_id, expires, now)


async def _allot(
    conn: AsyncConnection, limit: int, now: float, prefetcher: tuple[str, int] | None = None
) -> tuple[list[str], dict[str, dict[str, Any]], bool]:
    """The job of each slot, in the order dealt, the loads of the jobs involved, and whether a
    job's ``max_workers`` holds queued files back (``fairness.held_back``). ``prefetcher``:
    the worker that may claim past the cap of jobs it alone runs, and how many files it
    processes at once (``claim_next_files``)."""
    claimable = [s.value for s in CLAIMABLE_JOB_STATUSES]
    postgres = conn.dialect.name == "postgresql"
    loads = await job_store.claim_loads(
        conn, now=now, statuses=claimable, local_settings=_CLAIM_SETTINGS if postgres else None
    )
    order = fairness.tenant_order(_loads(loads))
    slots = fairness.allot(_loads(loads), limit, order)
    parallel = prefetcher[1] if prefetcher else 0
    may_prefetch = _may_prefetch(loads, parallel) if prefetcher else set()
    if (slots or may_prefetch) and postgres:
        # Locked, and so read again: another claimer may have committed since the first read.
        locked = set(slots) | may_prefetch
        fresh = await job_store.lock_claim_loads(conn, sorted(locked), now=now, statuses=claimable)
        loads = fresh + [row for row in loads if row["id"] not in locked]
        slots = fairness.allot(_loads(loads), limit, order)
    if prefetcher and (may_prefetch := _may_prefetch(loads, parallel)):
        alone = may_prefetch - await _held_by_others(conn, may_prefetch, prefetcher[0])
        if alone:  # the cap is the worker's gate to keep now: claim as if uncapped
            loads = [{**row, "max_workers": NO_CAP} if row["id"] in alone else row for row in loads]
            slots = fairness.allot(_loads(loads), limit, order)
    chosen = {row["id"]: row for row in loads if row["id"] in set(slots)}
    return slots, chosen, fairness.held_back(_loads(loads), slots)


# What an uncapped job's ``max_workers`` is stored as (``services/jobs.py``).
NO_CAP = 1_000_000


def _may_prefetch(loads: list[dict[str, Any]], parallel: int) -> set[str]:
    """Capped jobs with queued files that a worker processing ``parallel`` files at once may
    claim past their cap if it alone runs them: those at their cap (no one else can claim any
    of them now), and those whose whole cap this worker can use by itself."""
    return {
        row["id"]
        for row in loads
        if int(row["queued"]) > 0
        and int(row["max_workers"]) < NO_CAP
        and (int(row["running"]) >= int(row["max_workers"]) or int(row["max_workers"]) <= parallel)
    }


async def _held_by_others(conn: AsyncConnection, job_ids: set[str], worker_id: str) -> set[str]:
    """Those of these jobs with a running file leased by another worker (an index range read
    per job: its running files are at most its ``max_workers`` plus this worker's window)."""
    query = (
        sa.select(files.c.job_id)
        .where(
            files.c.job_id.in_(sorted(job_ids)),
            files.c.status == FileStatus.RUNNING.value,
            files.c.lease_owner != worker_id,
        )
        .group_by(files.c.job_id)
    )
    return set((await conn.execute(query)).scalars())


async def _next_start(conn: AsyncConnection, now: float) -> float | None:
    """The earliest ``run_at`` still to come of a job that may then be claimed."""
    query = sa.select(sa.func.min(jobs.c.run_at)).where(
        jobs.c.status.in_([s.value for s in CLAIMABLE_JOB_STATUSES]), jobs.c.run_at > now
    )
    value = (await conn.execute(query)).scalar()
    return None if value is None else float(value)


def _loads(rows: list[dict[str, Any]]) -> list[fairness.JobLoad]:
    return [
        fairness.JobLoad(
            id=row["id"],
            tenant=row["tenant"],
            rank=Priority(row["priority"]).rank,
            running=int(row["running"]),
            queued=int(row["queued"]),
            max_workers=int(row["max_workers"]),
        )
        for row in rows
    ]


def _best_queued(conn: AsyncConnection, wanted: Counter[str], now: float) -> Any:
    """The ids of each wanted job's best queued files, as one statement.

    Each branch reads the index (job_id, status, priority_rank DESC, id) in order and stops at
    its count. ``SKIP LOCKED`` is belt and braces: the job locks already keep claimers apart.
    A file backing off (``run_after``) leaves its slot empty until the next claim.
    """
    branches = [
        for_update_skip_locked(
            conn,
            sa.select(files.c.id)
            .where(
                files.c.job_id == job_id,
                files.c.status == FileStatus.QUEUED.value,
                files.c.run_after <= now,
            )
            .order_by(files.c.priority_rank.desc(), files.c.id)
            .limit(count),
            files,
        ).subquery()
        for job_id, count in sorted(wanted.items())
    ]
    return sa.union_all(*(sa.select(branch.c.id) for branch in branches))


def _lock_timed_out(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03"  # lock_not_available


async def _take(
    conn: AsyncConnection,
    slots: list[str],
    loads: dict[str, dict[str, Any]],
    worker_id: str,
    expires: float,
    now: float,
) -> list[ClaimedFile]:
    """Mark the chosen files running under one lease token: one statement picks and takes."""
    token = secrets.token_hex(8)
    updated = await conn.execute(
        files.update()
        .where(files.c.id.in_(_best_queued(conn, Counter(slots), now)))
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
        .returning(*_CLAIMED_COLUMNS, files.c.priority_rank, files.c.run_after)
    )
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in updated.mappings():
        item = dict(row)
        # queued (or backed off) until run_after: waited since then (observe/metrics.py)
        wait = QUEUE_WAIT_SECONDS.labels(loads[item["job_id"]]["priority"])
        wait.observe(max(0.0, now - float(item.pop("run_after"))))
        by_job[item["job_id"]].append(item)
    for rows in by_job.values():
        rows.sort(key=lambda r: (-r.pop("priority_rank"), r["id"]))
    jobs_of = {job_id: _job_of(loads[job_id]) for job_id in by_job}
    claimed = [_claimed(row, jobs_of[row["job_id"]]) for row in fairness.deal(slots, by_job)]
    moved: Counter[tuple[str, int]] = Counter((c.job_id, c.source_index) for c in claimed)
    for (job_id, source_index), count in moved.items():
        await job_store.move_counter(
            conn, job_id, source_index, FileStatus.QUEUED, FileStatus.RUNNING, count=count
        )
    starting = {
        c.job_id: c.tenant for c in claimed if loads[c.job_id]["status"] == JobStatus.QUEUED
    }
    await _mark_jobs_running(conn, starting, now)
    return claimed


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
            type=EventType.JOB_UPDATED,
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
        "ref",
        "blob_key",
        "attempts",
        "lease_token",
    )
]


def _claimed(row: dict[str, Any], job: dict[str, Any]) -> ClaimedFile:
    ref = row.pop("ref")
    return ClaimedFile(
        **row,
        ref=ref_from_json(ref) if ref else None,
        pipeline=job["pipeline"],
        options=job["options"],
    )


def _job_of(load: dict[str, Any]) -> dict[str, Any]:
    """What every claimed file of a job shares: read once per job and claim."""
    return {
        "pipeline": Pipeline(load["pipeline"]),
        "options": JobOptions.from_stored(load["options"]),
    }


@translated
async def renew_leases(
    db: Database,
    worker_id: str,
    progress: dict[str, tuple[str, float]],
    *,
    now: float,
    lease_seconds: float,
    job_ids: Sequence[str] = (),
    running: int | None = None,
) -> set[str]:
    """Extend this worker's leases and record the step of files in flight.

    Returns the ids of files this worker must stop: their lease is gone or their job was cancelled.
    ``job_ids`` are the jobs of those files: locked first, like every writer of their files does.
    ``running`` (files in flight) also renews the worker's registry row, in the same transaction.
    """
    async with db.write() as conn:
        await job_store.lock_jobs(conn, job_ids)
        if running is not None:
            await record_heartbeat(conn, worker_id, now=now, running=running)
        if not progress:
            return set()
        # Only files really in flight: one whose task ended without recording an outcome (its
        # write failed while the database was away, say) must expire and return to the queue,
        # not stay leased for as long as this worker lives.
        await conn.execute(
            files.update()
            .where(
                files.c.id.in_(list(progress)),
                files.c.lease_owner == worker_id,
                files.c.status == FileStatus.RUNNING.value,
            )
            .values(lease_expires_at=now + lease_seconds)
        )
        for file_id, (step, fraction) in progress.items():
            await conn.execute(
                files.update()
                .where(files.c.id == file_id, files.c.lease_owner == worker_id)
                .values(step=step, progress=fraction)
            )
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
