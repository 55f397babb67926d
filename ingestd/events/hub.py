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
from collections import deque
from typing import Protocol, TypeVar

from ingestd.events.envelope import LiveEvent
from ingestd.observe.metrics import EVENTS_SENT, SUBSCRIBERS_DROPPED


class Lagged(Exception):
    """The subscription's buffer overflowed: the consumer must reconnect and resume."""


class Sink(Protocol):
    def deliver(self, event: LiveEvent) -> bool:
        """Take ``event`` now, in order; False to have it buffered (and the consumer woken)."""
        ...


class Subscription:
    """One consumer's bounded buffer. Kept small (it exists per open connection): no
    ``asyncio.Event`` (each holds a deque), the buffer made on the first event, and at most one
    waiter future and sink, only while the consumer waits."""

    __slots__ = ("_items", "_limit", "_sink", "_waiter", "job_id", "lagged", "tenant")

    def __init__(self, tenant: str | None, job_id: str | None, limit: int) -> None:
        self.tenant = tenant  # None: every tenant (admin keys)
        self.job_id = job_id
        self.lagged = False
        self._limit = limit
        self._items: deque[LiveEvent] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sink: Sink | None = None

    def offer(self, event: LiveEvent) -> bool:
        """Hand one event to the waiting sink, else buffer it; False (and lagged) when the
        buffer is full."""
        items = self._items
        # Only with nothing buffered: a sink must not overtake events still in the buffer.
        sink = self._sink
        if sink is not None and not items and not self.lagged and sink.deliver(event):
            return True
        if items is None:
            items = self._items = deque()
        if len(items) >= self._limit:
            self.lagged = True
            items.clear()
            self._wake()
            return False
        items.append(event)
        self._wake()
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


class Feed(Protocol):
    """Where committed events come from (the adapter side of the port).

    ``high_water``: every event with ``seq <= high_water`` has been published to the hub, so a
    subscriber reads its backlog from the log up to there and takes the rest live.
    """

    high_water: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Hub:
    """Routes published events to subscriptions by job (per-job streams) or tenant (all jobs)."""

    def __init__(self, *, queue_size: int) -> None:
        self.queue_size = queue_size
        self._by_job: dict[str, set[Subscription]] = {}
        self._by_tenant: dict[str | None, set[Subscription]] = {}
        self._taps: set[Subscription] = set()  # in-process consumers (webhooks), not clients

    def subscribe(self, tenant: str | None, job_id: str | None = None) -> Subscription:
        sub = Subscription(tenant, job_id, self.queue_size)
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
        groups = [self._by_tenant.get(event.tenant), self._by_tenant.get(None)]
        if event.job_id is not None:
            groups.append(self._by_job.get(event.job_id))
        sent = dropped = 0
        for group in groups:
            if not group:
                continue
            for sub in tuple(group):
                if sub.offer(event):
                    sent += 1
                else:
                    dropped += 1
                    self.unsubscribe(sub)
        if sent:  # one increment per event, however many subscribers (observe/metrics.py)
            EVENTS_SENT.labels("live").inc(sent)
        if dropped:
            SUBSCRIBERS_DROPPED.labels("lagged").inc(dropped)

    def close_all(self) -> None:
        for index in (self._by_job, self._by_tenant):
            for group in index.values():
                for sub in group:
                    sub.close()
            index.clear()
        self._taps.clear()


K = TypeVar("K")


def _discard(index: dict[K, set[Subscription]], key: K, sub: Subscription) -> None:
    subs = index.get(key)
    if subs is not None:
        subs.discard(sub)
        if not subs:
            with contextlib.suppress(KeyError):
                del index[key]
