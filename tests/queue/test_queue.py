"""The queue's promises, on SQLite and on PostgreSQL: order, limits, leases, exactly-once results."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from ingestd.domain.errors import FileError
from ingestd.domain.refs import PathRef
from ingestd.domain.states import FileStatus, Priority
from ingestd.domain.work import ClaimedSource, FileOutcome, SourceEntry
from ingestd.store.claims import claim_next_files, renew_leases
from ingestd.store.completion import complete_file, complete_files
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost
from ingestd.store.listing import add_listed_files
from ingestd.store.outcomes import fail_file
from ingestd.store.rescue import rescue_expired_leases
from ingestd.store.tables import chunks, files, jobs
from tests.queue.factory import LEASE, job_row, make_job, outcome


async def test_claims_follow_priority_then_age(db: Database) -> None:
    low = await make_job(db, 2, priority=Priority.LOW)
    urgent = await make_job(db, 2, priority=Priority.URGENT)
    normal = await make_job(db, 2)
    claimed = await claim_next_files(db, "w1", 6, now=time.time(), lease_seconds=LEASE)
    assert [c.job_id for c in claimed] == [urgent, urgent, normal, normal, low, low]


async def test_max_workers_per_job_holds_within_and_across_claims(db: Database) -> None:
    job_id = await make_job(db, 10, max_workers=3)
    first = await claim_next_files(db, "w1", 10, now=time.time(), lease_seconds=LEASE)
    second = await claim_next_files(db, "w2", 10, now=time.time(), lease_seconds=LEASE)
    assert len(first) == 3 and second == []
    await complete_file(db, first[0], outcome(), now=time.time())
    third = await claim_next_files(db, "w2", 10, now=time.time(), lease_seconds=LEASE)
    assert len(third) == 1 and third[0].job_id == job_id


async def test_paused_pending_and_future_jobs_are_not_claimed(db: Database) -> None:
    await make_job(db, 1, status="paused")
    await make_job(db, 1, status="pending")
    await make_job(db, 1, run_at=time.time() + 3600)
    assert await claim_next_files(db, "w1", 10, now=time.time(), lease_seconds=LEASE) == []


async def test_claim_marks_job_running_and_counts(db: Database) -> None:
    job_id = await make_job(db, 3)
    claimed = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    job = await job_row(db, job_id)
    assert job["status"] == "running" and job["started_at"]
    assert job["sources"][0]["n_running"] == 2 and job["sources"][0]["n_queued"] == 1
    assert all(c.attempts == 1 for c in claimed)


async def test_completion_stores_chunks_once_and_ends_the_job(db: Database) -> None:
    job_id = await make_job(db, 2)
    claimed = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    for item in claimed:
        await complete_file(db, item, outcome(3), now=time.time())
    try:
        await complete_file(db, claimed[0], outcome(3), now=time.time())
        raise AssertionError("a second completion must be refused")
    except LeaseLost:
        pass
    async with db.read() as conn:
        count = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(chunks).where(chunks.c.job_id == job_id)
            )
        ).scalar()
    assert count == 6
    job = await job_row(db, job_id)
    assert job["status"] == "completed" and job["sources"][0]["n_completed"] == 2


async def test_expired_lease_is_rescued_and_the_stale_worker_writes_nothing(db: Database) -> None:
    job_id = await make_job(db, 1)
    now = time.time()
    [stale] = await claim_next_files(db, "w1", 1, now=now, lease_seconds=1.0)
    assert await rescue_expired_leases(db, now=now + 0.5) == 0
    assert await rescue_expired_leases(db, now=now + 2.0) == 1
    [fresh] = await claim_next_files(db, "w2", 1, now=now + 2.0, lease_seconds=LEASE)
    assert fresh.id == stale.id and fresh.attempts == 2
    try:
        await complete_file(db, stale, outcome(), now=now + 3)
        raise AssertionError("the stale worker must lose")
    except LeaseLost:
        pass
    await complete_file(db, fresh, outcome(4), now=now + 3)
    async with db.read() as conn:
        count = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(chunks).where(chunks.c.job_id == job_id)
            )
        ).scalar()
    assert count == 4


async def test_a_file_that_keeps_killing_workers_fails_after_its_retries(db: Database) -> None:
    job_id = await make_job(db, 1, max_retries=1)
    now = time.time()
    for attempt in range(2):
        claimed = await claim_next_files(db, f"w{attempt}", 1, now=now, lease_seconds=1.0)
        assert len(claimed) == 1
        now += 2
        await rescue_expired_leases(db, now=now)
    job = await job_row(db, job_id)
    assert job["status"] == "failed" and job["sources"][0]["n_failed"] == 1
    async with db.read() as conn:
        row = (
            (await conn.execute(sa.select(files).where(files.c.job_id == job_id))).mappings().one()
        )
    assert row["error_code"] == "worker_lost"


async def test_retryable_errors_back_off_then_fail(db: Database) -> None:
    job_id = await make_job(db, 1, max_retries=1)
    now = time.time()
    [first] = await claim_next_files(db, "w1", 1, now=now, lease_seconds=LEASE)
    status = await fail_file(
        db,
        first,
        FileError("timeout", "slow", retryable=True),
        now=now,
        retry_at=now + 10,
    )
    assert status == "queued"
    assert (
        await claim_next_files(db, "w1", 1, now=now + 5, lease_seconds=LEASE) == []
    )  # backing off
    [second] = await claim_next_files(db, "w1", 1, now=now + 11, lease_seconds=LEASE)
    status = await fail_file(
        db,
        second,
        FileError("timeout", "slow", retryable=True),
        now=now + 12,
        retry_at=None,  # the retry policy's answer: out of attempts
    )
    assert status == "failed"
    assert (await job_row(db, job_id))["status"] == "failed"


async def test_permanent_errors_fail_at_once(db: Database) -> None:
    await make_job(db, 1, max_retries=5)
    [item] = await claim_next_files(db, "w1", 1, now=time.time(), lease_seconds=LEASE)
    status = await fail_file(
        db,
        item,
        FileError("parse_error", "corrupt"),
        now=time.time(),
        retry_at=None,  # not retryable
    )
    assert status == "failed"


async def test_racing_claimers_never_share_a_file(db: Database) -> None:
    for _ in range(15):
        await make_job(db, 1)
    other = Database(db.url)
    seen: list[str] = []
    try:
        for _ in range(10):  # two claimers, one file each, fifteen files
            results = await asyncio.gather(
                claim_next_files(db, "a", 1, now=time.time(), lease_seconds=LEASE),
                claim_next_files(other, "b", 1, now=time.time(), lease_seconds=LEASE),
            )
            seen += [c.id for batch in results for c in batch]
        assert len(seen) == len(set(seen)) == 15
    finally:
        await other.close()
    async with db.read() as conn:
        running = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(files).where(files.c.status == "running")
            )
        ).scalar()
        total = (await conn.execute(sa.select(sa.func.count()).select_from(jobs))).scalar()
    assert running == total == 15


async def test_relisting_adds_nothing_twice(db: Database) -> None:
    job_id = await make_job(db, 0)
    now = time.time()
    source = ClaimedSource(job_id, 0, "directory", {}, "t", Priority.NORMAL.rank)
    entries = [SourceEntry(name="a", path="a", size=5, ref=PathRef("/x"))]
    assert await add_listed_files(db, source, entries, now=now) == 1
    assert await add_listed_files(db, source, entries, now=now) == 0
    job = await job_row(db, job_id)
    assert job["sources"][0]["n_queued"] == 1 and job["sources"][0]["bytes_total"] == 5


async def test_a_heartbeat_renews_only_the_files_still_in_flight(db: Database) -> None:
    """Regression: renewing every lease the worker owned kept a file whose task had ended without
    an outcome (its write failed while PostgreSQL restarted) leased forever; its job never ended."""
    await make_job(db, 2)
    now = time.time()
    kept, orphan = await claim_next_files(db, "w1", 2, now=now, lease_seconds=5)
    later = now + 4
    await renew_leases(db, "w1", {kept.id: ("parsing", 0.5)}, now=later, lease_seconds=5)
    assert await rescue_expired_leases(db, now=later + 2) == 1
    async with db.read() as conn:
        status = dict((await conn.execute(sa.select(files.c.id, files.c.status))).all())
    assert status == {kept.id: "running", orphan.id: "queued"}


async def test_a_batch_of_a_cancelled_job_stores_its_empty_fields(db: Database) -> None:
    """Regression: one UPDATE joins the batch's outcomes; PostgreSQL typed a column that was NULL
    in every row (``elements`` of cancelled files, no MIME type…) as text and refused it."""
    job_id = await make_job(db, 3)
    claimed = await claim_next_files(db, "w1", 3, now=time.time(), lease_seconds=LEASE)
    async with db.write() as conn:
        await conn.execute(jobs.update().where(jobs.c.id == job_id).values(status="cancelled"))
    empty = FileOutcome(mime_type=None, sha256=None, size=0)
    results = await complete_files(db, [(c, empty) for c in claimed], now=time.time())
    assert results == [FileStatus.CANCELLED] * 3
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(files.c.status, files.c.elements))).all()
    assert sorted(rows) == [("cancelled", None)] * 3


async def test_a_batch_refuses_only_the_files_whose_lease_is_gone(db: Database) -> None:
    await make_job(db, 3)
    claimed = await claim_next_files(db, "w1", 3, now=time.time(), lease_seconds=LEASE)
    stolen = replace(claimed[1], lease_token="not-the-token")
    done = [(claimed[0], outcome()), (stolen, outcome()), (claimed[2], outcome())]
    results = await complete_files(db, done, now=time.time())
    assert results[0] == results[2] == FileStatus.COMPLETED
    assert isinstance(results[1], LeaseLost)
    async with db.read() as conn:
        status = (
            await conn.execute(sa.select(files.c.status).where(files.c.id == claimed[1].id))
        ).scalar_one()
    assert status == "running"  # still the rightful holder's


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # row locks: PostgreSQL's
async def test_a_claim_gives_up_on_a_locked_job_instead_of_waiting(db: Database) -> None:
    """Claims wait LOCK_WAIT_MS at most for a job row another writer holds, then report
    ``contended`` so the worker looks again shortly: the lock timeout is set by the claim's
    first statement, and must be in force when the claim locks the job."""
    job_id = await make_job(db, 2)
    async with db.write() as holder:
        await holder.execute(sa.select(jobs.c.id).where(jobs.c.id == job_id).with_for_update())
        claimed = await asyncio.wait_for(
            claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE), timeout=30
        )
    assert claimed == [] and claimed.contended
    again = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    assert len(again) == 2 and not again.contended


async def test_a_file_larger_than_listed_corrects_its_source_bytes(db: Database) -> None:
    """Sizes found while processing (a URL without a length, a file that grew) replace the
    listed ones in the source's totals, in the completion's own counter update."""
    job_id = await make_job(db, 2)  # listed at 10 bytes each
    claimed = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    grown = replace(outcome(), size=25)
    await complete_files(db, [(claimed[0], grown), (claimed[1], outcome())], now=time.time())
    source = (await job_row(db, job_id))["sources"][0]
    assert source["bytes_total"] == 35 and source["bytes_done"] == 35
