"""Listing a claimed source into files: its adapter lists entries (in a thread: directory walks,
zip expansion and bucket listings block), and they are inserted in batches while this worker
still holds the source's lease."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from itertools import islice

from ingestd.domain.errors import BadRequest, FileError
from ingestd.domain.work import ClaimedSource, SourceEntry
from ingestd.sources.base import SourceError
from ingestd.sources.registry import Sources
from ingestd.store import listing as listing_store
from ingestd.store.db import Database
from ingestd.store.errors import ListingStopped

log = logging.getLogger("ingestd.worker")

LIST_BATCH = 500  # files inserted per transaction while listing a source


class SourceLister:
    def __init__(
        self,
        db: Database,
        sources: Sources,
        *,
        worker_id: str,
        lease_seconds: float,
        on_files: Callable[[], None],
    ) -> None:
        self.db = db
        self.sources = sources
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._on_files = on_files  # new files are queued: claim them

    async def list_next(self) -> bool:
        """Claim one pending source and list it; False when none was waiting."""
        source = await listing_store.claim_next_source(
            self.db, self.worker_id, now=time.time(), lease_seconds=self.lease_seconds
        )
        if source is None:
            return False
        await self.list_source(source)
        return True

    async def list_source(self, source: ClaimedSource) -> None:
        where = f"source {source.index} of {source.job_id}"
        try:
            adapter = self.sources.for_type(source.type)
            entries = await asyncio.to_thread(adapter.entries, source.spec)
            while batch := await asyncio.to_thread(_take, entries, LIST_BATCH):
                now = time.time()
                lease = (self.worker_id, now + self.lease_seconds)
                if await listing_store.add_listed_files(
                    self.db, source, batch, now=now, lease=lease
                ):
                    self._on_files()
        except ListingStopped:
            log.info("stopped listing %s: the job was cancelled or deleted", where)
            return
        except (SourceError, BadRequest, FileError, OSError) as exc:
            error = _source_error(exc)
            log.warning("%s failed: %s", where, error["message"])
            await listing_store.finish_listing(
                self.db, source, self.worker_id, now=time.time(), error=error
            )
            return
        await listing_store.finish_listing(self.db, source, self.worker_id, now=time.time())


def _take(entries: Iterator[SourceEntry], n: int) -> list[SourceEntry]:
    return list(islice(entries, n))


def _source_error(exc: Exception) -> dict[str, str]:
    if isinstance(exc, SourceError | FileError):
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, BadRequest):
        return {"code": "invalid_source", "message": exc.detail}
    return {"code": "access_error", "message": str(exc)}
