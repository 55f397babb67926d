"""The in-process feed adapter: tails the event log table and publishes new rows in seq order.

Workers may run in another process (``ingestd serve`` runs them in a child), so the API process
learns of their events from the database: it polls ``seq > high_water`` every
``event_poll_seconds`` and at once when this process appends an event.

On PostgreSQL, sequence values are handed out at insert but become visible at commit, so seq 12
may be seen before seq 11. Publishing 12 then would make a resume ``after=12`` skip 11 forever;
so the tail stops at a gap and waits up to ``event_gap_seconds`` for it to fill (a rolled-back
transaction leaves a gap that never does).

With a push feed connected (``events/push.py``: PostgreSQL NOTIFY, Redis pub/sub, or on SQLite
local sockets), every process's appends wake the tail, so it polls only every
``idle_poll_seconds`` as a fallback (on SQLite as briskly as without: see events/service.py). A
wake may come before the writer's commit is visible, so after one the tail re-reads after 5,
10, 20 ms, then every ``poll_seconds``, for ``HOT_SECONDS``.
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
from ingestd.store.db import Database, is_unavailable

log = logging.getLogger("ingestd.events")

BATCH = 1000  # rows per read (at most half a subscription's buffer: a burst must not lag all)
HOT_SECONDS = 0.5  # after a wake or new rows, keep reading briskly this long
FIRST_RETRY_SECONDS = 0.005


class LogTail:
    """Feed adapter: the database table, polled (and woken early by appends)."""

    def __init__(
        self,
        db: Database,
        hub: Hub,
        *,
        poll_seconds: float,
        gap_seconds: float,
        idle_poll_seconds: float | None = None,
    ) -> None:
        self.db = db
        self.hub = hub
        self.poll_seconds = poll_seconds
        self.idle_poll_seconds = max(poll_seconds, idle_poll_seconds or poll_seconds)
        self.gap_seconds = gap_seconds
        self.high_water = 0
        self.pushed = False  # a push feed is connected: poll slowly while nothing happens
        self._hot_until = 0.0
        self._retry = poll_seconds
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
        """New events may have been committed: read now, and briskly for a short while."""
        self._hot_until = time.monotonic() + HOT_SECONDS
        self._retry = FIRST_RETRY_SECONDS
        self._wake.set()

    def set_pushed(self, connected: bool) -> None:
        """A push feed (dis)connected; either way, read: notifications may have been missed."""
        self.pushed = connected
        self.wake()

    def _wait_seconds(self) -> float:
        if not self.pushed:
            return self.poll_seconds
        if time.monotonic() < self._hot_until or self._gap_since is not None:
            wait, self._retry = self._retry, min(self._retry * 2, self.poll_seconds)
            return wait
        return self.idle_poll_seconds

    async def _run(self) -> None:
        down_since: float | None = None  # the database is unreachable: back off, log once
        backoff = 0.25
        while True:
            before = self.high_water
            try:
                full = await self.read_once()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("reading the event log failed; retrying")
                elif down_since is None:
                    down_since = time.monotonic()
                    log.warning("event log unreachable (%s); retrying with backoff", exc)
                full = False
            else:
                if down_since is not None:
                    log.info("event log reachable again after %.1fs", time.monotonic() - down_since)
                    down_since, backoff = None, 0.25
            if full:
                continue
            if down_since is not None:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.high_water != before:  # events come in bursts: stay brisk
                self._hot_until = time.monotonic() + HOT_SECONDS
            wait = self._wait_seconds()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            # that lands as the event fires, and the task then never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    async def read_once(self) -> bool:
        """Publish what has committed since ``high_water``; True when there may be more."""
        async with self.db.read() as conn:
            rows = await event_store.events_between(
                conn, after_seq=self.high_water, limit=self.batch
            )
        ready: list[LiveEvent] = []
        try:
            for row in rows:
                seq = int(row["seq"])
                if seq != self.high_water + 1 and not self._gap_expired():
                    return False  # a lower seq may still be committing: read again shortly
                self._gap_since = None
                ready.append(LiveEvent.from_row(row))
                self.high_water = seq
        finally:
            # All that was read, in one call: a batching subscriber gets it as one frame.
            self.hub.publish_many(ready)
        return len(rows) == self.batch

    def _gap_expired(self) -> bool:
        if self.high_water == 0 or self.gap_seconds <= 0:
            return True  # nothing read yet (the log was empty at start): no gap to mind
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= self.gap_seconds
