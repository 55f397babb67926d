"""The storage health monitor: the database and the blob store probed every few seconds.

Each round writes, reads back and deletes a probe (a row in ``storage_probes``; a file in the
local blob store's staging directory, or a HEAD of the S3 bucket) and keeps, per store, the
latest latency, the average of the last 3, the last 60 samples and a healthy flag. A store is
unhealthy when its probe fails or its average passes ``slow_ms``. Each change is an event:
``storage.degraded`` / ``storage.recovered``, logged for every tenant that has a webhook (and
``default``), so webhooks and event streams hear of it. An event about the database that cannot
be written while it is down is written once it answers again.

``/ready`` and ``GET /api/v1/metrics/storage`` read :meth:`StorageMonitor.snapshot` instead of
probing on each call; the live metrics feed reads it too (``app.state.storage_monitor``, or
``runtime.storage_monitor``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ingestd.blobs.base import BlobStore, run_blob_io
from ingestd.config_parts import StorageSettings
from ingestd.domain.events import EventType
from ingestd.lifecycle import PeriodicService
from ingestd.observe.metrics import STORAGE_PROBE_SECONDS
from ingestd.store import probe as probe_store
from ingestd.store.db import Database
from ingestd.store.events import append_event

log = logging.getLogger("ingestd.storage")

HISTORY = 60  # samples kept per store
AVERAGE_OF = 3  # samples in the running average
DEFAULT_TENANT = "default"
STORES = ("database", "blobs")


@dataclass(slots=True)
class StoreHealth:
    """What the monitor knows of one store."""

    name: str
    healthy: bool | None = None  # None until the first probe
    probe_ok: bool = False  # the last probe worked (slow or not): what /ready reports
    latency_ms: float | None = None
    error: str | None = None
    last_check: float | None = None  # seconds since the epoch
    check_count: int = 0
    unhealthy_since: float | None = None
    history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def average_latency_ms(self) -> float | None:
        recent = list(self.history)[-AVERAGE_OF:]
        return round(sum(recent) / len(recent), 3) if recent else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "latency_ms": self.latency_ms,
            "average_latency_ms": self.average_latency_ms,
            "history_ms": list(self.history),
            "last_check": self.last_check,
            "check_count": self.check_count,
            "error": self.error,
            "probe_ok": self.probe_ok,
        }


class StorageMonitor(PeriodicService):
    name = "storage-monitor"
    logger = log

    def __init__(self, settings: StorageSettings, db: Database, blobs: BlobStore) -> None:
        super().__init__()
        self.every = settings.check_seconds
        self.slow_ms = settings.slow_ms
        self.db = db
        self.blobs = blobs
        self.stores = {name: StoreHealth(name) for name in STORES}
        self._unwritten: list[tuple[EventType, dict[str, Any]]] = []  # events the db refused

    def snapshot(self) -> dict[str, Any]:
        """Per store: ``healthy``, ``latency_ms``, ``average_latency_ms`` (last 3),
        ``history_ms`` (last 60), ``last_check``, ``check_count``, ``error``."""
        return {name: health.as_dict() for name, health in self.stores.items()}

    @property
    def healthy(self) -> bool:
        return all(h.healthy for h in self.stores.values())

    async def setup(self) -> None:
        await self.tick()  # /ready answers from the first request on

    def first_delay(self) -> float:
        return self.every

    async def tick(self) -> None:
        now = time.time()
        db_error = await self._probe("database", self._probe_database)
        blob_error = await self._probe("blobs", self._probe_blobs)
        for name, error in (("database", db_error), ("blobs", blob_error)):
            self._judge(self.stores[name], error, now)
        await self._write_events()

    async def _probe(self, name: str, probe: Any) -> str | None:
        """Run one probe, record its latency; the error's text, or None."""
        health = self.stores[name]
        started = time.perf_counter()
        error: str | None = None
        try:
            await probe()
        except Exception as exc:  # any failure of the store is what is measured here
            error = _describe(exc)
        elapsed = time.perf_counter() - started
        STORAGE_PROBE_SECONDS.labels(name, "error" if error else "ok").observe(elapsed)
        health.latency_ms = round(elapsed * 1000, 3)
        health.history.append(health.latency_ms)
        health.last_check = time.time()
        health.check_count += 1
        return error

    async def _probe_database(self) -> None:
        async with self.db.write() as conn:
            await probe_store.write_read_delete(conn, now=time.time())

    async def _probe_blobs(self) -> None:
        await run_blob_io(self.blobs, self.blobs.check)  # write/read/delete, or HEAD (S3)

    def _judge(self, health: StoreHealth, error: str | None, now: float) -> None:
        average = health.average_latency_ms or 0.0
        slow = average > self.slow_ms
        healthy = error is None and not slow
        health.error = error or (
            f"average latency {average:.0f} ms is over {self.slow_ms:.0f} ms" if slow else None
        )
        was = health.healthy
        health.probe_ok = error is None
        health.healthy = healthy
        if healthy and was is False:
            down_for = now - (health.unhealthy_since or now)
            health.unhealthy_since = None
            log.warning("%s recovered (%.0f ms)", health.name, health.latency_ms or 0)
            self._unwritten.append(
                (
                    EventType.STORAGE_RECOVERED,
                    {
                        "store": health.name,
                        "latency_ms": health.latency_ms,
                        "degraded_seconds": round(down_for, 3),
                    },
                )
            )
        elif not healthy and was is not False:
            health.unhealthy_since = now
            log.warning("%s degraded: %s", health.name, health.error)
            self._unwritten.append(
                (
                    EventType.STORAGE_DEGRADED,
                    {
                        "store": health.name,
                        "reason": "error" if error else "slow",
                        "error": health.error,
                        "latency_ms": health.latency_ms,
                        "average_latency_ms": health.average_latency_ms,
                    },
                )
            )

    async def _write_events(self) -> None:
        if not self._unwritten:
            return
        try:
            async with self.db.write() as conn:
                tenants = await probe_store.tenants_with_webhooks(conn)
                for type_, data in self._unwritten:
                    for tenant in sorted({DEFAULT_TENANT, *tenants}):
                        await append_event(conn, tenant=tenant, type=type_, data=data)
        except Exception as exc:  # the database is down: written at a later round
            log.warning("storage events wait for the database: %s", _describe(exc), exc_info=True)
            return
        self._unwritten.clear()


def _describe(exc: BaseException) -> str:
    """A short reason for operators (no stack, no connection string)."""
    strerror = getattr(exc, "strerror", None)
    if isinstance(strerror, str) and strerror:
        return f"{type(exc).__name__}: {strerror}"
    detail = getattr(exc, "detail", None)
    if isinstance(detail, str) and detail:
        return detail
    return type(exc).__name__
