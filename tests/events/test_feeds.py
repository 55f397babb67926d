"""Push feeds across processes: events written by another process (a worker elsewhere) reach
subscribers of every API instance on the same PostgreSQL database, through PostgreSQL
LISTEN/NOTIFY or Redis pub/sub, in order, with no gap or duplicate, and the feed survives a
dropped listener connection.

Everything is real: PostgreSQL, Redis, two API instances on loopback sockets, and the writer is
a separate OS process (``tests/events/writer.py``). The instances' fallback poll is set to 30 s,
so events that arrive well before that came by the push feed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import redis.asyncio as redis

from ingestd.events.service import LiveEvents
from ingestd.store import events as event_store
from tests.conftest import ADMIN_KEY, PG_DSN
from tests.events.conftest import Served, receive, serve
from tests.needs import missing

REDIS_URL = os.environ.get("INGESTD_TEST_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


async def _redis_up() -> bool:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return bool(await asyncio.wait_for(client.ping(), 2))
    except (OSError, TimeoutError, redis.RedisError):
        return False
    finally:
        await client.aclose()


@pytest.fixture(params=["postgres", "redis"])
async def feed(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings selecting the feed (``auto``: Redis when redis_url is set, else LISTEN/NOTIFY);
    a channel of our own, so concurrent runs on the same Redis do not wake each other."""
    settings: dict[str, Any] = {
        "event_channel": f"ingestd_test_{secrets.token_hex(4)}",
        "event_fallback_poll_seconds": 30.0,
    }
    if request.param == "redis":
        if not await _redis_up():
            missing(f"Redis is not reachable at {REDIS_URL}")
        settings["redis_url"] = REDIS_URL
    return settings


@pytest.fixture
def instances(
    start_app: Callable[..., Any], database_url: str, tmp_path: Path, feed: dict[str, Any]
) -> Callable[[int], Any]:
    """``async with instances(n) as [served, …]``: n API processes' worth of app on one database."""

    @asynccontextmanager
    async def start(n: int) -> AsyncIterator[list[Served]]:
        async with AsyncExitStack() as stack:
            out: list[Served] = []
            for i in range(n):
                app = await stack.enter_async_context(
                    start_app(
                        database_url=database_url, data_dir=tmp_path / f"api{i}", workers=0, **feed
                    )
                )
                out.append(await stack.enter_async_context(asynccontextmanager(serve)(app)))
            yield out

    return start


async def _write_elsewhere(
    database_url: str, feed: dict[str, Any], count: int, batches: int
) -> None:
    """Append ``count * batches`` events from a separate OS process."""
    env = {
        **os.environ,
        "INGESTD_DATABASE_URL": database_url,
        "INGESTD_EVENT_CHANNEL": feed["event_channel"],
        "PYTHONPATH": str(ROOT),
    }
    if "redis_url" in feed:
        env["INGESTD_REDIS_URL"] = feed["redis_url"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.events.writer", "job_elsewhere", str(count), str(batches),
        env=env, cwd=ROOT,
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), 60) == 0


async def _events(ws: Any, n: int) -> list[dict[str, Any]]:
    # Loose bound, far below the 30 s fallback poll: these came by the push feed.
    return [await receive(ws, 15) for _ in range(n)]


async def _sse_events(served: Served, n: int, out: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(base_url=served.http, headers=headers, timeout=30) as client,
        client.stream("GET", "/api/v1/events") as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                out.append(orjson.loads(line[6:]))
                if len(out) == n:
                    return


async def _log_seqs(served: Served, after: int) -> list[int]:
    db = served.app.runtime.db
    assert db is not None
    async with db.read() as conn:
        rows = await event_store.events_between(conn, after_seq=after, limit=10_000)
    return [int(r["seq"]) for r in rows]


async def _until(check: Callable[[], bool], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def _live(served: Served) -> LiveEvents:
    live: LiveEvents = served.app.asgi.state.events
    return live


async def test_events_from_another_process_reach_subscribers_of_both_instances(
    instances: Callable[[int], Any], database_url: str, feed: dict[str, Any]
) -> None:
    async with instances(2) as (a, b):
        expected = "RedisPush" if "redis_url" in feed else "PgPush"
        assert _live(a).feed_name == _live(b).feed_name == expected
        async with b.connect("/api/v1/events") as ws:
            start = (await receive(ws))["seq"]
            sse: list[dict[str, Any]] = []
            sse_task = asyncio.create_task(_sse_events(a, 100, sse))
            await _until(lambda: _live(a).hub.subscribers == 1)  # the SSE stream subscribed
            await _write_elsewhere(database_url, feed, count=20, batches=5)
            got = await _events(ws, 100)
            await asyncio.wait_for(sse_task, 15)
        seqs = [e["seq"] for e in got]
        assert seqs == await _log_seqs(b, start), "every event, in order, once"
        assert [e["seq"] for e in sse] == seqs
        assert [e["data"]["i"] for e in got] == list(range(20)) * 5


@asynccontextmanager
async def _drop_listener(
    live: LiveEvents, feed: dict[str, Any]
) -> AsyncIterator[Callable[[], Any]]:
    """Kill the instance's listener connection from the server side; yields a check that a new
    one is up."""
    assert live.push is not None
    name = live.push.name
    if "redis_url" in feed:
        client = redis.Redis.from_url(feed["redis_url"])

        async def ids() -> set[int]:
            return {int(c["id"]) for c in await client.client_list() if c.get("name") == name}

        try:
            old = await ids()
            assert len(old) == 1
            await client.client_kill_filter(_id=next(iter(old)))

            async def back() -> bool:
                now = await ids()
                return bool(now) and not now & old

            yield back
        finally:
            await client.aclose()
        return
    admin = await asyncpg.connect(PG_DSN)
    query = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
    try:
        old_pids = {r["pid"] for r in await admin.fetch(query, name)}
        assert len(old_pids) == 1
        await admin.execute("SELECT pg_terminate_backend($1)", next(iter(old_pids)))

        async def back_pg() -> bool:
            now = {r["pid"] for r in await admin.fetch(query, name)}
            return bool(now) and not now & old_pids

        yield back_pg
    finally:
        await admin.close()


async def test_the_feed_survives_a_dropped_listener_connection(
    instances: Callable[[int], Any], database_url: str, feed: dict[str, Any]
) -> None:
    async with instances(1) as (served,):
        live = _live(served)
        async with served.connect("/api/v1/events") as ws:
            start = (await receive(ws))["seq"]
            await _write_elsewhere(database_url, feed, count=10, batches=1)
            got = await _events(ws, 10)
            async with _drop_listener(live, feed) as reconnected:
                # Written while the listener may be down: found by the brisk poll or on reconnect.
                await _write_elsewhere(database_url, feed, count=10, batches=1)
                got += await _events(ws, 10)
                for _ in range(200):
                    if await reconnected():
                        break
                    await asyncio.sleep(0.1)
            assert live.feed.pushed
            await asyncio.sleep(1)  # past the tail's brisk window: only a push wakes it now
            await _write_elsewhere(database_url, feed, count=10, batches=1)
            got += await _events(ws, 10)
        seqs = [e["seq"] for e in got]
        assert seqs == await _log_seqs(served, start), "every event, in order, once"
