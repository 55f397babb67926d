"""SQLite's push feed: Unix datagram sockets next to the database file wake the API processes'
tails when another process (the worker child, a second API process) appends events."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestd.events.unix_push import UnixPush, for_url


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory short enough for socket paths (pytest's tmp_path can be too long)."""
    path = Path(tempfile.mkdtemp(prefix="iw", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _exists(path: str | Path) -> bool:
    return Path(path).exists()


async def _publish_from_another_process(directory: Path) -> None:
    code = (
        "import asyncio, sys; from pathlib import Path; "
        "from ingestd.events.unix_push import UnixPush; "
        "push = UnixPush(Path(sys.argv[1])); asyncio.run(push.publish()); asyncio.run(push.close())"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, str(directory))
    assert await asyncio.wait_for(proc.wait(), 60) == 0


async def _until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_another_process_wakes_a_listener(short_dir: Path) -> None:
    directory = short_dir / "x.db-wake"
    listener = UnixPush(directory)
    wakes: list[int] = []
    states: list[bool] = []
    task = asyncio.create_task(listener.listen(lambda: wakes.append(1), states.append))
    try:
        await _until(lambda: states == [True])
        assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
        await _publish_from_another_process(directory)
        await _until(lambda: len(wakes) >= 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert states == [True, False]
    assert not _exists(listener.path), "its socket is removed when it stops"


async def test_a_publisher_skips_its_own_process_and_removes_dead_sockets(
    short_dir: Path,
) -> None:
    directory = short_dir / "x.db-wake"
    listener = UnixPush(directory)
    wakes: list[int] = []
    states: list[bool] = []
    task = asyncio.create_task(listener.listen(lambda: wakes.append(1), states.append))
    dead = directory / "1-dead.sock"
    try:
        await _until(lambda: states == [True])
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
            gone.bind(str(dead))  # left behind by a process that died
        publisher = UnixPush(directory)
        await publisher.publish()
        await publisher.close()
        await asyncio.sleep(0.05)
        assert wakes == [], "this process's appends wake its tail directly"
        assert not _exists(dead)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_publishing_with_no_listener_yet_is_harmless(short_dir: Path) -> None:
    publisher = UnixPush(short_dir / "nobody-yet")
    await publisher.publish()
    await publisher.close()


def test_only_for_a_sqlite_file_with_a_short_enough_path(short_dir: Path) -> None:
    short = short_dir
    push = for_url(f"sqlite+aiosqlite:///{short / 'ingestd.db'}")
    assert push is not None and push.directory == short / "ingestd.db-wake"
    assert for_url("sqlite+aiosqlite:///:memory:") is None
    assert for_url("postgresql+asyncpg://postgres@127.0.0.1/x") is None
    deep = "/tmp/" + "d" * 120 + "/ingestd.db"
    assert for_url(f"sqlite+aiosqlite:///{deep}") is None
