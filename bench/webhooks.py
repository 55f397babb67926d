"""Webhook outbox benchmark: a burst of events delivered to a real loopback receiver.

Baseline: the same number of POSTs sent straight to the receiver with httpx (same concurrency),
i.e. what the HTTP part alone costs here. Then the real app (in-process, ``workers=0``) on SQLite
and, when reachable, on PostgreSQL with one and with two app instances: N events are appended to
the log (as workers do) and we time until the receiver has them all, plus per-event latency
(received - logged) and the duplicates seen (must be 0).

    PYTHONPATH=. .venv/bin/python bench/webhooks.py [--events 2000]   (uses tests/loopback.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestd.api.app import create_app
from ingestd.config import Settings
from ingestd.runtime import Runtime
from ingestd.store.db import Database
from ingestd.store.events import append_events
from ingestd.store.migrate import upgrade
from tests.loopback import serve_on_loopback

KEY = "ik_bench_admin_key_0123456789abcdef"
PG = "postgresql://postgres@127.0.0.1:5432/postgres"


class Sink:
    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.latency: list[float] = []
        self.url = ""

    async def hook(self, request: Request) -> Response:
        event = orjson.loads(await request.body())
        self.ids[request.headers.get("webhook-id", "")] += 1
        if "logged" in event["data"]:
            self.latency.append(time.time() - event["data"]["logged"])
        return Response(status_code=200)

    async def wait(self, count: int, seconds: float = 300) -> None:
        async with asyncio.timeout(seconds):
            while True:
                if len(self.ids) >= count:
                    return
                await asyncio.sleep(0.01)


async def baseline(sink: Sink, events: int, concurrency: int) -> dict[str, float]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as client:

        async def post(n: int) -> None:
            async with gate:
                body = orjson.dumps({"id": f"b{n}", "data": {"logged": time.time()}})
                await client.post(sink.url, content=body, headers={"webhook-id": f"b{n}"})

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(events)))
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "per_second": round(events / seconds, 1)}


async def outbox_run(
    sink: Sink, url: str, data_dir: Path, events: int, instances: int
) -> dict[str, Any]:
    sink.ids.clear()
    sink.latency.clear()
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        admin_key=KEY,
        workers=0,
        webhook_allow_private=True,
    )
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(instances):
            app = create_app(settings, runtime=Runtime(settings))
            await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
            apps.append(app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps[0]),
                base_url="http://bench",
                headers={"Authorization": f"Bearer {KEY}"},
            )
        )
        created = await client.post("/api/v1/webhooks", json={"url": sink.url, "events": ["*"]})
        assert created.status_code == 201, created.text
        await asyncio.sleep(0.05)  # the webhook gets events logged after it was made
        db = Database(url)
        started = time.perf_counter()
        for first in range(0, events, 100):  # workers log events in small transactions
            async with db.write() as conn:
                await append_events(
                    conn,
                    [
                        {
                            "tenant": "default",
                            "type": "file.progress",
                            "data": {"logged": time.time()},
                        }
                        for _ in range(first, min(events, first + 100))
                    ],
                )
        await sink.wait(events)
        seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)  # late duplicates would show up here
        await db.close()
        sent = [app.state.webhooks.sent for app in apps]
    lat = sorted(sink.latency)
    return {
        "instances": instances,
        "seconds": round(seconds, 3),
        "per_second": round(events / seconds, 1),
        "latency_ms_p50": round(statistics.median(lat) * 1000, 1),
        "latency_ms_p95": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1),
        "duplicates": sum(c - 1 for c in sink.ids.values()),
        "sent_per_instance": sent,
    }


async def pg_database() -> str | None:
    try:
        admin = await asyncio.wait_for(asyncpg.connect(PG), 5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    name = f"ingestd_bench_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    return name


async def drop(name: str) -> None:
    admin = await asyncpg.connect(PG)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    sink = Sink()
    result: dict[str, Any] = {"events": args.events}
    receiver = Starlette(routes=[Route("/hook", sink.hook, methods=["POST"])])
    async with serve_on_loopback(receiver) as port:
        sink.url = f"http://127.0.0.1:{port}/hook"
        result["baseline_direct_http"] = await baseline(sink, args.events, 32)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            await upgrade(url)
            result["sqlite"] = await outbox_run(sink, url, Path(tmp), args.events, 1)
            for instances in (1, 2):  # a fresh database each: one webhook, one count
                name = await pg_database()
                if name is None:
                    break
                pg_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
                try:
                    await upgrade(pg_url)
                    result[f"postgres_{instances}"] = await outbox_run(
                        sink, pg_url, Path(tmp), args.events, instances
                    )
                finally:
                    await drop(name)
    out = Path(__file__).parent / "results" / "webhooks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
