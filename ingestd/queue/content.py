"""Content claims in batches (``batcher.py``): with ``skip_existing`` every file claims its
content before it is parsed (``store/content.py``); many small files then share one transaction
instead of paying one each."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ingestd.domain.work import ClaimedFile
from ingestd.queue.batcher import Batcher
from ingestd.store.content import ContentOwner, claim_contents
from ingestd.store.db import Database

Request = tuple[ClaimedFile, str]  # the file, its content key


class ContentClaimer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._batcher: Batcher[Request, ContentOwner | None] = Batcher(
            self._write, name="content-claims"
        )

    def start(self) -> None:
        self._batcher.start()

    async def stop(self) -> None:
        await self._batcher.stop()

    async def claim(self, claimed: ClaimedFile, key: str) -> ContentOwner | None:
        """None when ``claimed`` is the file to process this content; else the file that is."""
        return await self._batcher.submit((claimed, key))

    async def _write(self, batch: Sequence[Request]) -> list[ContentOwner | None]:
        return await claim_contents(self.db, batch, now=time.time())
