"""Live events written straight to a subscriber's socket (events/stream.py, ``deliver``): in
order, no duplicate, what the socket cannot take now buffered for the consumer, a per-job
stream's final event left to the consumer (which closes the socket)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from ingestd.events.envelope import LiveEvent, text_frame
from ingestd.events.hub import Hub, Lagged
from ingestd.events.stream import EventStream
from ingestd.events.uvicorn_ws import LeanWebSocketProtocol, frame_writer


class _Feed:
    high_water = 10


class _Writer:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.full = False  # the socket's buffer is past its high-water mark

    def write_frame(self, frame: bytes) -> bool:
        if self.full:
            return False
        self.frames.append(frame)
        return True


def _event(seq: int, type: str = "file.progress", job_id: str = "job_1") -> LiveEvent:
    text = f'{{"seq":{seq}}}'
    return LiveEvent(seq, "default", job_id, type, text, text_frame(text.encode()))


def _stream(
    hub: Hub, writer: _Writer, *, job_id: str | None = None, after: int | None = None
) -> EventStream:
    stream = EventStream(
        None,  # type: ignore[arg-type]  # no backlog to read: the cursor is at the feed's mark
        hub,
        _Feed(),
        tenant="default",
        job_id=job_id,
        after=after,
    )
    stream.writer = writer
    return stream


async def _parked(stream: EventStream) -> asyncio.Task[LiveEvent | None]:
    """The consumer waiting in ``next`` (where its sink is attached)."""
    task = asyncio.create_task(stream.next())
    await asyncio.sleep(0)
    return task


def _seqs(frames: list[bytes]) -> list[int]:
    return [int(f[2:].decode().split(":")[1].rstrip("}")) for f in frames]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_text_frame_is_what_websockets_parses(size: int) -> None:
    payload = b"x" * size
    reader = StreamReader()
    reader.feed_data(text_frame(payload))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
        raise AssertionError("the frame is incomplete")
    except StopIteration as done:
        frame = done.value
    assert frame.opcode is Opcode.TEXT and frame.fin and bytes(frame.data) == payload
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)


async def test_a_waiting_consumer_gets_live_events_written_without_waking() -> None:
    hub, writer = Hub(queue_size=10), _Writer()
    stream = _stream(hub, writer)
    consumer = await _parked(stream)
    for seq in (11, 12, 13):
        hub.publish(_event(seq))
    assert _seqs(writer.frames) == [11, 12, 13]
    assert stream.last == 13
    await asyncio.sleep(0)
    assert not consumer.done(), "nothing for the consumer to send"
    consumer.cancel()
    stream.close()


async def test_what_the_socket_cannot_take_is_buffered_in_order_then_direct_again() -> None:
    hub, writer = Hub(queue_size=10), _Writer()
    stream = _stream(hub, writer)
    consumer = await _parked(stream)
    hub.publish(_event(11))
    writer.full = True
    hub.publish(_event(12))
    writer.full = False  # drained; but 12 is still buffered: 13 must not overtake it
    hub.publish(_event(13))
    assert _seqs(writer.frames) == [11]
    assert (await consumer) == _event(12)
    assert (await stream.next()) == _event(13)
    consumer = await _parked(stream)  # caught up again: direct
    hub.publish(_event(14))
    assert _seqs(writer.frames) == [11, 14]
    consumer.cancel()
    stream.close()


async def test_a_consumer_too_far_behind_is_lagged_with_its_cursor() -> None:
    hub, writer = Hub(queue_size=3), _Writer()
    stream = _stream(hub, writer)
    consumer = await _parked(stream)
    hub.publish(_event(11))
    writer.full = True
    for seq in range(12, 17):
        hub.publish(_event(seq))
    assert hub.subscribers == 0, "dropped"
    with pytest.raises(Lagged):
        await consumer
    assert stream.last == 11, "resume after the last event written"


async def test_events_already_sent_are_skipped() -> None:
    hub, writer = Hub(queue_size=10), _Writer()
    stream = _stream(hub, writer, after=12)  # the client had up to 12
    consumer = await _parked(stream)
    for seq in (11, 12, 13):
        hub.publish(_event(seq))
    assert _seqs(writer.frames) == [13]
    consumer.cancel()
    stream.close()


async def test_a_per_job_streams_final_event_goes_to_the_consumer() -> None:
    hub, writer = Hub(queue_size=10), _Writer()
    stream = _stream(hub, writer, job_id="job_1")
    consumer = await _parked(stream)
    hub.publish(_event(11))
    hub.publish(_event(12, "job.completed"))
    assert _seqs(writer.frames) == [11]
    event = await consumer
    assert event is not None and stream.ends_with(event)
    stream.close()


async def test_without_a_writer_every_event_goes_through_the_consumer() -> None:
    hub, writer = Hub(queue_size=10), _Writer()
    stream = _stream(hub, writer)
    stream.writer = None
    consumer = await _parked(stream)
    hub.publish(_event(11))
    assert (await consumer) == _event(11)
    assert writer.frames == []
    stream.close()


def test_frame_writer_only_for_our_protocol() -> None:
    protocol: Any = object.__new__(LeanWebSocketProtocol)
    assert frame_writer(protocol.send) is protocol

    async def wrapped_send(message: Any) -> None: ...

    assert frame_writer(wrapped_send) is None


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


async def test_write_frame_declines_whenever_send_would_not_write_now() -> None:
    protocol: Any = object.__new__(LeanWebSocketProtocol)
    protocol.close_sent = protocol.disconnected = False
    protocol.writable = asyncio.Event()
    protocol.writable.set()
    protocol.conn = type("Conn", (), {"extensions": []})()
    protocol.transport = transport = _Transport()
    assert protocol.write_frame(b"1")
    protocol.writable.clear()  # past the high-water mark
    assert not protocol.write_frame(b"2")
    protocol.writable.set()
    protocol.conn.extensions = ["permessage-deflate"]  # frames would need compressing
    assert not protocol.write_frame(b"3")
    protocol.conn.extensions = []
    transport.closing = True
    assert not protocol.write_frame(b"4")
    transport.closing = False
    protocol.close_sent = True
    assert not protocol.write_frame(b"5")
    assert transport.written == [b"1"]
