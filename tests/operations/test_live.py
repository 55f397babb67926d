"""The live metrics feed (issue #18, item 3): a snapshot on connect, an update every second,
computed once for all subscribers; WebSocket and SSE through a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ingestd.services.live_metrics import LiveMetrics, Throughput
from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback
from tests.operations.test_api import run_job, write_mixed


def feed_of(app: App) -> LiveMetrics:
    feed = app.runtime.live_metrics
    assert feed is not None
    return feed


async def test_a_websocket_gets_a_snapshot_then_updates(app: App, docs: Path) -> None:
    write_mixed(docs)
    await run_job(app)
    async with serve_on_loopback(app.asgi) as port:
        url = f"ws://127.0.0.1:{port}/api/v1/metrics/live?token={ADMIN_KEY}"
        async with connect(url) as socket:
            first = orjson.loads(await socket.recv())
            assert first["type"] == "metrics"
            assert set(first) >= {"at", "throughput", "queue", "workers", "storage"}
            # The job's five files finished within the last minute.
            assert first["throughput"]["1m"]["files_per_s"] == round(5 / 60, 3)
            assert first["throughput"]["1m"]["bytes_per_s"] > 0
            assert set(first["throughput"]) == {"10s", "1m"}
            assert first["queue"] == {"queued": 0, "running": 0}
            assert first["workers"]["active"] >= 1
            # the storage monitor probed once as the service started (services/storage_health.py)
            assert first["storage"]["database"]["status"] == "healthy"
            assert "history_ms" in first["storage"]["database"]
            update = orjson.loads(await socket.recv())
            assert update["type"] == "metrics.update" and update["at"] >= first["at"]
            assert "history_ms" not in update["storage"]["database"]
            await socket.send('{"type": "ping"}')
            replies = [orjson.loads(await socket.recv()) for _ in range(2)]
            assert {"type": "pong"} in replies
        refused = f"ws://127.0.0.1:{port}/api/v1/metrics/live?token=ik_wrong"
        async with connect(refused) as socket:
            try:
                await socket.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4401
            else:
                raise AssertionError("a bad key was let in")


async def test_sse_and_json_carry_the_same_messages(app: App) -> None:
    async with serve_on_loopback(app.asgi) as port:
        base = f"http://127.0.0.1:{port}/api/v1/metrics/live"
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            once = await http.get(base)
            assert once.status_code == 200 and once.json()["type"] == "metrics"
            events: list[tuple[str, dict[str, Any]]] = []
            stream_headers = {"Accept": "text/event-stream"}
            async with http.stream("GET", base, headers=stream_headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                name = ""
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        events.append((name, orjson.loads(line[6:])))
                        if len(events) == 2:
                            break
            assert [e[0] for e in events] == ["metrics", "metrics.update"]
            assert events[1][1]["type"] == "metrics.update"
        async with httpx.AsyncClient(timeout=10) as anonymous:
            assert (await anonymous.get(base)).status_code == 401


async def test_one_computation_a_second_serves_every_subscriber(app: App) -> None:
    feed = feed_of(app)
    many = [feed.subscribe(None) for _ in range(50)]
    others = [feed.subscribe("acme") for _ in range(50)]
    try:
        await asyncio.gather(*(s.snapshot() for s in many + others))
        before = feed.ticks
        texts = await asyncio.gather(*(s.next() for s in many))
        after = feed.ticks
        assert len(set(texts)) == 1, "every subscriber of a scope gets the same update"
        assert after - before == 1, "one read for everyone"
        assert feed.subscribers == 100 and set(feed.channels) == {None, "acme"}
    finally:
        for subscription in many + others:
            subscription.close()
    assert feed.subscribers == 0 and feed.channels == {}


async def test_a_tenant_sees_its_own_queue_and_throughput(app: App, docs: Path) -> None:
    write_mixed(docs)
    await run_job(app)
    feed = feed_of(app)
    theirs, ours = feed.subscribe("acme"), feed.subscribe("default")
    try:
        other = orjson.loads(await theirs.snapshot())
        mine = orjson.loads(await ours.snapshot())
    finally:
        theirs.close()
        ours.close()
    assert other["throughput"]["1m"]["files_per_s"] == 0
    assert mine["throughput"]["1m"]["files_per_s"] > 0


class Sick:
    def snapshot(self) -> Mapping[str, Mapping[str, Any]]:
        return {
            "database": {"healthy": False, "latency_ms": 900.0, "last_check": 1.0e9},
            "blobs": {"healthy": True, "latency_ms": 2.0, "history_ms": [2.0]},
        }


async def test_storage_health_comes_from_the_source_it_is_given(app: App) -> None:
    feed = feed_of(app)
    assert feed.health is app.runtime.storage_monitor  # wired by the runtime
    feed.health = Sick()
    subscription = feed.subscribe(None)
    try:
        first = orjson.loads(await subscription.snapshot())
        update = orjson.loads(await subscription.next())
    finally:
        subscription.close()
    assert first["storage"]["database"]["status"] == "degraded"
    assert first["storage"]["database"]["last_check"] == "2001-09-09T01:46:40.000Z"
    assert first["storage"]["blobs"] == {
        "healthy": True,
        "latency_ms": 2.0,
        "history_ms": [2.0],
        "status": "healthy",
    }
    assert "history_ms" not in update["storage"]["blobs"]


def test_throughput_keeps_a_minute_and_rereads_late_seconds() -> None:
    window = Throughput()
    now = 1000.5
    start = window.since(now)
    assert start == 940.0
    window.replace(start, [("a", 995, 10, 1000), ("b", 950, 60, 6000)], now)
    rates = window.rates(None, now)
    assert rates["10s"] == {"files_per_s": 1.0, "bytes_per_s": 100.0}
    assert rates["1m"] == {"files_per_s": round(70 / 60, 3), "bytes_per_s": round(7000 / 60, 1)}
    assert window.rates("b", now)["10s"]["files_per_s"] == 0
    # A second later: the last 3 seconds are read again (an event may commit late) and what
    # fell out of the minute is forgotten.
    later = 1011.2
    again = window.since(later)
    assert again == 997.0
    window.replace(again, [("a", 999, 5, 50)], later)
    assert 950 not in window.seconds and window.seconds[999] == {"a": (5, 50)}
    assert window.seconds[995] == {"a": (10, 1000)}


class Unreachable:
    """A database that never answers a read (a failover that takes its time)."""

    def read(self) -> Any:
        raise ConnectionRefusedError("the database is down")


async def test_a_feed_that_cannot_read_answers_503_not_forever(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingestd.domain.errors import Unavailable
    from ingestd.services import live_metrics

    monkeypatch.setattr(live_metrics, "FIRST_WAIT", 0.2)
    feed = LiveMetrics(Unreachable(), app.settings.queue)  # type: ignore[arg-type]
    await feed.start()
    subscription = feed.subscribe(None)
    try:
        with pytest.raises(Unavailable):
            await subscription.snapshot()
    finally:
        subscription.close()
        await feed.stop()
