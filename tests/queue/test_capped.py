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
from ingestd.store.db import Database
from ingestd.worker import Worker
from tests.eventually import eventually
from tests.queue.factory import job_row, make_job, small_files

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
