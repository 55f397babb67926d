"""One subscriber's stream: the backlog after its cursor from the log, then live, no gap, no dup.

Order matters: subscribe to the hub first, note the feed's ``high_water``, read the backlog up
to it from the table, then take live events, skipping any seq already sent.

A stream given a :class:`FrameWriter` (a WebSocket on our uvicorn protocol) writes live events
itself as they are published, while its consumer waits in :meth:`EventStream.next`, which then
returns only what the writer could not take.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from ingestd.domain.events import SUMMARY_EVENTS
from ingestd.events.envelope import LiveEvent
from ingestd.events.hub import FULL, SUMMARY, Batch, Feed, Hub, Lagged, Subscription
from ingestd.store import events as event_store
from ingestd.store.db import Database

PAGE = 500
BATCH_MAX = 500  # events in one batched frame at most
_EMPTY: deque[LiveEvent] = deque(maxlen=0)  # shared by streams with no backlog (most, live)

__all__ = ["EventStream", "FrameWriter", "Lagged"]


class FrameWriter(Protocol):
    def write_frame(self, frame: bytes) -> bool:
        """Write a pre-framed event now; False (writing nothing) when it cannot."""
        ...


class EventStream:
    __slots__ = (
        "_backlog",
        "_backlog_done",
        "_hub",
        "_log_end_read",
        "_sub",
        "_upto",
        "batch",
        "db",
        "detail",
        "finite",
        "gone",
        "job_id",
        "last",
        "tenant",
        "writer",
    )

    def __init__(
        self,
        db: Database,
        hub: Hub,
        feed: Feed,
        *,
        tenant: str | None,
        job_id: str | None,
        after: int | None,
        detail: str = FULL,
        batch: bool = False,
    ) -> None:
        self.db = db
        self.tenant = tenant
        self.job_id = job_id
        self.detail = detail
        self.batch = batch  # the consumer takes several events per frame (see next_batch)
        self._sub: Subscription = hub.subscribe(tenant, job_id, detail=detail, batch=batch)
        self._hub = hub
        self._upto = feed.high_water
        # No cursor: live from now on.
        self.last = self._upto if after is None else after
        self._backlog: deque[LiveEvent] = _EMPTY  # a deque of its own once there is a backlog
        self._backlog_done = self.last >= self._upto
        self._log_end_read = False  # a finite stream reads the log to its end before stopping
        # Set for a job that had already ended when the stream opened: after the backlog, stop.
        self.finite = False
        self.gone = False  # the client left: stop quietly
        self.writer: FrameWriter | None = None  # takes live events directly: see deliver

    @property
    def upto(self) -> int:
        """The feed's high-water mark when the stream opened."""
        return self._upto

    @property
    def caught_up(self) -> bool:
        """The backlog has been sent: what comes next is live."""
        return self._backlog_done and not self._backlog

    @property
    def finished(self) -> bool:
        return self.finite and self.caught_up

    def ends_with(self, event: LiveEvent) -> bool:
        """A per-job stream ends with the job's final event, once it is not an old one replayed
        before a retry (the backlog continues past it)."""
        return self.job_id is not None and event.terminal and self.caught_up

    def close(self) -> None:
        self._hub.unsubscribe(self._sub)

    def hang_up(self) -> None:
        """The client went away: wake :meth:`next`, which then raises :class:`Lagged`."""
        self.gone = True
        self._sub.close()

    async def next(self, wait_seconds: float | None = None) -> LiveEvent | None:
        """The next event after ``last``; None if ``wait_seconds`` pass or a finite stream has
        sent its backlog (see :attr:`finished`). Raises :class:`Lagged`."""
        while True:
            if self._backlog:
                old = self._backlog.popleft()
                self.last = old.seq
                return old
            if not self._backlog_done:
                await self._load()
                continue
            if self.finite:
                if not self._log_end_read:
                    # The job has ended, so its last events are committed, but the feed may not
                    # have published them yet: read the log past high_water before stopping.
                    self._log_end_read = True
                    self._backlog_done = False
                    continue
                return None
            event = await self._sub.get(wait_seconds, self if self.writer is not None else None)
            if event is None:
                return None
            if event.seq <= self.last:
                continue  # already sent from the backlog
            self.last = event.seq
            return event

    @property
    def collapsed(self) -> int:
        """Superseded progress events dropped while this subscriber was behind."""
        return self._sub.collapsed

    async def next_batch(
        self, wait_seconds: float | None = None, limit: int = BATCH_MAX
    ) -> list[LiveEvent]:
        """The next event and whatever else is ready now (up to ``limit``), in order, to send
        in one frame; empty as :meth:`next` returns None. A per-job stream's batch ends with
        the job's final event (nothing is taken past it). Raises :class:`Lagged`."""
        first = await self.next(wait_seconds)
        if first is None:
            return []
        out = [first]
        if self.ends_with(first):
            return out
        while len(out) < limit:
            if self._backlog:
                event: LiveEvent | None = self._backlog.popleft()
            elif self._backlog_done and not self.finite:
                ready = self._sub.ready(1)
                event = ready[0] if ready else None
            else:
                break  # the next page of the backlog (or the log's end) is read by next()
            if event is None:
                break
            if event.seq <= self.last:
                continue
            self.last = event.seq
            out.append(event)
            if self.ends_with(event):
                break
        return out

    def deliver_batch(self, batch: Batch) -> bool:
        """The hub's sink for a batching subscriber: the whole batch as one shared frame, when
        the stream can take all of it as it is (nothing already sent, no final event in it)."""
        events = batch.events
        if self.writer is None or events[0].seq <= self.last:
            return False
        if self.job_id is not None and any(e.terminal for e in events):
            return False  # the consumer sends it and closes
        if not self.writer.write_frame(batch.frame):
            return False
        self.last = events[-1].seq
        return True

    def deliver(self, event: LiveEvent) -> bool:
        """The hub's :class:`~ingestd.events.hub.Sink`, called while :meth:`next` waits for a
        live event: write it with :attr:`writer`. Declined (so :meth:`next` returns it): an
        event the writer cannot take now, and a per-job stream's final event (the caller sends
        it and closes the socket)."""
        if event.seq <= self.last:
            return True  # already sent from the backlog
        if self.writer is None or self.ends_with(event):
            return False
        if not self.writer.write_frame(event.frame):
            return False
        self.last = event.seq
        return True

    async def _load(self) -> None:
        upto = None if self._log_end_read else self._upto
        after, types = self.last, SUMMARY_EVENTS if self.detail == SUMMARY else None

        async def load() -> list[LiveEvent]:
            async with self.db.read() as conn:
                rows = await event_store.events_between(
                    conn,
                    after_seq=after,
                    upto_seq=upto,
                    tenant=self.tenant,
                    job_id=self.job_id,
                    types=types,
                    limit=PAGE,
                )
            return [LiveEvent.from_row(r) for r in rows]

        # Streams that ask for the same range below the high-water mark share one read
        # (a thousand watchers of one job open together: events/backlog.py).
        key = None if upto is None else (self.tenant, self.job_id, after, upto, self.detail)
        events = await self._hub.backlog.read(key, load)
        if self._backlog is _EMPTY:
            self._backlog = deque()
        self._backlog.extend(events)
        if len(events) < PAGE:
            self._backlog_done = True
