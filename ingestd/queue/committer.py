"""Collects finished files and commits them in batches, one transaction at a time
(``batcher.py``): a lone file commits at once and a busy worker commits dozens per transaction.

A batch may also hand freed slots straight on (``store/claims.claim_successors``): when the
worker says it can take files (``hand_off``), a capped job whose files complete here claims its
next files in the same transaction, and they go to ``on_successors`` before any caller of the
batch hears that its file is done. A job with ``max_workers: 1`` thus pays one transaction per
file, not a completion and then a claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.queue.batcher import Batcher
from ingestd.store.claims import HandOff
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost

Done = tuple[ClaimedFile, FileOutcome]


class Committer:
    def __init__(
        self,
        db: Database,
        *,
        hand_off: Callable[[int], HandOff | None] | None = None,
        on_successors: Callable[[list[ClaimedFile]], None] | None = None,
    ) -> None:
        self.db = db
        # Asked once per batch with the batch's size: whom successors go to, and how many.
        self._hand_off = hand_off
        self._on_successors = on_successors
        self._batcher: Batcher[Done, FileStatus] = Batcher(self._write, name="committer")

    def start(self) -> None:
        self._batcher.start()

    async def stop(self) -> None:
        await self._batcher.stop()

    async def complete(self, claimed: ClaimedFile, outcome: FileOutcome) -> FileStatus:
        """Queue a completion and wait until it is committed (or refused: ``LeaseLost``)."""
        return await self._batcher.submit((claimed, outcome))

    async def _write(self, batch: Sequence[Done]) -> list[FileStatus | LeaseLost]:
        hand_off = None
        if self._hand_off is not None and self._on_successors is not None:
            hand_off = self._hand_off(len(batch))
        result = await complete_files(self.db, batch, now=time.time(), hand_off=hand_off)
        if result.successors and self._on_successors is not None:
            self._on_successors(result.successors)
        return result
