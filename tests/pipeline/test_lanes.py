"""Lanes: a capped job's tasks go to the pool at most ``limit`` at a time, the next one handed
over from the thread where the last one ended."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ingestd.pipeline.lanes import Lane, Lanes
from ingestd.pipeline.pool import ExtractionPool


class Recorder:
    """Tasks that hold until released, counting how many of each lane run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.started: list[str] = []

    def task(self, key: str, name: str, release: threading.Event) -> str:
        with self.lock:
            self.inside[key] = self.inside.get(key, 0) + 1
            self.most[key] = max(self.most.get(key, 0), self.inside[key])
            self.started.append(name)
        release.wait(10)
        with self.lock:
            self.inside[key] -= 1
        return name


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(8) as executor:
        yield executor


def starter(
    executor: ThreadPoolExecutor, fn: Callable[..., Any], *args: Any
) -> Callable[[], Future[Any]]:
    return lambda: executor.submit(fn, *args)


def test_a_lane_runs_at_most_its_limit_and_the_next_starts_as_one_ends(
    threads: ThreadPoolExecutor,
) -> None:
    lanes, rec, release = Lanes(), Recorder(), threading.Event()
    futures = [
        lanes.submit(Lane("job", 2), starter(threads, rec.task, "job", f"t{i}", release))
        for i in range(6)
    ]
    other = lanes.submit(Lane("other", 1), starter(threads, rec.task, "other", "o", release))
    time.sleep(0.05)
    assert lanes.running("job") == 2 and lanes.running("other") == 1  # lanes do not share
    release.set()
    assert [f.result(10) for f in futures] == [f"t{i}" for i in range(6)]
    assert other.result(10) == "o"
    assert rec.most == {"job": 2, "other": 1}
    assert lanes.running("job") == 0 and not lanes._states  # nothing kept once a lane is empty


def test_a_task_cancelled_while_it_waits_never_starts(threads: ThreadPoolExecutor) -> None:
    lanes, rec, release = Lanes(), Recorder(), threading.Event()
    first = lanes.submit(Lane("job", 1), starter(threads, rec.task, "job", "first", release))
    waiting = lanes.submit(Lane("job", 1), starter(threads, rec.task, "job", "waiting", release))
    last = lanes.submit(Lane("job", 1), starter(threads, rec.task, "job", "last", release))
    assert waiting.cancel()
    release.set()
    assert (first.result(10), last.result(10)) == ("first", "last")
    assert "waiting" not in rec.started
    with pytest.raises(CancelledError):
        waiting.result()


def test_cancelling_a_running_task_cancels_its_pool_task() -> None:
    lanes = Lanes()
    inner: Future[Any] = Future()
    outer = lanes.submit(Lane("job", 1), lambda: inner)
    assert outer.cancel()
    assert inner.cancelled()
    follower = lanes.submit(Lane("job", 1), lambda: _done("next"))
    assert follower.result(1) == "next"  # the cancelled task's turn passed on


def test_a_failure_is_the_tasks_own_and_the_lane_goes_on(threads: ThreadPoolExecutor) -> None:
    lanes = Lanes()

    def boom() -> None:
        raise ValueError("bad file")

    failed = lanes.submit(Lane("job", 1), starter(threads, boom))
    after = lanes.submit(Lane("job", 1), lambda: _done("after"))
    with pytest.raises(ValueError, match="bad file"):
        failed.result(10)
    assert after.result(10) == "after"


def test_a_pool_that_refuses_the_task_fails_it_and_the_lane_goes_on() -> None:
    lanes = Lanes()

    def closed() -> Future[Any]:
        raise RuntimeError("the pool is closed")

    refused = lanes.submit(Lane("job", 1), closed)
    with pytest.raises(RuntimeError, match="closed"):
        refused.result(1)
    assert lanes.submit(Lane("job", 1), lambda: _done(1)).result(1) == 1


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


# -- in the real pool: timed in the parser processes ------------------------------------------


def _span(log: str, seconds: float) -> None:
    began = time.time()
    time.sleep(seconds)
    with open(log, "a") as out:
        out.write(f"{began} {time.time()}\n")


def _overlapping(log: Path) -> bool:
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    return any(b[0] < a[1] for a, b in itertools.pairwise(spans))


async def test_in_the_pool_a_lane_of_one_runs_its_tasks_one_after_the_other(
    tmp_path: Path,
) -> None:
    pool = ExtractionPool(2)
    try:
        capped, free = tmp_path / "capped.log", tmp_path / "free.log"
        await asyncio.gather(
            *(pool.run(_span, str(capped), 0.2, time_limit=30, lane=Lane("j", 1)) for _ in range(3))
        )
        assert not _overlapping(capped)
        # a lane as wide as the pool holds nothing back
        await asyncio.gather(
            *(pool.run(_span, str(free), 0.5, time_limit=30, lane=Lane("j", 2)) for _ in range(2))
        )
        assert _overlapping(free)
    finally:
        pool.close()


async def test_closing_the_pool_ends_every_task_running_or_waiting_in_a_lane(
    tmp_path: Path,
) -> None:
    """Nobody awaiting a task hangs once the pool is closed: the task in a parser fails, the one
    waiting in the lane is cancelled and never runs. (Under load, a task handed to pebble just as
    it stopped was never resolved: the test waited 30 s for it.)"""
    pool = ExtractionPool(2)
    log = tmp_path / "spans.log"
    began = asyncio.Event()
    running = asyncio.ensure_future(
        pool.run(_span, str(log), 1.0, time_limit=30, lane=Lane("j", 1), on_start=began.set)
    )
    waiting = asyncio.ensure_future(
        pool.run(_span, str(log), 1.0, time_limit=30, lane=Lane("j", 1))
    )
    await asyncio.wait_for(began.wait(), 60)  # the first is in a parser
    await asyncio.to_thread(pool.close)
    _, pending = await asyncio.wait({running, waiting}, timeout=30)
    assert not pending
    assert waiting.cancelled()
    assert running.cancelled() or running.exception() is not None
    assert not log.exists()  # neither ran to its end


async def test_a_task_pebble_never_resolves_ends_when_the_pool_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A task handed to pebble as it stops sits in its queue, its future never resolved (the
    race behind the hang above): closing the pool cancels it."""
    from pebble import ProcessFuture

    pool = ExtractionPool(1)
    lost: ProcessFuture[Any] = ProcessFuture()
    monkeypatch.setattr(pool._pool, "schedule", lambda *a, **k: lost)
    task = asyncio.ensure_future(pool.run(_span, "/dev/null", 0.0, time_limit=30))
    await asyncio.sleep(0.05)
    assert not task.done()
    await asyncio.to_thread(pool.close)
    await asyncio.wait({task}, timeout=30)
    assert task.cancelled()
