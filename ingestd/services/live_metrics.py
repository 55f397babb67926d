"""The live metrics feed (``/api/v1/metrics/live``): throughput, queue depth, workers and storage
health, computed once a second for every subscriber together and fanned out to them.

Each second (only while someone listens) three small queries read what every tenant needs at
once: files finished per tenant and second from the event log's time index (the last 3 seconds
again each time, for transactions that committed late), queued and running files per tenant from
the per-source counters, and the workers heard from lately. Storage health comes from a
:class:`~ingestd.domain.health.StorageHealthSource` (the storage monitor; ``unknown`` without
one). Every scope that has subscribers (all tenants for admins, or one tenant) gets its update
serialised once; each subscriber then sends that same text. A subscriber that is slow to send
skips to the newest update instead of queueing old ones, so it costs nothing to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson

from ingestd.config_parts import QueueSettings
from ingestd.domain.errors import Unavailable
from ingestd.domain.health import StorageHealthSource, UnknownStorageHealth
from ingestd.domain.times import rfc3339
from ingestd.lifecycle import BackgroundService
from ingestd.queue import registry
from ingestd.store import live as live_store
from ingestd.store.db import Database

log = logging.getLogger("ingestd.live_metrics")

EVERY = 1.0  # seconds between updates
WINDOWS = {"10s": 10, "1m": 60}  # throughput windows, in seconds
KEPT = max(WINDOWS.values())
REREAD = 3  # seconds read again each tick: a file's event may commit after its ``at``
FIRST_WAIT = 10.0  # seconds a new subscriber waits for the first reading before a 503

Scope = str | None  # a tenant, or None for every tenant (admins)


class Throughput:
    """Files and bytes finished per second and tenant, over the last minute."""

    def __init__(self) -> None:
        self.seconds: dict[int, dict[str, tuple[int, int]]] = {}
        self.read_until: int | None = None  # the first second not read yet

    def since(self, now: float) -> float:
        """Where the next read starts: the whole window at first, then the last few seconds."""
        if self.read_until is None:
            return float(int(now) - KEPT)
        return float(max(self.read_until - REREAD, int(now) - KEPT))

    def replace(self, start: float, rows: list[tuple[str, int, int, int]], now: float) -> None:
        """What the read from ``start`` found replaces what was known from there."""
        first = int(start)
        for second in [s for s in self.seconds if s >= first or s <= int(now) - KEPT]:
            del self.seconds[second]
        for tenant, second, files, size in rows:
            self.seconds.setdefault(second, {})[tenant] = (files, size)
        self.read_until = int(now)

    def rates(self, scope: Scope, now: float) -> dict[str, dict[str, float]]:
        current = int(now)
        out: dict[str, dict[str, float]] = {}
        for name, span in WINDOWS.items():
            files = size = 0
            for second, tenants in self.seconds.items():
                if second > current - span:
                    for tenant, (n, b) in tenants.items():
                        if scope is None or tenant == scope:
                            files += n
                            size += b
            out[name] = {
                "files_per_s": round(files / span, 3),
                "bytes_per_s": round(size / span, 1),
            }
        return out


class Channel:
    """One scope's latest update, and the subscribers waiting for the next."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.subscribers = 0
        self.body: dict[str, Any] | None = None
        self.update_text = ""
        self._published = asyncio.Event()

    def publish(self, body: dict[str, Any]) -> None:
        self.body = body
        self.update_text = orjson.dumps({"type": "metrics.update", **body}).decode()
        published, self._published = self._published, asyncio.Event()
        published.set()  # everyone waiting wakes; the next wait is for the next update

    async def next_update(self) -> str:
        await self._published.wait()
        return self.update_text


class Subscription:
    """A subscriber's view: the full snapshot first, then each update as it is published."""

    def __init__(self, feed: LiveMetrics, channel: Channel) -> None:
        self._feed = feed
        self.channel = channel
        self.closed = False

    async def snapshot(self) -> str:
        """The first message: everything known, storage history included."""
        if self.channel.body is None:
            try:
                async with asyncio.timeout(FIRST_WAIT):
                    await self.channel.next_update()
            except TimeoutError:
                raise Unavailable(
                    "the live metrics could not be read in time (is the database reachable?)"
                ) from None
        body = self.channel.body
        assert body is not None
        storage = self._feed.health.snapshot()
        return orjson.dumps(
            {"type": "metrics", **body, "storage": _storage(storage, True)}
        ).decode()

    async def next(self) -> str:
        return await self.channel.next_update()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._feed._leave(self.channel)


def _storage(snapshot: Mapping[str, Mapping[str, Any]], history: bool) -> dict[str, Any]:
    """Per store what the feed carries; the 60-sample history only in the first message."""
    out: dict[str, Any] = {}
    for store, values in snapshot.items():
        item = {k: v for k, v in values.items() if history or k != "history_ms"}
        if "status" not in item:
            healthy = item.get("healthy")
            item["status"] = (
                "unknown" if healthy is None else ("healthy" if healthy else "degraded")
            )
        if isinstance(item.get("last_check"), int | float):
            item["last_check"] = rfc3339(float(item["last_check"]))
        out[store] = item
    return out


class LiveMetrics(BackgroundService):
    name = "live-metrics"
    logger = log

    def __init__(
        self,
        db: Database,
        queue: QueueSettings,
        health: StorageHealthSource | None = None,
        *,
        every: float = EVERY,
    ) -> None:
        super().__init__()
        self.db = db
        self.queue = queue
        self.health: StorageHealthSource = health or UnknownStorageHealth()
        self.every = every
        self.throughput = Throughput()
        self.channels: dict[Scope, Channel] = {}
        self.ticks = 0  # computations made (tests and the bench read it)
        self._wanted = asyncio.Event()

    def subscribe(self, scope: Scope) -> Subscription:
        channel = self.channels.get(scope)
        if channel is None:
            channel = self.channels[scope] = Channel(scope)
            self._wanted.set()  # a new scope: compute at once, not at the next second
        channel.subscribers += 1
        return Subscription(self, channel)

    @property
    def subscribers(self) -> int:
        return sum(c.subscribers for c in self.channels.values())

    def _leave(self, channel: Channel) -> None:
        channel.subscribers -= 1
        if channel.subscribers <= 0 and self.channels.get(channel.scope) is channel:
            del self.channels[channel.scope]

    async def run(self) -> None:
        while not self.stopping.is_set():
            if not self.channels:  # nobody listens: no queries at all
                self.throughput = Throughput()  # a later subscriber starts from a full read
                await self._wait_for_subscribers()
                continue
            self._wanted.clear()
            began = time.monotonic()
            try:
                await self.tick()
            except Exception:
                log.exception(
                    "the live metrics could not be read; trying again in %.0f s", self.every
                )
            await self._wait_for_next(self.every - (time.monotonic() - began))

    async def _wait_for_subscribers(self) -> None:
        self._wanted.clear()
        waiting = asyncio.ensure_future(self._wanted.wait())
        stopping = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopping):
                task.cancel()
            await asyncio.gather(waiting, stopping, return_exceptions=True)

    async def _wait_for_next(self, seconds: float) -> None:
        """Until the next second, or sooner when a new scope is subscribed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self._wanted.wait()

    async def tick(self) -> None:
        """Read once for everyone, then publish to every subscribed scope."""
        now = time.time()
        since = self.throughput.since(now)
        gone_before = now - registry.gone_after(
            heartbeat_seconds=self.queue.heartbeat_seconds, lease_seconds=self.queue.lease_seconds
        )
        async with self.db.read() as conn:
            rows = await live_store.finished_per_second(conn, since)
            queues = await live_store.queue_by_tenant(conn)
            workers = await live_store.worker_load(conn, gone_before)
        self.throughput.replace(since, rows, now)
        storage = _storage(self.health.snapshot(), False)
        totals: dict[str, int] = defaultdict(int)
        for queued, running in queues.values():
            totals["queued"] += queued
            totals["running"] += running
        self.ticks += 1
        for scope, channel in list(self.channels.items()):
            queued, running = (
                (totals["queued"], totals["running"])
                if scope is None
                else (queues.get(scope, (0, 0)))
            )
            channel.publish(
                {
                    "at": rfc3339(now),
                    "throughput": self.throughput.rates(scope, now),
                    "queue": {"queued": queued, "running": running},
                    "workers": workers,
                    "storage": storage,
                }
            )
