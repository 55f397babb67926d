"""Collects finished files and commits them in batches, one transaction at a time.

No timer: while one batch is being written, the next one gathers, so a lone file commits at once
and a busy worker commits dozens per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost

MAX_BATCH = 200  # files per transaction


class Committer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[ClaimedFile, FileOutcome, asyncio.Future[FileStatus]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="committer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, _, future in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("the worker is stopping"))

    async def complete(self, claimed: ClaimedFile, outcome: FileOutcome) -> FileStatus:
        """Queue a completion and wait until it is committed (or refused: ``LeaseLost``)."""
        future: asyncio.Future[FileStatus] = asyncio.get_running_loop().create_future()
        self._pending.append((claimed, outcome, future))
        self._ready.set()
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(
        self, batch: list[tuple[ClaimedFile, FileOutcome, asyncio.Future[FileStatus]]]
    ) -> None:
        try:
            results = await complete_files(self.db, [(c, o) for c, o, _ in batch], now=time.time())
        except Exception as exc:  # the whole transaction failed: every caller hears why
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, LeaseLost):
                future.set_exception(result)
            else:
                future.set_result(result)
