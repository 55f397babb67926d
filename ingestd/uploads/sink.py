"""Write a request body to a file while hashing it, without holding it in memory.

Body messages from the ASGI server are 64 KB to ~1 MB; hashing and writing each on the event
loop would block it. So each piece is hashed and written by the event loop's worker threads
while the loop receives the next ones. A big piece of immutable ``bytes`` (uvicorn's body
messages, or a ``memoryview`` of one) is handed over as it is — no copy; smaller or mutable
pieces are copied into fixed ``BLOCK``-sized buffers, handed over when full (a thread hop per
small piece would cost more than its work). Both ``hashlib`` (for large updates) and
``os.pwrite`` release the GIL, so hashing, writing and receiving overlap:

- hashing must see the pieces in order, so a piece's hash starts when the previous one ended
  (hashing runs at ~1.4 GB/s, faster than a socket delivers, so it keeps up with one at a time);
- writes carry their own file offset (``pwrite``), so they may run side by side, out of order.

At most ``DEPTH`` pieces or buffers are in flight per sink (buffers are recycled once hashed and
written), so memory stays flat whatever the body size, and no thread is started per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections import deque
from typing import IO, Any

BLOCK = 1024 * 1024  # bytes per buffer handed to the worker threads
DEPTH = 4  # blocks in flight per sink (so at most DEPTH * BLOCK bytes held, or DEPTH pieces)
DIRECT = 256 * 1024  # pieces of ``bytes`` at least this big are handed on without a copy


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
        self._block = bytearray(BLOCK)
        self._fill = 0
        self._handed = 0  # bytes already handed to the threads
        self._spare: list[bytearray] = []
        self._inflight: deque[
            tuple[bytearray | None, asyncio.Future[None], asyncio.Future[None]]
        ] = deque()
        self._hashing: asyncio.Future[None] | None = None  # the last block's hash

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

    async def settle(self) -> None:
        """Wait for the blocks in flight, ignoring failures (the upload is being abandoned)."""
        while self._inflight:
            with contextlib.suppress(Exception):
                await self._retire()

    async def _submit(self) -> None:
        """Hand the filled part of the current buffer to the threads; take a fresh buffer."""
        buffer = self._block
        block = memoryview(buffer)[: self._fill]
        self._block = self._spare.pop() if self._spare else bytearray(BLOCK)
        self._fill = 0
        await self._hand(block, buffer)

    async def _hand(self, block: memoryview, buffer: bytearray | None) -> None:
        """Hash ``block`` (after the previous one) and write it at its place in the file.

        ``buffer`` is the reusable buffer behind ``block``, recycled once both are done; ``None``
        for an immutable piece of the body, simply dropped.
        """
        loop = asyncio.get_running_loop()
        if self._hashing is not None:
            await asyncio.wait([self._hashing])  # in order: one hash at a time
        at = self.offset + self._handed  # where this block starts in the file
        self._handed += len(block)
        self._hashing = loop.run_in_executor(None, self._hash, block)
        written = loop.run_in_executor(None, self._write, block, at)
        self._inflight.append((buffer, self._hashing, written))
        if len(self._inflight) >= DEPTH:
            await self._retire()

    async def _retire(self) -> None:
        """Wait for the oldest block; its buffer becomes a spare once hashed and written."""
        buffer, hashed, written = self._inflight[0]
        await asyncio.wait([hashed, written])  # never reuse a buffer a thread may still read
        self._inflight.popleft()
        hashed.result()  # a failure (a full disk, say) surfaces here
        written.result()
        if buffer is not None:
            self._spare.append(buffer)

    def _hash(self, block: memoryview) -> None:
        for digest in self.digests:
            digest.update(block)

    def _write(self, block: memoryview, at: int) -> None:
        while block:
            done = os.pwrite(self.fd, block, at)
            block, at = block[done:], at + done


def new_sha256() -> Any:
    return hashlib.sha256()
