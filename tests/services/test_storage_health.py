"""services/storage_health.py: probes, running average, history, degraded/recovered events,
and what /ready and GET /api/v1/metrics/storage read from it."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.events import EventType
from ingestd.services.storage_health import HISTORY, StorageMonitor
from ingestd.store import events as event_store
from ingestd.store import webhooks as webhook_store
from ingestd.store.db import Database
from tests.conftest import App


class FlakyBlobs(LocalBlobStore):
    """A real local store whose probe can be made to fail (a full or read-only disk)."""

    broken = False

    def check(self) -> None:
        if self.broken:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().check()


async def _events(db: Database, tenant: str) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await event_store.list_events(conn, tenant=tenant)
    return [r for r in rows if str(r["type"]).startswith("storage.")]


async def _monitor(db: Database, tmp_path: Path, settings: Settings) -> StorageMonitor:
    return StorageMonitor(settings.storage, db, FlakyBlobs(tmp_path / "blobs"))


async def test_each_round_probes_both_stores_and_keeps_history_and_average(
    db: Database, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    monitor = await _monitor(db, tmp_path, make_settings())
    for _ in range(HISTORY + 5):
        await monitor.tick()
    snapshot = monitor.snapshot()
    assert set(snapshot) == {"database", "blobs"}
    for view in snapshot.values():
        assert view["healthy"] is True and view["error"] is None
        assert view["check_count"] == HISTORY + 5
        assert len(view["history_ms"]) == HISTORY  # the last 60 only
        last3 = view["history_ms"][-3:]
        assert view["average_latency_ms"] == round(sum(last3) / 3, 3)
        assert view["latency_ms"] == view["history_ms"][-1]
        assert view["last_check"] is not None
    assert await _events(db, "default") == []  # healthy from the start: nothing to announce
    async with db.read() as conn:  # the probe rows are deleted again
        assert (await conn.exec_driver_sql("SELECT count(*) FROM storage_probes")).scalar() == 0


async def test_a_failing_store_is_degraded_then_recovered_with_one_event_each(
    db: Database, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    monitor = await _monitor(db, tmp_path, make_settings())
    async with db.write() as conn:  # a tenant with a webhook hears of it too
        await webhook_store.create_webhook(
            conn,
            tenant="acme",
            url="https://example.org/h",
            events=["storage.degraded"],
            secret="whsec_" + "a" * 32,
        )
    blobs = monitor.blobs
    assert isinstance(blobs, FlakyBlobs)
    await monitor.tick()
    blobs.broken = True
    await monitor.tick()
    await monitor.tick()  # still down: no second event
    view = monitor.snapshot()["blobs"]
    assert view["healthy"] is False and "No space left" in view["error"]
    assert monitor.snapshot()["database"]["healthy"] is True
    blobs.broken = False
    await monitor.tick()
    assert monitor.snapshot()["blobs"]["healthy"] is True
    for tenant in ("default", "acme"):
        events = await _events(db, tenant)
        assert [e["type"] for e in events] == [
            EventType.STORAGE_DEGRADED,
            EventType.STORAGE_RECOVERED,
        ]
        assert events[0]["data"]["store"] == "blobs" and events[0]["data"]["reason"] == "error"
        assert events[1]["data"]["degraded_seconds"] >= 0


async def test_a_slow_store_is_degraded_by_its_running_average(
    db: Database, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    monitor = await _monitor(db, tmp_path, make_settings(storage_slow_ms=0.000001))
    await monitor.tick()
    snapshot = monitor.snapshot()
    assert snapshot["database"]["healthy"] is False
    assert snapshot["database"]["probe_ok"] is True  # slow, not down: /ready stays ok
    events = await _events(db, "default")
    assert {e["data"]["reason"] for e in events} == {"slow"}


async def test_ready_and_the_storage_endpoint_read_the_monitor(sqlite_app: App) -> None:
    app = sqlite_app
    monitor = app.runtime.storage_monitor
    assert monitor is not None and monitor.running
    response = await app.client.get("/api/v1/metrics/storage")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"database", "blobs"}
    assert set(body["database"]) >= {
        "healthy",
        "latency_ms",
        "average_latency_ms",
        "history_ms",
        "last_check",
        "check_count",
    }
    assert body["database"]["check_count"] >= 1  # probed at start: /ready answers at once
    assert (
        await app.client.get("/api/v1/metrics/storage", headers={"Authorization": ""})
    ).status_code == 401

    seen = monitor.snapshot()["database"]["check_count"]
    ready = await app.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"]["ok"]
    assert monitor.snapshot()["database"]["check_count"] == seen  # no probe per call

    monitor.stores["blobs"].probe_ok = False  # as the next probe would find a dead store
    ready = await app.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["blobs"]["error"] == "blob store unavailable"


async def test_webhooks_may_subscribe_to_storage_events(sqlite_app: App) -> None:
    response = await sqlite_app.client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://example.org/hook",
            "events": ["storage.degraded", "storage.recovered"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["events"] == ["storage.degraded", "storage.recovered"]
