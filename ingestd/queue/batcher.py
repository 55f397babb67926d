"""Writes that many files make at once, gathered into one transaction each (no timer: while one
batch is being written, the next one gathers, so a lone write goes at once and a busy worker
writes dozens per transaction).

``Batcher`` is the mechanism: callers ``submit`` an item and await its own result; one task
runs ``write`` on whatever has gathered. ``write`` returns, per item, its result or an exception
for that item alone (a lease lost, say); if it raises, every item of the batch gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 200  # items per transaction

Write = Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]]


class Batcher(Generic[T, R]):
    def __init__(self, write: Write[T, R], *, name: str, max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._name = name
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, future in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("the worker is stopping"))

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait until its batch is written (or refused)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._ready.set()
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                self._pending = self._pending[self._max_batch :]
                await self._flush(batch)

    async def _flush(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:  # the whole transaction failed: every caller hears why
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
