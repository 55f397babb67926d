"""Live-event benchmark against a real ``ingestd serve`` (its workers in their child process).

Latency: this process appends events to the log the way a worker does (its own connection, its
own event publisher), each stamped with ``t`` = now; every WebSocket subscriber records
``received - t``. So the number covers commit, the feed (poll or push), the read, the fan-out and
the socket. Idle: N WebSocket connections held open; the server's RSS growth / N is the memory
per connection.

Subscribers run in a separate process (``websockets``' sans-I/O protocol on bare asyncio
transports, cheap per message), so their CPU and memory are not the server's; but they share
the machine's cores with it.

``--baseline DIR`` also runs every scenario against another source tree (e.g. the last commit,
``git archive HEAD ingestd | tar -x -C DIR``), in the same run, for a fair comparison.

    .venv/bin/python bench/events.py [--subscribers 1,100,1000] [--events 100] [--idle 10000]
        [--feeds sqlite,postgres,redis] [--baseline /tmp/ev_baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from ingestd.config import Settings
from ingestd.events.push import EventPublisher, choose
from ingestd.store.db import Database
from ingestd.store.events import append_event

KEY = "ik_bench_admin_key_0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


# -- the subscriber side (a process of its own) --------------------------------------------
class _Subscriber(asyncio.Protocol):
    """One WebSocket client: the sans-I/O protocol of ``websockets`` on a bare transport."""

    def __init__(
        self,
        url: str,
        on_text: Callable[[bytes], None],
        opened: asyncio.Future[None],
        deflate: bool = False,
    ):
        # deflate: offer permessage-deflate, as browsers and the websockets library do.
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self.proto = ClientProtocol(parse_uri(url), max_size=None, extensions=extensions)
        self.on_text = on_text
        self.opened = opened
        self.transport: asyncio.Transport | None = None
        self.url = url

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.proto.connect()
        request.headers["Authorization"] = f"Bearer {KEY}"
        self.proto.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Response):
                continue
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                if not self.opened.done():  # the "connected" message
                    self.opened.set_result(None)
                    continue
                self.on_text(bytes(event.data))
        self._flush()  # pongs, close frames

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before connected"))

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.proto.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect_all(
    port: int, n: int, on_text: Callable[[bytes], None], deflate: bool
) -> list[_Subscriber]:
    loop = asyncio.get_running_loop()
    url = f"ws://127.0.0.1:{port}/api/v1/events"
    subs: list[_Subscriber] = []
    step = 50  # handshakes in flight at once: a burst of handshakes is not what we measure
    for start in range(0, n, step):
        opened = []
        for _ in range(min(step, n - start)):
            future: asyncio.Future[None] = loop.create_future()
            _, sub = await loop.create_connection(
                functools.partial(_Subscriber, url, on_text, future, deflate), "127.0.0.1", port
            )
            subs.append(sub)
            opened.append(future)
        await asyncio.wait_for(asyncio.gather(*opened), 120)
    return subs


async def _subscribers(
    port: int, n: int, events: int, control: Any, results: Any, deflate: bool
) -> None:
    samples: list[float] = []
    wanted = n * events
    done = asyncio.Event()

    def on_text(data: bytes) -> None:
        now = time.time()
        if b'"bench"' not in data:
            return
        samples.append(now - orjson.loads(data)["data"]["t"])
        if len(samples) >= wanted:
            done.set()

    subs = await _connect_all(port, n, on_text, deflate)
    results.put("ready")
    loop = asyncio.get_running_loop()
    if events:
        await asyncio.wait_for(done.wait(), 600)
        results.put(samples)
    else:  # idle: hold the connections until told
        await loop.run_in_executor(None, control.get)
        results.put("closing")
    for sub in subs:
        sub.close()
    await asyncio.sleep(0.5)


def _subscriber_process(
    port: int, n: int, events: int, control: Any, results: Any, deflate: bool
) -> None:
    _raise_fd_limit()
    asyncio.run(_subscribers(port, n, events, control, results, deflate))


# -- the server and the writer -------------------------------------------------------------
def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve(tree: Path, data: Path, env: dict[str, str]) -> Iterator[tuple[int, int]]:
    port = _port()
    env = {**os.environ, **env, "INGESTD_ADMIN_KEY": KEY, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "ingestd", "serve", "--port", str(port), "--data-dir", str(data)]
    cmd += ["--workers", "1", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=data, start_new_session=True)
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit("server exited")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _spawn(port: int, n: int, events: int, deflate: bool = False) -> tuple[Any, Any, Any]:
    context = multiprocessing.get_context("spawn")
    control, results = context.Queue(), context.Queue()
    args = (port, n, events, control, results, deflate)
    proc = context.Process(target=_subscriber_process, args=args)
    proc.start()
    return proc, control, results


async def _get(queue: Any, seconds: float = 600) -> Any:
    return await asyncio.wait_for(
        asyncio.get_running_loop().run_in_executor(None, queue.get), seconds
    )


def _pct(samples: list[float], q: float) -> float:
    return round(1000 * samples[min(len(samples) - 1, int(q * len(samples)))], 1)


async def _latency(
    port: int, settings: Settings, subscribers: int, events: int, interval: float
) -> dict[str, Any]:
    proc, _control, results = _spawn(port, subscribers, events)
    db = Database(settings.resolved_database_url)
    push = choose(settings, db)
    publisher = EventPublisher(push) if push is not None else None
    if publisher is not None:
        publisher.start()
    try:
        assert await _get(results) == "ready"
        await asyncio.sleep(1)
        for _ in range(events):
            async with db.write() as conn:
                await append_event(conn, tenant="default", type="bench", data={"t": time.time()})
            await asyncio.sleep(interval)
        samples: list[float] = sorted(await _get(results))
    finally:
        if publisher is not None:
            await publisher.stop()
        await db.close()
        proc.join(30)
    return {
        "subscribers": subscribers,
        "events": events,
        "p50_ms": _pct(samples, 0.5),
        "p99_ms": _pct(samples, 0.99),
        "max_ms": round(1000 * samples[-1], 1),
    }


async def _idle(port: int, pid: int, n: int, deflate: bool) -> dict[str, Any]:
    server = psutil.Process(pid)
    await asyncio.sleep(1)
    before = server.memory_info().rss
    started = time.monotonic()
    proc, control, results = _spawn(port, n, 0, deflate)
    try:
        assert await _get(results) == "ready"
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(3)
        after = server.memory_info().rss
        control.put("close")
        assert await _get(results) == "closing"
    finally:
        proc.join(60)
    return {
        "connections": n,
        "client_offers_deflate": deflate,
        "connect_seconds": round(connect_seconds, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "kb_per_connection": round((after - before) / n / 1024, 1),
    }


async def _pg_database() -> str:
    name = f"ingestd_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return name


async def _drop_pg(name: str) -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def _scenario(label: str, tree: Path, feed: str, args: argparse.Namespace) -> dict[str, Any]:
    """One server (source tree + feed): latency at each subscriber count, then idle memory."""
    out: dict[str, Any] = {"tree": label, "feed": feed}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env: dict[str, str] = {}
        pg_name = None
        if feed == "postgres":
            pg_name = await _pg_database()
            env["INGESTD_DATABASE_URL"] = f"{PG}/{pg_name}"
        if feed == "redis":
            env["INGESTD_REDIS_URL"] = REDIS
            env["INGESTD_EVENT_CHANNEL"] = f"ingestd_bench_{secrets.token_hex(4)}"
        settings = Settings(
            data_dir=data,
            database_url=env.get("INGESTD_DATABASE_URL"),
            redis_url=env.get("INGESTD_REDIS_URL"),
            event_channel=env.get("INGESTD_EVENT_CHANNEL", "ingestd_events"),
        )
        try:
            with _serve(tree, data, env) as (port, pid):
                out["latency"] = []
                for n in args.subscribers:
                    result = await _latency(port, settings, n, args.events, args.interval)
                    print(label, feed, result, flush=True)
                    out["latency"].append(result)
                if args.idle and feed == "sqlite":  # the feed does not change idle memory
                    out["idle"] = await _idle(port, pid, args.idle, args.deflate)
                    print(label, feed, out["idle"], flush=True)
        finally:
            if pg_name is not None:
                await _drop_pg(pg_name)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--feeds", default="sqlite,postgres,redis")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="idle clients offer permessage-deflate (as browsers do)",
    )
    parser.add_argument("--baseline", type=Path, help="another source tree, measured first")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "events.json")
    args = parser.parse_args()
    args.subscribers = [int(n) for n in args.subscribers.split(",") if n]  # "": idle only
    _raise_fd_limit()
    runs = []
    if args.baseline is not None:
        runs.append(await _scenario("baseline", args.baseline, "sqlite", args))
    for feed in args.feeds.split(","):
        runs.append(await _scenario("current", ROOT, feed, args))
    result = {
        "runs": runs,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "shared machine: other sessions were busy; compare runs of the same file only",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
