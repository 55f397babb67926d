"""No fixed sleep between free capacity and claimable work (issue #12, item 1).

The worker here polls once an hour: a job can only finish in time if every slot that frees up,
every ``run_at`` that comes and every backoff that ends wakes the claim loop by itself. (Before,
a capped job took one file per poll: ``max_workers: 1`` ran 46x slower than uncapped.)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.config import Settings
from ingestd.domain import fairness
from ingestd.domain.errors import FileError
from ingestd.domain.work import ClaimedFile
from ingestd.store import claims as claim_store
from ingestd.store.claims import HandOff, claim_next_files
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from ingestd.worker import Worker
from tests.eventually import eventually
from tests.queue.factory import LEASE, job_row, make_job, outcome, small_files

HOUR = 3600.0


@pytest.fixture
async def worker(db: Database, make_settings: Callable[..., Settings]) -> AsyncIterator[Worker]:
    running = Worker(make_settings(database_url=db.url, poll_seconds=HOUR), db, concurrency=2)
    await running.start()
    yield running
    await running.stop(grace_seconds=5)


async def completed(db: Database, job_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: job_row(db, job_id), until=lambda j: j["status"] == "completed", what="the job"
    )


async def test_a_freed_slot_takes_the_jobs_next_file_at_once(
    db: Database, worker: Worker, tmp_path: Path
) -> None:
    paths = small_files(tmp_path / "notes", 6)
    job_id = await make_job(db, len(paths), max_workers=1, local_paths=paths)
    worker.wake()  # as job creation does
    job = await completed(db, job_id)
    assert job["sources"][0]["n_completed"] == 6


async def test_a_job_starts_when_its_run_at_comes(
    db: Database, worker: Worker, tmp_path: Path
) -> None:
    paths = small_files(tmp_path / "later", 2)
    job_id = await make_job(db, len(paths), run_at=time.time() + 0.3, local_paths=paths)
    worker.wake()  # the claim finds nothing yet, and learns when the job starts
    job = await completed(db, job_id)
    assert job["started_at"] >= job["run_at"]


async def test_a_retry_is_claimed_when_its_backoff_ends(
    db: Database, worker: Worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = small_files(tmp_path / "flaky", 1)
    failed: list[str] = []
    run = worker.runner.run

    async def flaky(claimed: ClaimedFile) -> None:
        if not failed:  # the first attempt hits a passing problem (backoff: 0.05 s)
            failed.append(claimed.id)
            await worker.recorder.fail(claimed, FileError("timeout", "slow", retryable=True))
            return
        await run(claimed)

    monkeypatch.setattr(worker.runner, "run", flaky)
    job_id = await make_job(db, 1, local_paths=paths)
    worker.wake()
    await completed(db, job_id)
    assert failed


def test_held_back_says_when_max_workers_keeps_queued_files_waiting() -> None:
    capped = fairness.JobLoad("j1", "t", 1, running=1, queued=5, max_workers=2)
    free = fairness.JobLoad("j2", "t", 1, running=0, queued=5, max_workers=100)
    assert fairness.held_back([capped], ["j1"])  # one more: at its cap, four still queued
    assert not fairness.held_back([capped], [])  # room for one more: a claim takes it
    assert not fairness.held_back([free], ["j2"] * 5)  # all taken: nothing waits
    done = fairness.JobLoad("j3", "t", 1, running=2, queued=0, max_workers=2)
    assert not fairness.held_back([done], [])  # at its cap, but nothing queued


# -- a completion hands a capped job's freed slot to its next file ---------------------------


async def test_a_capped_jobs_completion_claims_its_next_file_in_the_same_transaction(
    db: Database,
) -> None:
    job_id = await make_job(db, 3, max_workers=1)
    [first] = await claim_next_files(db, "w1", 4, now=time.time(), lease_seconds=LEASE)
    hand_off = HandOff("w1", LEASE, limit=1)
    done = await complete_files(db, [(first, outcome())], now=time.time(), hand_off=hand_off)
    assert list(done) == ["completed"]
    [second] = done.successors
    assert second.job_id == job_id and second.id != first.id and second.lease_token
    source = (await job_row(db, job_id))["sources"][0]
    assert (source["n_completed"], source["n_running"], source["n_queued"]) == (1, 1, 1)
    # The successor is held like any claimed file: nobody else can take it or the slot.
    assert await claim_next_files(db, "w2", 4, now=time.time(), lease_seconds=LEASE) == []
    done = await complete_files(db, [(second, outcome())], now=time.time(), hand_off=hand_off)
    [third] = done.successors
    done = await complete_files(db, [(third, outcome())], now=time.time(), hand_off=hand_off)
    assert done.successors == []  # nothing left
    assert (await job_row(db, job_id))["status"] == "completed"


async def test_only_a_job_its_cap_held_back_gets_successors(db: Database) -> None:
    uncapped = await make_job(db, 4, tenant="a")
    capped = await make_job(db, 4, max_workers=3, tenant="b")
    claimed = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    by_job = {c.job_id: c for c in claimed}  # one each: both jobs are below their cap
    hand_off = HandOff("w1", LEASE, limit=2)
    batch = [(by_job[uncapped], outcome()), (by_job[capped], outcome())]
    done = await complete_files(db, batch, now=time.time(), hand_off=hand_off)
    assert done.successors == []  # the claim loop deals their slots, fairly between tenants


async def test_successors_never_push_a_job_past_max_workers_across_workers(db: Database) -> None:
    job_id = await make_job(db, 6, max_workers=2)
    [a] = await claim_next_files(db, "w1", 1, now=time.time(), lease_seconds=LEASE)
    [b] = await claim_next_files(db, "w2", 1, now=time.time(), lease_seconds=LEASE)
    hand_off = HandOff("w1", LEASE, limit=5)  # w1 could take more than the job may run
    done = await complete_files(db, [(a, outcome())], now=time.time(), hand_off=hand_off)
    assert len(done.successors) == 1
    source = (await job_row(db, job_id))["sources"][0]
    assert source["n_running"] == 2
    none = HandOff("w2", LEASE, limit=0)  # a worker with no room takes nothing
    done = await complete_files(db, [(b, outcome())], now=time.time(), hand_off=none)
    assert done.successors == []
    assert (await job_row(db, job_id))["sources"][0]["n_running"] == 1


async def test_a_paused_job_gets_no_successor(db: Database) -> None:
    job_id = await make_job(db, 3, max_workers=1)
    [first] = await claim_next_files(db, "w1", 1, now=time.time(), lease_seconds=LEASE)
    async with db.write() as conn:
        await conn.exec_driver_sql(f"UPDATE jobs SET status = 'paused' WHERE id = '{job_id}'")
    hand_off = HandOff("w1", LEASE, limit=1)
    done = await complete_files(db, [(first, outcome())], now=time.time(), hand_off=hand_off)
    assert done.successors == []


async def test_a_capped_job_does_not_pay_a_claim_per_file(
    db: Database,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, each file of a job at its cap waited for its predecessor's completion and then
    for a claim of its own: two transactions per file. Now a completion hands the slot on to
    the next file, and the files past the cap come prefetched, many per claim."""
    taken: list[int] = []
    claim = claim_store.claim_next_files

    async def counted(*args: Any, **kwargs: Any) -> claim_store.Claimed:
        result = await claim(*args, **kwargs)
        taken.append(len(result))
        return result

    monkeypatch.setattr(claim_store, "claim_next_files", counted)
    paths = small_files(tmp_path / "capped", 12)
    job_id = await make_job(db, len(paths), max_workers=1, local_paths=paths)
    worker = Worker(make_settings(database_url=db.url, poll_seconds=HOUR), db, concurrency=8)
    await worker.start()
    try:
        worker.wake()
        job = await completed(db, job_id)
    finally:
        await worker.stop(grace_seconds=5)
    assert job["sources"][0]["n_completed"] == 12
    assert len([n for n in taken if n]) <= len(paths) // 2  # before: one claim per file


# -- a job that one worker alone runs keeps a window of prefetched files ----------------------


async def test_a_worker_alone_on_a_capped_job_prefetches_past_the_cap(db: Database) -> None:
    """A worker of one parser cannot use a cap of 2 alone: it prefetches only once the job is
    at its cap (another worker could have joined until then)."""
    job_id = await make_job(db, 12, max_workers=2)
    first = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE, prefetch=1)
    assert len(first) == 2  # not at its cap yet: the cap deals
    more = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE, prefetch=1)
    assert len(more) == 8 and {c.job_id for c in more} == {job_id}  # all running ones are w1's
    # Another worker gets none: the job's files are all w1's, and w1 keeps the cap (lanes).
    other = await claim_next_files(db, "w2", 8, now=time.time(), lease_seconds=LEASE, prefetch=2)
    assert other == []


async def test_a_worker_that_can_use_the_whole_cap_prefetches_at_once(db: Database) -> None:
    """Before, the first claim took only ``max_workers`` files, and the next claim, which
    prefetched, came after a poll: a capped job began at a crawl."""
    job_id = await make_job(db, 12, max_workers=2)
    first = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE, prefetch=2)
    assert len(first) == 8 and {c.job_id for c in first} == {job_id}
    assert (
        await claim_next_files(db, "w2", 8, now=time.time(), lease_seconds=LEASE, prefetch=2) == []
    )


async def test_a_cap_wider_than_one_worker_is_left_for_others_to_join(db: Database) -> None:
    await make_job(db, 12, max_workers=4)
    mine = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE, prefetch=2)
    theirs = await claim_next_files(db, "w2", 8, now=time.time(), lease_seconds=LEASE, prefetch=2)
    assert (len(mine), len(theirs)) == (2, 2)  # the cap deals: four, over two workers


async def test_no_prefetch_past_the_cap_while_another_worker_runs_the_job(db: Database) -> None:
    await make_job(db, 12, max_workers=2)
    [a] = await claim_next_files(db, "w1", 1, now=time.time(), lease_seconds=LEASE, prefetch=2)
    [b] = await claim_next_files(db, "w2", 1, now=time.time(), lease_seconds=LEASE, prefetch=2)
    for worker_id in ("w1", "w2"):
        again = await claim_next_files(
            db, worker_id, 8, now=time.time(), lease_seconds=LEASE, prefetch=2
        )
        assert again == []  # two workers share it: the cap in the database holds
    # Without ``prefetch`` (the default), the cap always holds in the database.
    await complete_files(db, [(b, outcome())], now=time.time())
    [c] = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE)
    assert await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE) == []
    assert a.id != c.id


def _recorded(log: str, fn: Callable[..., Any], *args: Any) -> Any:
    """In the parser process: run the task, and note when it ran (start and end, one line)."""
    began = time.time()
    try:
        return fn(*args)
    finally:
        with open(log, "a") as out:
            out.write(f"{began} {time.time()}\n")


def _most_at_once(log: Path) -> int:
    spans = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: e)
    most = inside = 0
    for _, step in edges:  # an end at the same instant as a start comes first
        inside += step
        most = max(most, inside)
    return most


@pytest.mark.parametrize("cap", [1, 2])
async def test_a_capped_job_never_has_more_files_in_parsers_at_once_than_max_workers(
    db: Database,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cap: int,
) -> None:
    """Timed in the parser processes themselves: with three parsers free, a job capped at
    ``cap`` never has more than ``cap`` files in them at once (pipeline/lanes.py) …"""
    settings = make_settings(database_url=db.url, poll_seconds=HOUR, extract_processes=3)
    worker = Worker(settings, db, concurrency=8)
    log = tmp_path / "spans.log"
    schedule = worker.pool._pool.schedule

    def recorded(function: Any, args: Any = (), kwargs: Any = None, timeout: Any = None) -> Any:
        return schedule(_recorded, args=(str(log), function, *args), timeout=timeout)

    monkeypatch.setattr(worker.pool._pool, "schedule", recorded)
    await worker.start()
    try:
        paths = small_files(tmp_path / "gated", 12)
        job_id = await make_job(db, len(paths), max_workers=cap, local_paths=paths)
        held = 0

        async def flights() -> dict[str, Any]:
            nonlocal held
            held = max(
                held, sum(1 for f in worker._inflight.values() if f.claimed.job_id == job_id)
            )
            return await job_row(db, job_id)

        worker.wake()
        job: dict[str, Any] = await eventually(
            lambda: flights(), until=lambda j: j["status"] == "completed", what="the job"
        )
    finally:
        await worker.stop(grace_seconds=5)
    assert job["sources"][0]["n_completed"] == 12
    assert len(log.read_text().splitlines()) == 12
    assert _most_at_once(log) <= cap  # at most ``cap`` in parsers at once …
    assert held > cap  # … while the next ones waited prefetched, claimed in batches


async def test_a_capped_jobs_store_copies_take_turns_at_its_gate(
    db: Database, worker: Worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """… and its ``store`` copies, which are no parser's work, take turns at its gate."""
    inside, most = 0, 0
    transform = worker.runner._transform

    async def watched(claimed: ClaimedFile, *args: Any) -> Any:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        try:
            return await transform(claimed, *args)
        finally:
            inside -= 1

    monkeypatch.setattr(worker.runner, "_transform", watched)
    paths = small_files(tmp_path / "stored", 8)
    job_id = await make_job(db, len(paths), max_workers=1, local_paths=paths, pipeline="store")
    worker.wake()
    job = await completed(db, job_id)
    assert job["sources"][0]["n_completed"] == 8
    assert most == 1


def _slow(fn: Callable[..., Any], *args: Any) -> Any:
    """In the parser process: the task, a little slower (so a cancel finds files at every
    stage: in a parser, waiting in the job's lane, prefetched)."""
    time.sleep(0.15)
    return fn(*args)


async def test_cancelling_a_capped_job_stops_its_files_in_parsers_and_in_its_lane(
    start_app: Callable[..., Any],
    database_url: str,
    source_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A capped job's files wait for their turn inside the parser pool now (pipeline/lanes.py):
    a cancel must reach them there too: none starts afterwards, none is left running."""
    paths = small_files(source_root / "lane", 30, suffix=".md")
    async with start_app(database_url=database_url, extract_processes=3) as app:
        worker = app.runtime.worker
        assert worker is not None
        schedule = worker.pool._pool.schedule

        def slowed(function: Any, args: Any = (), kwargs: Any = None, timeout: Any = None) -> Any:
            return schedule(_slow, args=(function, *args), timeout=timeout)

        monkeypatch.setattr(worker.pool._pool, "schedule", slowed)
        body = {
            "sources": [{"type": "directory", "path": str(Path(paths[0]).parent)}],
            "pipeline": "extract",
            "options": {"max_workers": 1, "skip_existing": False},
        }
        job = (await app.client.post("/api/v1/jobs", json=body)).json()

        async def one_done() -> bool:
            return bool(await app.files(job["id"], status="completed"))

        await eventually(one_done, what="a first file done")
        (await app.client.post(f"/api/v1/jobs/{job['id']}/actions/cancel")).raise_for_status()
        ended = await app.wait_job(job["id"])
        assert ended["status"] == "cancelled"
        # files in flight are stopped a moment after the job says cancelled
        files = await eventually(
            lambda: app.files(job["id"]),
            until=lambda fs: {f["status"] for f in fs} <= {"completed", "cancelled"},
            what="every file completed or cancelled",
        )
        assert sum(f["status"] == "completed" for f in files) < 30
        await eventually(lambda: not worker._inflight, what="no file left in flight")
        assert worker.pool._lanes.running(job["id"]) == 0 and not worker.pool._lanes._states
