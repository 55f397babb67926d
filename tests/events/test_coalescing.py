"""What a subscriber that is behind may lose (superseded progress, nothing else), batches shared
by a group, and the summary gate: job progress at most every ``seconds`` per job, in seq order."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from ingestd.events.envelope import LiveEvent
from ingestd.events.hub import SUMMARY, Batch, Hub
from ingestd.events.pending import BEHIND, PendingEvents
from ingestd.events.stream import EventStream


def _ev(
    seq: int,
    kind: str = "file.progress",
    file_id: str | None = "file_1",
    job_id: str = "job_1",
    data: dict[str, Any] | None = None,
) -> LiveEvent:
    row = {
        "id": f"evt_{seq}",
        "seq": seq,
        "tenant": "default",
        "type": kind,
        "job_id": job_id,
        "file_id": file_id,
        "at": 0.0,
        "data": data or {},
    }
    return LiveEvent.from_row(row)


def _row(seq: int) -> dict[str, Any]:
    return {
        "id": f"evt_{seq}",
        "seq": seq,
        "tenant": "t",
        "type": "job.updated",
        "job_id": "job_a",
        "file_id": None,
        "at": 0.0,
        "data": {"status": "running"},
    }


def _payload(frame: bytes) -> Any:
    """The JSON in one unmasked server text frame."""
    length = frame[1] & 0x7F
    head = 2 if length < 126 else 4 if length == 126 else 10
    return orjson.loads(frame[head:])


def _progress(seq: int, job_id: str = "job_1") -> LiveEvent:
    return _ev(seq, "job.updated", None, job_id, {"status": "running", "progress": {"percent": 1}})


def test_a_subscriber_that_keeps_up_loses_nothing() -> None:
    pending = PendingEvents()
    for seq in range(1, BEHIND):  # never BEHIND waiting: nothing is collapsed
        pending.append(_ev(seq))
    assert [e.seq for e in pending.take(1000)] == list(range(1, BEHIND))
    assert pending.collapsed == 0


def test_behind_only_superseded_progress_is_collapsed_and_seqs_stay_in_order() -> None:
    pending = PendingEvents(behind=1)
    events = [
        _ev(1, file_id="a"),
        _ev(2, file_id="b"),
        _ev(3, file_id="a"),  # supersedes 1
        _ev(4, "file.retrying", file_id="b"),  # supersedes 2 (any later event of the file)
        _ev(5, "file.progress", file_id="b"),
        _ev(6, "file.completed", file_id="a"),  # supersedes 3
        _progress(7),
        _ev(8, "job.updated", None, data={"status": "paused", "action": "pause"}),
        _progress(9),  # supersedes 7, not the pause
        _ev(10, "file.failed", file_id="b"),  # supersedes 5
    ]
    for event in events:
        pending.append(event)
    kept = [e.seq for e in pending.take(100)]
    assert kept == [4, 6, 8, 9, 10]
    assert pending.collapsed == 5
    assert not pending


def test_a_lagging_subscription_collapses_then_overflows_as_before() -> None:
    hub = Hub(queue_size=200)
    sub = hub.subscribe("default", None)
    # 2,000 progress steps of two files, then their outcomes: the consumer never reads.
    seq = 0
    for step in range(1000):
        for file_id in ("a", "b"):
            seq += 1
            hub.publish(_ev(seq, file_id=file_id, data={"progress": step}))
    hub.publish(_ev(seq + 1, "file.completed", file_id="a"))
    hub.publish(_ev(seq + 2, "file.failed", file_id="b"))
    assert not sub.lagged  # without collapsing, 2,002 events would overflow a buffer of 200
    got = sub.ready(1000)
    assert [e.type for e in got[-2:]] == ["file.completed", "file.failed"]
    assert [e.seq for e in got] == sorted(e.seq for e in got)
    assert sub.collapsed == 2000 - (len(got) - 2)
    # State changes are never collapsed: 300 of them overflow a buffer of 200.
    lagging = hub.subscribe("default", None)
    for n in range(300):
        hub.publish(_ev(10_000 + n, "file.completed", file_id=f"f{n}"))
    assert lagging.lagged


def test_one_batch_frame_per_group_shared_by_its_subscribers() -> None:
    class Writer:
        def __init__(self) -> None:
            self.frames: list[bytes] = []

        def write_frame(self, frame: bytes) -> bool:
            self.frames.append(frame)
            return True

    class Feed:
        high_water = 0

    async def run() -> None:
        hub = Hub(queue_size=100, batch_seconds=0)  # at once: no batch window to wait for
        writers = [Writer() for _ in range(3)]
        streams = []
        for writer in writers:
            stream = EventStream(
                None,  # type: ignore[arg-type]  # no backlog
                hub,
                Feed(),
                tenant="default",
                job_id=None,
                after=None,
                batch=True,
            )
            stream.writer = writer
            streams.append(stream)
        tasks = [asyncio.create_task(s.next()) for s in streams]
        await asyncio.sleep(0)
        hub.publish_many([_ev(1), _ev(2, file_id="file_2"), _ev(3, "file.completed")])
        frames = [w.frames for w in writers]
        assert all(len(f) == 1 for f in frames)
        assert frames[0][0] is frames[1][0] is frames[2][0]  # built once
        body = _payload(frames[0][0])
        assert [e["seq"] for e in body] == [1, 2, 3]
        assert all(s.last == 3 for s in streams)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def test_batch_frame_payload() -> None:
    batch = Batch([_ev(1), _ev(2)])
    assert [e["seq"] for e in _payload(batch.frame)] == [1, 2]


def test_summary_gate_holds_close_progress_and_releases_it_in_order() -> None:
    async def run() -> None:
        hub = Hub(queue_size=100, summary_seconds=60)  # nothing released by the clock here
        summary = hub.subscribe("default", None, detail=SUMMARY)
        full = hub.subscribe("default", None)
        hub.publish_many([_ev(1), _progress(2), _progress(3), _progress(4)])
        assert [e.seq for e in summary.ready(10)] == [2]  # 3 and 4 held (4 replaced 3)
        hub.publish_many([_ev(5, "file.failed"), _progress(6, "job_2")])
        assert [e.seq for e in summary.ready(10)] == [4, 5, 6]  # held 4 first: seq order
        assert [e.seq for e in full.ready(10)] == [1, 2, 3, 4, 5, 6]
        hub.close_all()

    asyncio.run(run())


def test_summary_gate_releases_held_progress_when_its_time_comes() -> None:
    async def run() -> None:
        hub = Hub(queue_size=100, summary_seconds=0.01)
        summary = hub.subscribe("default", "job_1", detail=SUMMARY)
        hub.publish_many([_progress(1), _progress(2)])
        first = await summary.get(5)
        assert first is not None and first.seq == 1
        later = await summary.get(5)  # released by the gate's timer, not by another event
        assert later is not None and later.seq == 2
        hub.close_all()

    asyncio.run(run())


def test_batching_subscribers_get_a_window_in_one_frame_the_others_at_once() -> None:
    async def run() -> None:
        hub = Hub(queue_size=100, batch_seconds=0.01)
        batching = hub.subscribe("default", None, batch=True)
        single = hub.subscribe("default", None)
        hub.publish_many([_ev(1)])
        hub.publish_many([_ev(2)])
        assert [e.seq for e in single.ready(10)] == [1, 2]
        assert batching.ready(10) == []  # not yet: the window is open
        first = await batching.get(5)
        assert first is not None and first.seq == 1
        assert [e.seq for e in batching.ready(10)] == [2]
        hub.close_all()

    asyncio.run(run())


def test_many_streams_resuming_at_once_read_their_backlogs_two_at_a_time(
    monkeypatch: Any,
) -> None:
    """A thousand subscribers resuming together must leave the tail a reader (SQLite has four):
    backlog reads wait their turn in the hub, not in the database's pool."""
    from contextlib import asynccontextmanager

    from ingestd.events import stream as stream_module

    class Feed:
        high_water = 100

    class Db:
        @asynccontextmanager
        async def read(self) -> Any:
            yield None

    async def run() -> None:
        hub = Hub(queue_size=100)
        in_flight, peak = 0, 0
        release = asyncio.Event()

        async def events_between(conn: Any, **kwargs: Any) -> list[dict[str, Any]]:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await release.wait()
            in_flight -= 1
            return []

        monkeypatch.setattr(stream_module.event_store, "events_between", events_between)
        streams = [  # twenty different cursors: twenty reads (the same one is shared: below)
            EventStream(Db(), hub, Feed(), tenant="default", job_id=None, after=i)  # type: ignore[arg-type]
            for i in range(20)
        ]
        tasks = [asyncio.create_task(s.next(0.01)) for s in streams]
        for _ in range(20):
            await asyncio.sleep(0)
        assert peak == 2
        release.set()
        await asyncio.gather(*tasks)
        assert peak == 2
        hub.close_all()

    asyncio.run(run())


def test_streams_that_ask_for_the_same_backlog_share_one_read(monkeypatch: Any) -> None:
    """A thousand watchers of one job open together, each from the job's first event: one read
    of the log serves them all (before, a thousand reads, two at a time, held the job's first
    live events back by seconds: a summary watcher's p99 was 3 s at 1,000 watchers)."""
    from contextlib import asynccontextmanager

    from ingestd.events import stream as stream_module

    class Feed:
        high_water = 100

    class Db:
        @asynccontextmanager
        async def read(self) -> Any:
            yield None

    async def run() -> None:
        hub = Hub(queue_size=100)
        calls = 0
        release = asyncio.Event()

        async def events_between(conn: Any, **kwargs: Any) -> list[dict[str, Any]]:
            nonlocal calls
            calls += 1
            await release.wait()
            return [_row(seq) for seq in (3, 7)]

        monkeypatch.setattr(stream_module.event_store, "events_between", events_between)

        def stream(job: str, detail: str = "full") -> EventStream:
            return EventStream(Db(), hub, Feed(), tenant="t", job_id=job, after=0, detail=detail)  # type: ignore[arg-type]

        same = [stream("job_a") for _ in range(50)]
        other = [stream("job_b"), stream("job_a", detail="summary")]
        tasks = [asyncio.create_task(s.next(0.01)) for s in same + other]
        for _ in range(20):
            await asyncio.sleep(0)
        release.set()
        firsts = await asyncio.gather(*tasks)
        assert calls == 3  # one read per (job, cursor, high-water mark, detail)
        assert all(e is not None and e.seq == 3 for e in firsts)
        assert all([e.seq for e in s._backlog] == [7] for s in same)
        late = stream("job_a")  # a moment later, the same range: still shared
        assert (await late.next(0.01)) is not None and calls == 3
        hub.close_all()

    asyncio.run(run())
