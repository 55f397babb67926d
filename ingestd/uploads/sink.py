"""Write a request body to a file while hashing it, without holding it in memory.

Chunks from the ASGI server are small (~64 KB); writing and hashing each on the event loop would
block it, and a thread hop per chunk costs more than the work. So chunks are gathered into a
buffer of ``FLUSH`` bytes and handed to a worker thread, while the loop keeps receiving the next
buffer: at most two buffers (8 MB) are alive per upload. ``hashlib`` releases the GIL on large
updates, so the hash runs in parallel with the receiving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import IO, Any

FLUSH = 4 * 1024 * 1024


class HashingSink:
    """Appends bytes to ``out`` and to the ``digests``; ``size`` counts what was accepted."""

    def __init__(self, out: IO[bytes], digests: list[Any]) -> None:
        self.out = out
        self.digests = digests
        self.size = 0  # bytes accepted (buffered or written)
        self._buffer = bytearray()
        self._pending: asyncio.Future[None] | None = None

    async def write(self, data: bytes | memoryview) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= FLUSH:
            await self._flush()

    async def finish(self) -> None:
        """Write out what is buffered and wait for it: afterwards the file holds ``size`` bytes."""
        await self._flush()
        await self._wait()

    async def settle(self) -> None:
        """Wait for a write in flight, ignoring its failure (the upload is being abandoned)."""
        with contextlib.suppress(Exception):
            await self._wait()

    async def _flush(self) -> None:
        await self._wait()
        if not self._buffer:
            return
        block, self._buffer = self._buffer, bytearray()  # handed over, not copied
        self._pending = asyncio.get_running_loop().run_in_executor(None, self._consume, block)

    async def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    def _consume(self, block: bytearray) -> None:
        for digest in self.digests:
            digest.update(block)
        self.out.write(block)


def new_sha256() -> Any:
    return hashlib.sha256()
