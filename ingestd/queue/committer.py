"""Collects finished files and commits them in batches, one transaction at a time
(``batcher.py``): a lone file commits at once and a busy worker commits dozens per transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.queue.batcher import Batcher
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost

Done = tuple[ClaimedFile, FileOutcome]


class Committer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._batcher: Batcher[Done, FileStatus] = Batcher(self._write, name="committer")

    def start(self) -> None:
        self._batcher.start()

    async def stop(self) -> None:
        await self._batcher.stop()

    async def complete(self, claimed: ClaimedFile, outcome: FileOutcome) -> FileStatus:
        """Queue a completion and wait until it is committed (or refused: ``LeaseLost``)."""
        return await self._batcher.submit((claimed, outcome))

    async def _write(self, batch: Sequence[Done]) -> list[FileStatus | LeaseLost]:
        return await complete_files(self.db, batch, now=time.time())
