"""The push feed for SQLite: Unix datagram sockets between the processes sharing the file.

SQLite means one machine, so the worker process (``ingestd serve`` runs it as a child) and every
API process can wake each other without a server in between: each listening process binds a
socket in a directory next to the database file (``ingestd.db-wake/``, like SQLite's own
``-wal``), and publishing sends an empty datagram to every socket there. Without it an API
process learns of a worker's events only at its next poll (``event_poll_seconds``, up to 25 ms
late); the poll stays as brisk as before, so this only makes events earlier, never later.

A socket whose process died refuses datagrams and is removed by the next publisher. The
directory is private to the data's owner (0700). A path over the platform's limit for socket
names (~100 bytes) turns it off: the tail polls as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("ingestd.events")

MAX_SOCKET_PATH = 100  # bytes; sun_path holds 108 on Linux, 104 on macOS (with the NUL)
SUFFIX = ".sock"

# Sockets this process listens on: its own appends already wake its tail (store/events.py,
# on_append), so its publisher skips them.
_listening: set[str] = set()


def for_url(url: str) -> UnixPush | None:
    """The feed for a SQLite file database; None for another database, an in-memory one, or
    a directory whose socket paths would be too long."""
    if not url.startswith("sqlite") or not hasattr(socket, "AF_UNIX"):
        return None
    _, _, path = url.partition(":///")
    path = path.split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    directory = Path(path).resolve().parent / f"{Path(path).name}-wake"
    push = UnixPush(directory)
    if len(os.fsencode(push.path)) > MAX_SOCKET_PATH:
        log.info("event wake-ups off: %s is too long a path for a socket; polling", push.path)
        return None
    return push


class UnixPush:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.name = f"{os.getpid()}-{os.urandom(3).hex()}"
        self.path = str(directory / f"{self.name}{SUFFIX}")
        self._sender: socket.socket | None = None

    async def publish(self) -> None:
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return  # no process listens yet
        for entry in entries:
            if not entry.name.endswith(SUFFIX) or entry.path in _listening:
                continue
            try:
                self._sender.sendto(b"", entry.path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)  # its process is gone
            except BlockingIOError:
                pass  # its queue is full: it has wake-ups waiting already

    async def listen(self, wake: Callable[[], None], connected: Callable[[bool], None]) -> None:
        """Call ``wake`` on every datagram until cancelled. Returns (the tail goes on polling)
        if the socket cannot be made."""
        loop = asyncio.get_running_loop()
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.setblocking(False)
        try:
            try:
                self.directory.mkdir(mode=0o700, exist_ok=True)
                receiver.bind(self.path)
            except OSError as exc:
                log.warning("event wake-ups off (%s); polling", exc)
                return
            _listening.add(self.path)

            def readable() -> None:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    while True:  # one wake-up for all the datagrams waiting
                        receiver.recv(1)
                wake()

            loop.add_reader(receiver.fileno(), readable)
            try:
                connected(True)
                await loop.create_future()  # until cancelled
            finally:
                loop.remove_reader(receiver.fileno())
                connected(False)
        finally:
            receiver.close()
            if self.path in _listening:
                _listening.discard(self.path)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None
