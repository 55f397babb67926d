"""Live-event benchmark against a real ``ingestd serve`` (workers in their child process).

Latency: events are appended to the log from *this* process (as the worker child does), each
stamped ``at`` = now; every WebSocket subscriber records ``received - at``. That is the slow
path (the server learns of the row by polling, not by an in-process wake-up).
Idle: N WebSocket connections held open; the server's RSS growth / N is the memory per connection.

    .venv/bin/python bench/events.py [--subscribers 1,100,1000] [--idle 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

from ingestd.store.db import Database
from ingestd.store.events import append_event

KEY = "ik_bench_admin_key_0123456789abcdef"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INGESTD_ADMIN_KEY": KEY}
    cmd = [sys.executable, "-m", "ingestd", "serve", "--port", str(port), "--data-dir", str(data)]
    cmd += ["--workers", "1", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=data, start_new_session=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


async def _latency(port: int, db: Database, subscribers: int, events: int) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}/api/v1/events"
    headers = {"Authorization": f"Bearer {KEY}"}
    samples: list[float] = []
    ready = asyncio.Event()
    connected: list[int] = []

    async def subscriber() -> None:
        async with connect(url, additional_headers=headers, max_size=None) as ws:
            await ws.recv()  # connected
            connected.append(1)
            if len(connected) == subscribers:
                ready.set()
            got = 0
            while got < events:
                message = orjson.loads(await ws.recv())
                if message.get("type") != "bench":
                    continue
                samples.append(time.time() - message["data"]["t"])
                got += 1

    tasks = []
    for _ in range(subscribers):  # connect in steps: a burst of handshakes is not the point
        tasks.append(asyncio.create_task(subscriber()))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(ready.wait(), 120)
    for _ in range(events):
        async with db.write() as conn:
            await append_event(conn, tenant="default", type="bench", data={"t": time.time()})
        await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    samples.sort()
    return {
        "subscribers": subscribers,
        "events": events,
        "p50_ms": round(1000 * statistics.median(samples), 1),
        "p99_ms": round(1000 * samples[int(0.99 * (len(samples) - 1))], 1),
        "max_ms": round(1000 * samples[-1], 1),
    }


async def _idle(port: int, pid: int, n: int) -> dict[str, float]:
    server = psutil.Process(pid)
    before = server.memory_info().rss
    url = f"ws://127.0.0.1:{port}/api/v1/events"
    headers = {"Authorization": f"Bearer {KEY}"}
    sockets = []
    for i in range(n):
        ws = await connect(url, additional_headers=headers, ping_interval=None)
        await ws.recv()
        sockets.append(ws)
        if i % 500 == 499:
            await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    after = server.memory_info().rss
    for ws in sockets:
        await ws.close()
    return {
        "connections": n,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "kb_per_connection": round((after - before) / n / 1024, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--idle", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, port = Path(tmp), _port()
        proc = _serve(data, port)
        db = Database(f"sqlite+aiosqlite:///{data / 'ingestd.db'}")
        try:
            latency = [
                await _latency(port, db, int(n), args.events) for n in args.subscribers.split(",")
            ]
            idle = await _idle(port, proc.pid, args.idle)
        finally:
            await db.close()
            proc.terminate()
            proc.wait(30)
    result = {"latency": latency, "idle": idle, "cpus": os.cpu_count()}
    out = Path(__file__).parent / "results" / "events.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
