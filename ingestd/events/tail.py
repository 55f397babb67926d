"""The in-process feed adapter: tails the event log table and publishes new rows in seq order.

Workers may run in another process (``ingestd serve`` runs them in a child), so the API process
learns of their events from the database: it polls ``seq > high_water`` every
``event_poll_seconds`` and at once when this process appends an event.

On PostgreSQL, sequence values are handed out at insert but become visible at commit, so seq 12
may be seen before seq 11. Publishing 12 then would make a resume ``after=12`` skip 11 forever;
so the tail stops at a gap and waits up to ``event_gap_seconds`` for it to fill (a rolled-back
transaction leaves a gap that never does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ingestd.events.envelope import LiveEvent
from ingestd.events.hub import Hub
from ingestd.store import events as event_store
from ingestd.store.db import Database

log = logging.getLogger("ingestd.events")

BATCH = 1000  # rows per read (at most half a subscription's buffer: a burst must not lag all)


class LogTail:
    """Feed adapter: the database table, polled (and woken early by in-process appends)."""

    def __init__(self, db: Database, hub: Hub, *, poll_seconds: float, gap_seconds: float) -> None:
        self.db = db
        self.hub = hub
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds
        self.high_water = 0
        self.batch = max(1, min(BATCH, hub.queue_size // 2))
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._gap_since: float | None = None
        self._remove: Callable[[], None] = lambda: None

    async def start(self) -> None:
        async with self.db.read() as conn:
            self.high_water = await event_store.max_seq(conn)
        self._remove = event_store.on_append(self.wake)
        self._task = asyncio.create_task(self._run(), name="event-tail")

    async def stop(self) -> None:
        self._remove()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                full = await self.read_once()
            except Exception:
                log.exception("reading the event log failed; retrying")
                full = False
            if full:
                continue
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that lands as the event fires, and the task then never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def read_once(self) -> bool:
        """Publish what has committed since ``high_water``; True when there may be more."""
        async with self.db.read() as conn:
            rows = await event_store.events_between(conn, after_seq=self.high_water, limit=BATCH)
        for row in rows:
            seq = int(row["seq"])
            if seq != self.high_water + 1 and not self._gap_expired():
                return False  # a lower seq may still be committing: read again shortly
            self._gap_since = None
            self.hub.publish(LiveEvent.from_row(row))
            self.high_water = seq
        return len(rows) == self.batch

    def _gap_expired(self) -> bool:
        if self.high_water == 0 or self.gap_seconds <= 0:
            return True  # nothing read yet (the log was empty at start): no gap to mind
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= self.gap_seconds
