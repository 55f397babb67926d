"""Write a request body to a file while hashing it, without holding it in memory.

Body messages from the ASGI server are 64 KB to ~1 MB; hashing and writing each on the event
loop would block it. So each piece is hashed and written by worker threads while the loop
receives the next ones. A big piece of immutable ``bytes`` (uvicorn's body
messages, or a ``memoryview`` of one) is handed over as it is — no copy; smaller or mutable
pieces are copied into fixed ``BLOCK``-sized buffers, handed over when full (a thread hop per
small piece would cost more than its work). Both ``hashlib`` (for large updates) and
``os.pwrite`` release the GIL, so hashing, writing and receiving overlap. One thread job per
piece hashes it, then writes it:

- hashing must see the pieces in order, so a job hashes once the previous piece's job has (it
  waits on that job's ``hashed`` event; jobs start in the order given, so that one is running);
  hashing runs at ~1.4 GB/s, faster than a socket delivers, so one at a time keeps up;
- writes carry their own file offset (``pwrite``), so a piece is written while the next one is
  hashed, and writes may finish out of order.

One job (not one to hash and one to write) halves the thread hops and wake-ups of the loop per
piece, and the loop never waits for a hash before handing on the next piece. The jobs run in
the sinks' own thread pool, so one waiting for its predecessor never holds up anybody else's
``to_thread`` work; the pool is first in, first out, so that predecessor is already running.

At most ``DEPTH`` pieces or buffers are in flight per sink (buffers are recycled once hashed and
written), so memory stays flat whatever the body size, and no thread is started per request.
Buffers are taken only when a small piece needs one (a tus body of big ``bytes`` needs none) and
go back to a small process-wide pool when the sink is done: a fresh 1 MB buffer costs ~256 page
faults, which made a sink per request cost ~1 ms before the first byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

BLOCK = 1024 * 1024  # bytes per buffer handed to the worker threads
DEPTH = 4  # blocks in flight per sink (so at most DEPTH * BLOCK bytes held, or DEPTH pieces)
DIRECT = 256 * 1024  # pieces of ``bytes`` at least this big are handed on without a copy
POOL = 8  # idle buffers kept for the next sinks (so at most POOL * BLOCK bytes kept idle)
THREADS = 4 * DEPTH  # hash-and-write threads per process (started as needed)

_threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="ingestd-sink")

_pool: list[bytearray] = []  # idle buffers; only touched on the event loop's thread


def _take_buffer() -> bytearray:
    return _pool.pop() if _pool else bytearray(BLOCK)


def _give_back(buffers: list[bytearray]) -> None:
    room = POOL - len(_pool)
    _pool.extend(buffers[:room])
    buffers.clear()


class HashingSink:
    """Writes bytes to ``out`` from ``offset`` on and feeds them to the ``digests``.

    ``size`` counts the bytes accepted. Call ``finish`` when the body is complete (then the file
    holds every byte), or ``settle`` when abandoning it. ``out`` is written with ``pwrite`` on
    its descriptor, not through the file object (whose position is left alone).
    """

    def __init__(self, out: IO[bytes], digests: list[Any], *, offset: int = 0) -> None:
        self.fd = out.fileno()
        self.digests = digests
        self.offset = offset
        self.size = 0  # bytes accepted (buffered or written)
        self._block: bytearray | None = None  # taken when a small piece first needs it
        self._fill = 0
        self._handed = 0  # bytes already handed to the threads
        self._spare: list[bytearray] = []
        self._inflight: deque[tuple[bytearray | None, asyncio.Future[None]]] = deque()
        self._hashed: threading.Event | None = None  # set once the last piece is hashed

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        self.size += len(view)
        if len(view) >= DIRECT and isinstance(view.obj, bytes):
            # A big piece of an immutable ``bytes`` (uvicorn's ~1 MB body messages): hand it to
            # the threads as it is — nobody can change it while they read — saving a copy.
            if self._fill:
                await self._submit()
            await self._hand(view, None)
            return
        while len(view):
            if self._block is None:
                self._block = self._spare.pop() if self._spare else _take_buffer()
            take = min(len(view), BLOCK - self._fill)
            self._block[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == BLOCK:
                await self._submit()

    async def finish(self) -> None:
        """Write out what is buffered and wait for it: afterwards the file holds ``size`` bytes."""
        if self._fill:
            await self._submit()
        while self._inflight:
            await self._retire()
        self._release()

    async def settle(self) -> None:
        """Wait for the blocks in flight, ignoring failures (the upload is being abandoned)."""
        while self._inflight:
            with contextlib.suppress(Exception):
                await self._retire()
        self._release()

    def _release(self) -> None:
        """No thread reads the buffers any more: pool them for the next sinks."""
        if self._block is not None:
            self._spare.append(self._block)
            self._block, self._fill = None, 0
        _give_back(self._spare)

    async def _submit(self) -> None:
        """Hand the filled part of the current buffer to the threads (the next small piece takes
        another)."""
        buffer = self._block
        assert buffer is not None
        block = memoryview(buffer)[: self._fill]
        self._block = None
        self._fill = 0
        await self._hand(block, buffer)

    async def _hand(self, block: memoryview, buffer: bytearray | None) -> None:
        """Hash ``block`` (after the previous one) and write it at its place in the file.

        ``buffer`` is the reusable buffer behind ``block``, recycled once both are done; ``None``
        for an immutable piece of the body, simply dropped.
        """
        at = self.offset + self._handed  # where this block starts in the file
        self._handed += len(block)
        previous, self._hashed = self._hashed, threading.Event()
        job = asyncio.get_running_loop().run_in_executor(
            _threads, self._hash_then_write, block, at, previous, self._hashed
        )
        self._inflight.append((buffer, job))
        if len(self._inflight) >= DEPTH:
            await self._retire()

    async def _retire(self) -> None:
        """Wait for the oldest block; its buffer becomes a spare once hashed and written."""
        buffer, job = self._inflight[0]
        if not job.done():
            await asyncio.wait([job])  # never reuse a buffer a thread may still read
        self._inflight.popleft()
        job.result()  # a failure (a full disk, say) surfaces here
        if buffer is not None:
            self._spare.append(buffer)

    def _hash_then_write(
        self, block: memoryview, at: int, previous: threading.Event | None, hashed: threading.Event
    ) -> None:
        """In a worker thread: hash after the previous piece, then write at ``at``."""
        try:
            if previous is not None:
                previous.wait()
            for digest in self.digests:
                digest.update(block)
        finally:
            hashed.set()  # even on failure: the next piece must not wait forever
        self._write(block, at)

    def _write(self, block: memoryview, at: int) -> None:
        while block:
            done = os.pwrite(self.fd, block, at)
            block, at = block[done:], at + done


def new_sha256() -> Any:
    return hashlib.sha256()
