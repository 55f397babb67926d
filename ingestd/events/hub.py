"""The fan-out port: subscriptions with bounded buffers, fed events in seq order by a Feed.

Publishing never awaits a consumer: each subscription has its own bounded buffer, so a stalled
client cannot delay the others; one that falls too far behind is marked *lagged* and dropped,
and resumes from the last seq it got.

A consumer waiting for its next live event may hand the subscription a :class:`Sink`, which
then takes events as they are published, in the publisher's loop pass (a WebSocket writes the
pre-framed event to its socket): no wake-up of the consumer's task per event. Whatever the sink
declines (a full socket buffer, an event that ends the stream) goes to the buffer as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from ingestd.events.backlog import BacklogReads
from ingestd.events.envelope import LiveEvent, batch_text, text_frame
from ingestd.events.pending import PendingEvents
from ingestd.observe.metrics import EVENTS_SENT, SUBSCRIBERS_DROPPED


class Lagged(Exception):
    """The subscription's buffer overflowed: the consumer must reconnect and resume."""


class Batch:
    """Events published together, for every subscription of one group and detail: a batched
    frame (a JSON array) is then built once for all of them, not once per subscriber."""

    __slots__ = ("_frame", "events")

    def __init__(self, events: list[LiveEvent]) -> None:
        self.events = events
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(batch_text(self.events).encode())
        return self._frame


class Sink(Protocol):
    def deliver(self, event: LiveEvent) -> bool:
        """Take ``event`` now, in order; False to have it buffered (and the consumer woken)."""
        ...

    def deliver_batch(self, batch: Batch) -> bool:
        """Take all of ``batch`` now as one frame; False (taking none) to have them buffered."""
        ...


FULL = "full"
SUMMARY = "summary"
BACKLOG_READERS = 2


class Subscription:
    """One consumer's bounded buffer. Kept small (it exists per open connection): no
    ``asyncio.Event`` (each holds a deque), the buffer made on the first event, and at most one
    waiter future and sink, only while the consumer waits.

    ``detail``: ``full`` (every event) or ``summary`` (SUMMARY_EVENTS, job progress coalesced).
    ``batch``: its consumer takes several events per frame (a sink gets whole batches)."""

    __slots__ = (
        "_items",
        "_limit",
        "_sink",
        "_waiter",
        "batch",
        "detail",
        "job_id",
        "lagged",
        "tenant",
    )

    def __init__(
        self,
        tenant: str | None,
        job_id: str | None,
        limit: int,
        *,
        detail: str = FULL,
        batch: bool = False,
    ) -> None:
        self.tenant = tenant  # None: every tenant (admin keys)
        self.job_id = job_id
        self.detail = detail
        self.batch = batch
        self.lagged = False
        self._limit = limit
        self._items: PendingEvents | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sink: Sink | None = None

    @property
    def collapsed(self) -> int:
        """How many superseded progress events were dropped while this consumer was behind."""
        return self._items.collapsed if self._items is not None else 0

    def offer(self, event: LiveEvent) -> bool:
        """Hand one event to the waiting sink, else buffer it; False (and lagged) when the
        buffer is full."""
        items = self._items
        # Only with nothing buffered: a sink must not overtake events still in the buffer.
        sink = self._sink
        if sink is not None and not items and not self.lagged and sink.deliver(event):
            return True
        if not self._buffer(event):
            return False
        self._wake()
        return True

    def offer_batch(self, batch: Batch) -> bool:
        """Hand ``batch`` to the waiting sink (whole, when this consumer batches), else
        buffer what it did not take; False (and lagged) when the buffer is full."""
        events = batch.events
        sink = self._sink
        if sink is not None and not self._items and not self.lagged:
            if self.batch:
                if sink.deliver_batch(batch):
                    return True
            else:
                taken = 0
                for event in events:
                    if not sink.deliver(event):
                        break
                    taken += 1
                events = events[taken:]
                if not events:
                    return True
        for event in events:
            if not self._buffer(event):
                return False
        self._wake()
        return True

    def _buffer(self, event: LiveEvent) -> bool:
        items = self._items
        if items is None:
            items = self._items = PendingEvents()
        if len(items) >= self._limit:
            self.lagged = True
            items.clear()
            self._wake()
            return False
        items.append(event)
        return True

    def close(self) -> None:
        """Wake a waiting consumer so it notices the hub stopped (or its client left)."""
        self.lagged = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(
        self, wait_seconds: float | None = None, sink: Sink | None = None
    ) -> LiveEvent | None:
        """The next event; None when ``wait_seconds`` pass first. Raises :class:`Lagged`.

        ``sink`` takes the events published while this waits, until it declines one, which
        this then returns."""
        while not self._items:
            if self.lagged:
                raise Lagged
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            self._sink = sink
            try:
                if wait_seconds is None:
                    await waiter
                    continue
                try:
                    async with asyncio.timeout(wait_seconds):  # not wait_for: see events/tail.py
                        await waiter
                except TimeoutError:
                    return None
            finally:
                self._waiter = None
                self._sink = None
        return self._items.popleft()

    def ready(self, limit: int) -> list[LiveEvent]:
        """What is buffered now, up to ``limit``, without waiting (the rest of a batch)."""
        if not self._items:
            return []
        return self._items.take(limit)


class Feed(Protocol):
    """Where committed events come from (the adapter side of the port).

    ``high_water``: every event with ``seq <= high_water`` has been published to the hub, so a
    subscriber reads its backlog from the log up to there and takes the rest live.
    """

    high_water: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SummaryGate:
    """Job progress for summary subscriptions, at most one report per job per ``seconds``.

    Job state changes and file failures always pass. A progress report (``job.updated`` with
    ``progress``) that comes sooner than ``seconds`` after the job's last one is held; a newer
    report replaces it, and it is released when its time comes, or before any other summary
    event (so summary streams stay in seq order)."""

    def __init__(self, seconds: float, release: Callable[[list[LiveEvent]], None]) -> None:
        self.seconds = seconds
        self._release = release
        self._last: dict[str, float] = {}  # job id → when its last report passed
        self._held: dict[str, LiveEvent] = {}
        self._timer: asyncio.TimerHandle | None = None

    def admit(self, events: Iterable[LiveEvent]) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        now = time.monotonic()
        for event in events:
            if not event.summary:
                continue
            job_id = event.job_id or ""
            if event.progress_only:
                if now - self._last.get(job_id, float("-inf")) < self.seconds:
                    self._held[job_id] = event
                    self._arm()
                    continue
                self._last[job_id] = now
            if self._held:
                out.extend(self._take_held(now))
            out.append(event)
        if len(self._last) > 1000:  # forget jobs not reported for a while
            self._last = {j: t for j, t in self._last.items() if now - t < 10 * self.seconds}
        return out

    def _take_held(self, now: float) -> list[LiveEvent]:
        held = sorted(self._held.values(), key=lambda e: e.seq)
        self._held.clear()
        for event in held:
            self._last[event.job_id or ""] = now
        return held

    def _arm(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.seconds, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._held:
            self._release(self._take_held(time.monotonic()))

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._held.clear()


class Hub:
    """Routes published events to subscriptions by job (per-job streams) or tenant (all jobs)."""

    def __init__(
        self, *, queue_size: int, summary_seconds: float = 0.25, batch_seconds: float = 0.05
    ) -> None:
        self.queue_size = queue_size
        # Batching subscribers get what was published over this window in one frame (0: at
        # once); the others get each event as it is published.
        self.batch_seconds = batch_seconds
        self._later: tuple[list[LiveEvent], list[LiveEvent]] = ([], [])
        self._later_timer: asyncio.TimerHandle | None = None
        self._batching: set[Subscription] = set()
        # Streams reading their backlog from the log at once, at most: the rest wait their turn
        # here, not in the database's pool, so a thousand subscribers resuming together never
        # take every reader from the tail that feeds everyone (SQLite has four); the same
        # range asked by many streams is read once (backlog.py).
        self.backlog = BacklogReads(BACKLOG_READERS)
        self._by_job: dict[str, set[Subscription]] = {}
        self._by_tenant: dict[str | None, set[Subscription]] = {}
        self._taps: set[Subscription] = set()  # in-process consumers (webhooks), not clients
        self.summary_gate = SummaryGate(summary_seconds, self._publish_summary)

    def subscribe(
        self,
        tenant: str | None,
        job_id: str | None = None,
        *,
        detail: str = FULL,
        batch: bool = False,
    ) -> Subscription:
        sub = Subscription(tenant, job_id, self.queue_size, detail=detail, batch=batch)
        if batch:
            self._batching.add(sub)
        if job_id is not None:
            self._by_job.setdefault(job_id, set()).add(sub)
        else:
            self._by_tenant.setdefault(tenant, set()).add(sub)
        return sub

    def tap(self, *, limit: int) -> Subscription:
        """Every tenant's events, for an in-process consumer; not counted in ``subscribers``."""
        sub = Subscription(None, None, limit)
        self._by_tenant.setdefault(None, set()).add(sub)
        self._taps.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._taps.discard(sub)
        self._batching.discard(sub)
        if sub.job_id is not None:
            _discard(self._by_job, sub.job_id, sub)
        else:
            _discard(self._by_tenant, sub.tenant, sub)

    @property
    def subscribers(self) -> int:
        return (
            sum(len(s) for s in self._by_job.values())
            + sum(len(s) for s in self._by_tenant.values())
            - len(self._taps)
        )

    def publish(self, event: LiveEvent) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[LiveEvent]) -> None:
        """Events read together from the log, in seq order: each subscription gets its share
        in one call (one frame, for a subscriber that batches)."""
        if events:
            self._split(events, self.summary_gate.admit(events))

    def _publish_summary(self, events: list[LiveEvent]) -> None:
        self._split([], events)

    def _split(self, full: list[LiveEvent], summary: list[LiveEvent]) -> None:
        """Non-batching subscribers now; batching ones at the end of the batch window."""
        if self.batch_seconds <= 0 or not self._batching:
            self._route(full, summary, None)
            return
        self._route(full, summary, False)
        self._later[0].extend(full)
        self._later[1].extend(summary)
        if self._later_timer is None:
            loop = asyncio.get_running_loop()
            self._later_timer = loop.call_later(self.batch_seconds, self._flush_batches)

    def _flush_batches(self) -> None:
        self._later_timer = None
        full, summary = self._later
        self._later = ([], [])
        self._route(full, summary, True)

    def _route(self, full: list[LiveEvent], summary: list[LiveEvent], batch: bool | None) -> None:
        """Hand each subscription its share (``batch``: only those that batch, or that do
        not; None: all)."""
        sent = dropped = 0
        for group, shares in self._shares(full, summary):
            batches: dict[str, Batch] = {}
            for detail, events in shares.items():
                if events:
                    batches[detail] = Batch(events)
            if not batches:
                continue
            for sub in tuple(group):
                if batch is not None and sub.batch is not batch:
                    continue
                share = batches.get(sub.detail)
                if share is None:
                    continue
                if sub.offer_batch(share):
                    sent += len(share.events)
                else:
                    dropped += 1
                    self.unsubscribe(sub)
        if sent:  # one increment per call, however many subscribers (observe/metrics.py)
            EVENTS_SENT.labels("live").inc(sent)
        if dropped:
            SUBSCRIBERS_DROPPED.labels("lagged").inc(dropped)

    def _shares(
        self, full: list[LiveEvent], summary: list[LiveEvent]
    ) -> list[tuple[set[Subscription], dict[str, list[LiveEvent]]]]:
        """Each subscription group with the events it gets, by detail."""
        keyed: dict[tuple[str, str | None], dict[str, list[LiveEvent]]] = {}
        for detail, events in ((FULL, full), (SUMMARY, summary)):
            for event in events:
                keys: list[tuple[str, str | None]] = [("t", event.tenant), ("t", None)]
                if event.job_id is not None:
                    keys.append(("j", event.job_id))
                for key in keys:
                    keyed.setdefault(key, {FULL: [], SUMMARY: []})[detail].append(event)
        out: list[tuple[set[Subscription], dict[str, list[LiveEvent]]]] = []
        for (kind, name), shares in keyed.items():
            group = self._by_job.get(name or "") if kind == "j" else self._by_tenant.get(name)
            if group:
                out.append((group, shares))
        return out

    def close_all(self) -> None:
        self.summary_gate.close()
        if self._later_timer is not None:
            self._later_timer.cancel()
            self._later_timer = None
        self._later = ([], [])
        for index in (self._by_job, self._by_tenant):
            for group in index.values():
                for sub in group:
                    sub.close()
            index.clear()
        self._taps.clear()
        self._batching.clear()


K = TypeVar("K")


def _discard(index: dict[K, set[Subscription]], key: K, sub: Subscription) -> None:
    subs = index.get(key)
    if subs is not None:
        subs.discard(sub)
        if not subs:
            with contextlib.suppress(KeyError):
                del index[key]
