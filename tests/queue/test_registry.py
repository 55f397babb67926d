"""The worker registry: live workers listed, silent ones shown gone and their files returned."""

from __future__ import annotations

import time

import sqlalchemy as sa

from ingestd.queue import registry
from ingestd.store import jobs as job_store
from ingestd.store.claims import claim_next_files
from ingestd.store.db import Database
from ingestd.store.rescue import rescue_expired_leases
from ingestd.store.tables import files, workers
from tests.conftest import App
from tests.eventually import eventually
from tests.queue.factory import job_row, make_job

HOUR = 3600.0


async def add_worker(db: Database, worker_id: str, *, last_seen: float, running: int = 0) -> None:
    """A registry row for a worker process that does not exist (it died without a word)."""
    async with db.write() as conn:
        await conn.execute(
            workers.insert().values(
                id=worker_id,
                host="lost-host",
                pid=999_999,
                started_at=last_seen - 60,
                last_seen=last_seen,
                running=running,
            )
        )


async def test_files_of_a_silent_worker_return_before_their_lease_expires(db: Database) -> None:
    job_id = await make_job(db, 3)
    now = time.time()
    await add_worker(db, "wrk_silent", last_seen=now)
    claimed = await claim_next_files(db, "wrk_silent", 2, now=now, lease_seconds=HOUR)
    assert len(claimed) == 2
    later = now + 60  # leases run for an hour more, but the worker has been silent for a minute
    assert await rescue_expired_leases(db, now=later, gone_before=later - 120) == 0  # not gone yet
    assert await rescue_expired_leases(db, now=later, gone_before=later - 30) == 2
    job = await job_row(db, job_id)
    assert job["sources"][0]["n_queued"] == 3 and job["sources"][0]["n_running"] == 0
    async with db.read() as conn:
        row = (await conn.execute(sa.select(workers).where(workers.c.id == "wrk_silent"))).one()
        codes = set((await conn.execute(sa.select(files.c.error_code))).scalars())
    assert row.running == 0 and codes == {"worker_lost", None}


async def test_a_live_worker_keeps_its_files(db: Database) -> None:
    await make_job(db, 1)
    now = time.time()
    await add_worker(db, "wrk_alive", last_seen=now)
    assert len(await claim_next_files(db, "wrk_alive", 1, now=now, lease_seconds=HOUR)) == 1
    assert await rescue_expired_leases(db, now=now + 1, gone_before=now - 30) == 0


async def test_workers_silent_for_a_day_are_forgotten(db: Database) -> None:
    now = time.time()
    await add_worker(db, "wrk_ancient", last_seen=now - registry.FORGET_AFTER_SECONDS - 1)
    await add_worker(db, "wrk_recent", last_seen=now - HOUR)
    forget_before = now - registry.FORGET_AFTER_SECONDS
    await rescue_expired_leases(db, now=now, gone_before=now - 30, forget_before=forget_before)
    async with db.read() as conn:
        left = set((await conn.execute(sa.select(workers.c.id))).scalars())
    assert left == {"wrk_recent"}


async def test_the_queue_shows_a_gone_worker_and_its_files_come_back(app: App) -> None:
    db = app.runtime.db
    assert db is not None
    now = time.time()
    job_id = await make_job(db, 2, status="paused")  # paused: nobody re-claims them after
    await add_worker(db, "wrk_gone", last_seen=now - HOUR, running=2)
    async with db.write() as conn:  # as if wrk_gone had claimed both files an hour ago
        await conn.execute(
            files.update()
            .where(files.c.job_id == job_id)
            .values(
                status="running",
                lease_owner="wrk_gone",
                lease_token="t0",
                lease_expires_at=now + HOUR,
                attempts=1,
            )
        )
        await job_store.recount(conn, job_id)

    await eventually(  # the real worker's rescuer
        lambda: job_row(db, job_id),
        until=lambda job: job["sources"][0]["n_queued"] == 2,
        what="the gone worker's files back in the queue",
    )

    queue = (await app.client.get("/api/v1/queue")).json()
    by_id = {w["id"]: w for w in queue["workers"]}
    gone = by_id["wrk_gone"]
    assert gone["status"] == "gone" and gone["running"] == 0 and gone["host"] == "lost-host"
    live = [w for w in queue["workers"] if w["status"] == "active"]
    assert len(live) == 1 and live[0]["pid"] > 0 and live[0]["last_seen"] >= live[0]["started_at"]
    assert queue["queued"] == 2 and queue["running"] == 0
    stats = (await app.client.get("/api/v1/stats")).json()
    assert stats["workers"]["active"] == 1 and stats["workers"]["gone"] == 1
