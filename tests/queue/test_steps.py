"""A file's step says what is happening to it (issue #12, item 9): ``parsing`` only once a parser
process has the file, not while it waits for a free one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.config import Settings
from ingestd.pipeline.pool import ExtractionPool
from ingestd.store.claims import claim_next_files
from ingestd.store.db import Database
from ingestd.worker import Worker
from ingestd.worker import heartbeat as heartbeat_module
from ingestd.worker.flight import InFlight
from tests.eventually import eventually
from tests.queue.factory import job_row, make_job


def hold_until(path: str) -> str:
    """Runs in a parser process: keeps it busy until ``path`` exists."""
    while not Path(path).exists():
        time.sleep(0.01)
    return "released"


async def test_on_start_is_called_when_a_process_takes_the_task(tmp_path: Path) -> None:
    pool = ExtractionPool(1)
    release = tmp_path / "release"
    try:
        started: list[str] = []
        first = asyncio.create_task(
            pool.run(
                hold_until, str(release), time_limit=None, on_start=lambda: started.append("a")
            )
        )
        await eventually(lambda: started, what="the first task started")
        second = asyncio.create_task(
            pool.run(
                hold_until, str(release), time_limit=None, on_start=lambda: started.append("b")
            )
        )
        assert started == ["a"], "the only process is busy: the second task waits"
        release.touch()
        assert await asyncio.gather(first, second) == ["released", "released"]
        assert started == ["a", "b"]
    finally:
        await asyncio.to_thread(pool.close)


async def test_a_file_waiting_for_a_parser_is_not_parsing(
    db: Database, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    release = tmp_path / "release"
    note = tmp_path / "note.md"
    note.write_text("# A note\n\nIt waits for the only parser.\n")
    worker = Worker(make_settings(database_url=db.url, extract_processes=1), db, concurrency=2)
    steps: list[str] = []
    report = worker.runner.report
    worker.runner.report = lambda claimed, step, progress: (  # type: ignore[method-assign]
        steps.append(step),
        report(claimed, step, progress),
    )[-1]
    scheduled: list[Any] = []
    run = worker.pool.run

    async def spy(*args: Any, **kwargs: Any) -> Any:
        scheduled.append(args[0])
        return await run(*args, **kwargs)

    worker.pool.run = spy  # type: ignore[method-assign]
    await worker.start()
    busy = asyncio.create_task(worker.pool.run(hold_until, str(release), time_limit=None))
    try:
        job_id = await make_job(db, 1, local_paths=[str(note)])
        worker.wake()
        await eventually(lambda: len(scheduled) == 2, what="the file handed to the pool")
        [flight] = worker._inflight.values()
        assert flight.step == "detecting" and "parsing" not in steps  # it waits for a parser
        release.touch()
        await eventually(
            lambda: job_row(db, job_id), until=lambda j: j["status"] == "completed", what="job"
        )
        assert steps[-2:] == ["parsing", "storing"]
    finally:
        release.touch()
        await busy
        await worker.stop(grace_seconds=5)


async def test_a_heartbeat_stops_only_the_attempt_it_asked_about(
    db: Database, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a beat that began while a file's first attempt was in flight, and ended after
    the file had failed and been claimed again, stopped the new attempt as "cancelled": the file
    ended cancelled in a running job, which then never ended."""
    worker = Worker(make_settings(database_url=db.url), db, concurrency=2)
    job_id = await make_job(db, 1)
    [claimed] = await claim_next_files(db, "w", 1, now=time.time(), lease_seconds=30)
    idle = asyncio.create_task(asyncio.sleep(3600))
    first = InFlight(claimed=claimed, task=idle, started=True)
    again = InFlight(claimed=claimed, task=idle, started=True)
    worker._inflight[claimed.id] = first

    async def renew(*args: Any, **kwargs: Any) -> set[str]:
        worker._inflight[claimed.id] = again  # meanwhile: failed, re-queued, claimed again
        return {claimed.id}  # the first attempt's lease is gone

    async def rescue(*args: Any, **kwargs: Any) -> int:
        return 0

    monkeypatch.setattr(heartbeat_module.claim_store, "renew_leases", renew)
    monkeypatch.setattr(heartbeat_module.rescue_store, "rescue_expired_leases", rescue)
    try:
        await worker._heartbeat()
        assert again.stop_reason is None and first.stop_reason is None
    finally:
        idle.cancel()
        await asyncio.to_thread(worker.pool.close)
    assert job_id
