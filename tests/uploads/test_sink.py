"""The upload sink on real files: bytes land at the right offsets, digests see them in order,
buffers are recycled (memory stays flat), and a failing write surfaces instead of vanishing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestd.uploads import sink as sink_module
from ingestd.uploads.sink import BLOCK, DEPTH, DIRECT, HashingSink


@pytest.fixture
def buffers_made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """One entry (its arguments) per buffer the sink module makes from now on."""
    made: list[tuple[object, ...]] = []
    real = bytearray

    def counting_bytearray(*args: int) -> bytearray:
        made.append(args)
        return real(*args)

    monkeypatch.setattr(sink_module, "bytearray", counting_bytearray, raising=False)
    return made


def pieces(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes (cycled), as an ASGI server would send it."""
    out, at, i = [], 0, 0
    while at < len(data):
        size = sizes[i % len(sizes)]
        out.append(data[at : at + size])
        at, i = at + size, i + 1
    return out


async def test_body_lands_after_the_offset_and_is_hashed_in_order(tmp_path: Path) -> None:
    data = os.urandom(5 * BLOCK + 12345)
    target = tmp_path / "upload.part"
    target.write_bytes(b"prefix")  # the bytes a previous PATCH left
    digest, check = hashlib.sha256(b"prefix"), hashlib.sha1()
    with target.open("r+b") as handle:
        sink = HashingSink(handle, [digest, check], offset=6)
        for piece in pieces(data, [65536, 300_001, 1, 2 * BLOCK + 7]):
            await sink.write(piece)
        await sink.finish()
    assert sink.size == len(data)
    assert target.read_bytes() == b"prefix" + data
    assert digest.hexdigest() == hashlib.sha256(b"prefix" + data).hexdigest()
    assert check.hexdigest() == hashlib.sha1(data).hexdigest()


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=3 * 1024 * 64 + 17),
    cuts=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=5),
)
async def test_any_split_of_any_body_round_trips(
    tmp_path_factory: pytest.TempPathFactory, size: int, cuts: list[int]
) -> None:
    data = os.urandom(size)
    target = tmp_path_factory.mktemp("sink") / "f"
    digest = hashlib.sha256()
    with target.open("wb") as handle:
        sink = HashingSink(handle, [digest])
        for piece in pieces(data, cuts):
            await sink.write(piece)
        await sink.finish()
    assert target.read_bytes() == data
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_buffers_are_recycled_so_memory_stays_flat(
    tmp_path: Path, buffers_made: list[tuple[object, ...]]
) -> None:
    piece = bytearray(os.urandom(256 * 1024))  # mutable pieces are copied into the buffers
    with (tmp_path / "big").open("wb") as handle:
        sink = HashingSink(handle, [hashlib.sha256()])
        for _ in range(64 * BLOCK // len(piece)):  # 64 blocks
            await sink.write(piece)
        await sink.finish()
    assert sink.size == 64 * BLOCK
    assert len(buffers_made) <= DEPTH + 1, f"{len(buffers_made)} buffers for 64 blocks"


async def test_big_bytes_go_on_uncopied_and_at_most_depth_are_held(tmp_path: Path) -> None:
    data = os.urandom(40 * DIRECT + 3)
    target = tmp_path / "direct"
    digest = hashlib.sha256()
    with target.open("wb") as handle:
        sink = HashingSink(handle, [digest])
        # big immutable pieces (handed on as they are) between small ones (copied into a block)
        for piece in pieces(data, [DIRECT, 100, 3 * DIRECT + 1, 5000]):
            await sink.write(memoryview(piece) if len(piece) % 2 else piece)
            assert len(sink._inflight) < DEPTH  # flat memory: the oldest is waited for
        await sink.finish()
    assert target.read_bytes() == data
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_a_mutable_piece_may_change_after_write(tmp_path: Path) -> None:
    piece = bytearray(os.urandom(2 * DIRECT))
    expected = bytes(piece)
    with (tmp_path / "f").open("wb") as handle:
        sink = HashingSink(handle, [hashlib.sha256()])
        await sink.write(piece)
        piece[:] = bytes(len(piece))  # the caller reuses its buffer at once
        await sink.finish()
    assert (tmp_path / "f").read_bytes() == expected


async def test_a_failing_write_surfaces_and_settle_drains(tmp_path: Path) -> None:
    target = tmp_path / "read-only"
    target.write_bytes(b"")
    with target.open("rb") as handle:  # writing to it fails with EBADF
        sink = HashingSink(handle, [hashlib.sha256()])
        with pytest.raises(OSError):
            for _ in range(DEPTH + 2):
                await sink.write(os.urandom(BLOCK))
            await sink.finish()
        await sink.settle()  # abandoning it waits for the blocks still in flight, quietly
    assert target.read_bytes() == b""


async def test_big_bytes_take_no_buffer_and_buffers_are_pooled_between_sinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffers_made: list[tuple[object, ...]]
) -> None:
    monkeypatch.setattr(sink_module, "_pool", [])
    with (tmp_path / "direct").open("wb") as handle:  # a tus PATCH body from uvicorn
        sink = HashingSink(handle, [hashlib.sha256()])
        for _ in range(8):
            await sink.write(os.urandom(DIRECT))
        await sink.finish()
    assert len(buffers_made) == 0
    for _ in range(5):  # small pieces, sink after sink: the pool serves them
        with (tmp_path / "small").open("wb") as handle:
            sink = HashingSink(handle, [hashlib.sha256()])
            for _ in range(3 * BLOCK // 65536):
                await sink.write(os.urandom(65536))
            await sink.finish()
    assert len(buffers_made) <= DEPTH + 1, f"{len(buffers_made)} buffers for 5 sinks"
    assert len(sink_module._pool) <= sink_module.POOL
