"""Backlog reads shared between streams (events/backlog.py): failures and cancellations of the
stream that reads stay its own."""

from __future__ import annotations

import asyncio

import pytest

from ingestd.events.backlog import BacklogReads
from ingestd.events.envelope import LiveEvent


def _event(seq: int) -> LiveEvent:
    row = {"id": f"evt_{seq}", "seq": seq, "tenant": "t", "type": "job.updated",
           "job_id": "j", "file_id": None, "at": 0.0, "data": {}}  # fmt: skip
    return LiveEvent.from_row(row)


async def test_a_read_of_the_logs_end_is_never_shared() -> None:
    reads = BacklogReads(2)
    calls = 0

    async def load() -> list[LiveEvent]:
        nonlocal calls
        calls += 1
        return [_event(calls)]

    first = await reads.read(None, load)
    second = await reads.read(None, load)
    assert (first[0].seq, second[0].seq, calls, reads.reads) == (1, 2, 2, 2)


async def test_a_kept_read_expires() -> None:
    reads = BacklogReads(2, keep_seconds=0.0)
    calls = 0

    async def load() -> list[LiveEvent]:
        nonlocal calls
        calls += 1
        return []

    await reads.read("k", load)
    await asyncio.sleep(0.01)
    await reads.read("k", load)
    assert calls == 2


async def test_when_the_reading_stream_goes_away_the_others_read_for_themselves() -> None:
    reads = BacklogReads(2)
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def load() -> list[LiveEvent]:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return [_event(calls)]

    leader = asyncio.create_task(reads.read("k", load))
    await started.wait()
    follower = asyncio.create_task(reads.read("k", load))
    await asyncio.sleep(0)
    leader.cancel()  # its client left mid-read
    release.set()
    assert [e.seq for e in await follower] == [2]  # read again, not cancelled with it
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_a_failed_read_fails_every_stream_that_waited_for_it() -> None:
    reads = BacklogReads(2)
    release = asyncio.Event()

    async def load() -> list[LiveEvent]:
        await release.wait()
        raise TimeoutError("QueuePool limit reached")

    waiting = [asyncio.create_task(reads.read("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results)
    assert reads._running == {}  # the next stream reads anew
