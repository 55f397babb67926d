"""What the API process runs for live events: the hub, its feed, and the retention sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ingestd.config import Settings
from ingestd.events import push
from ingestd.events.hub import Hub
from ingestd.events.push import Push
from ingestd.events.stream import EventStream
from ingestd.events.tail import LogTail
from ingestd.store import events as event_store
from ingestd.store.db import Database

log = logging.getLogger("ingestd.events")


# The idle poll of a SQLite tail woken by local sockets (seconds); every 25 ms before, which
# cost an idle `ingestd serve` about a tenth of a core.
SQLITE_FALLBACK_POLL_SECONDS = 0.25


class LiveEvents:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.hub = Hub(queue_size=settings.event_queue_size)
        # A push feed (Redis pub/sub, PostgreSQL LISTEN, or on SQLite local sockets) wakes the
        # tail when any process appends, so it polls only as a fallback while nothing happens.
        # On SQLite that fallback stays short: a writer that does not announce its appends (an
        # older version during an upgrade, a tool writing the file) is still seen within it.
        self.push: Push | None = push.choose(settings, db)
        fallback = settings.event_fallback_poll_seconds
        if db.is_sqlite:
            fallback = min(fallback, SQLITE_FALLBACK_POLL_SECONDS)
        self.feed = LogTail(
            db,
            self.hub,
            poll_seconds=settings.event_poll_seconds,
            gap_seconds=settings.event_gap_seconds if not db.is_sqlite else 0.0,
            idle_poll_seconds=fallback if self.push else None,
        )
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def feed_name(self) -> str:
        return "poll" if self.push is None else type(self.push).__name__

    async def start(self) -> None:
        await self.feed.start()
        self._tasks.append(asyncio.create_task(self._retain(), name="event-retention"))
        if self.push is not None:
            listen = self.push.listen(self.feed.wake, self.feed.set_pushed)
            self._tasks.append(asyncio.create_task(listen, name="event-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.push is not None:
            await self.push.close()
        await self.feed.stop()
        self.hub.close_all()

    def stream(
        self,
        *,
        tenant: str | None,
        job_id: str | None,
        after: int | None,
        detail: str = "full",
        batch: bool = False,
    ) -> EventStream:
        return EventStream(
            self.db,
            self.hub,
            self.feed,
            tenant=tenant,
            job_id=job_id,
            after=after,
            detail=detail,
            batch=batch,
        )

    async def sweep(self) -> int:
        """Delete events past the retention age (and count); returns how many."""
        before = time.time() - self.settings.event_retention_seconds
        async with self.db.write() as conn:
            return await event_store.delete_events(
                conn, before=before, keep_last=self.settings.event_retention_count
            )

    async def _retain(self) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("deleted %d event(s) past retention", deleted)
            except Exception:
                log.exception("event retention failed; retrying later")
            await asyncio.sleep(self.settings.event_retention_check_seconds)
