"""Live-event benchmark against a real ``ingestd serve`` (its workers in their child process).

Latency, end to end: this process appends events to the log the way a worker does (its own
database connection and its own event publisher, so the server learns of them only through the
feed: the SQLite wake-up sockets, PostgreSQL NOTIFY or Redis), each stamped with ``t`` = the
wall clock just before the insert; every WebSocket subscriber records ``received - t``, where
``received`` is read once per ``data_received`` call, before the bytes are parsed. So the number
covers insert and commit, the feed, the server's read of the log, the fan-out, the socket, and
the client's event loop noticing the bytes. p50/p99 are over every (event, subscriber) pair.
Idle: N WebSocket connections held open; the server's RSS growth / N is the memory per
connection.

Subscribers run in ``--client-procs`` processes of their own (2 by default; 1 to 8 measured the
same at 1,000 subscribers), each an asyncio (uvloop) loop of bare transports with a minimal
WebSocket client: a hand-written handshake, then the server's unmasked frames split in place.
The client used before (``websockets``' sans-I/O protocol on the default asyncio loop, all in
one process) parsed a message in 12.6 µs against 3.5 µs now (measured in process), plus the
default loop's cost per read: with 1,000 subscribers in one process, the last one read each
event tens of ms after the first, which the old numbers counted as server latency. The clients
still share the machine's cores with the server.

``--baseline DIR`` also runs every scenario against another source tree (e.g. the last commit,
``git archive HEAD ingestd | tar -x -C DIR``), interleaved with the current tree's runs, with
the same client; ``--repeat N`` repeats the whole set. Record the load average: on a shared
machine the numbers follow it.

    .venv/bin/python bench/events.py [--subscribers 1,100,1000] [--events 100] [--idle 10000]
        [--feeds sqlite,postgres,redis] [--client-procs 2] [--repeat 1]
        [--baseline /tmp/ev_baseline]
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import functools
import gc
import json
import multiprocessing
import os
import queue
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import orjson
import psutil
import uvloop

from ingestd.config import Settings
from ingestd.events.push import EventPublisher, choose
from ingestd.store.db import Database
from ingestd.store.events import append_event

KEY = "ik_bench_admin_key_0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


# -- the subscriber side (processes of their own) -------------------------------------------
class _Subscriber(asyncio.Protocol):
    """One WebSocket client cut to what the measurement needs, so that 1,000 of them in a few
    processes cost little per message: the handshake, then the server's frames (unmasked, RFC
    6455 section 5.2) split in place; pings answered (uvicorn pings idle sockets every 20 s);
    the receipt time taken once per ``data_received``, before any parsing."""

    def __init__(
        self,
        path: str,
        on_text: Callable[[bytes, float], None],
        opened: asyncio.Future[None],
        deflate: bool = False,
    ):
        self.path = path
        self.on_text = on_text
        self.opened = opened
        self.deflate = deflate  # offer permessage-deflate, as browsers and `websockets` do
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        key = base64.b64encode(os.urandom(16)).decode()
        offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if self.deflate else ""
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {KEY}\r\n{offer}\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self._buffer + data if self._buffer else data
        if not self._upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self._buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(buffer[:end].decode(errors="replace")))
                return
            self._upgraded = True
            buffer = buffer[end + 4 :]
        self._buffer = buffer[self._frames(buffer, now) :]

    def _frames(self, buffer: bytes, now: float) -> int:
        """Handle every whole frame in ``buffer``; returns where the rest starts."""
        at, size = 0, len(buffer)
        while size - at >= 2:
            opcode, length, head = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 4]), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2 : at + 10]), 10
            if size - at < head + length:
                break
            payload = buffer[at + head : at + head + length]
            at += head + length
            if opcode == 0x1:
                if not self.opened.done():  # the "connected" message
                    self.opened.set_result(None)
                else:
                    self.on_text(payload, now)
            elif opcode == 0x9 and self.transport is not None:  # ping: pong, zero mask
                self.transport.write(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" + payload)
            elif opcode == 0x8:
                self._fail(ConnectionError(f"closed by the server: {payload[:2].hex()}"))
        return at

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before connected"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect_all(
    port: int, n: int, on_text: Callable[[bytes, float], None], deflate: bool
) -> list[_Subscriber]:
    loop = asyncio.get_running_loop()
    path = "/api/v1/events"
    subs: list[_Subscriber] = []
    step = 50  # handshakes in flight at once: a burst of handshakes is not what we measure
    for start in range(0, n, step):
        opened = []
        for _ in range(min(step, n - start)):
            future: asyncio.Future[None] = loop.create_future()
            _, sub = await loop.create_connection(
                functools.partial(_Subscriber, path, on_text, future, deflate), "127.0.0.1", port
            )
            subs.append(sub)
            opened.append(future)
        await asyncio.wait_for(asyncio.gather(*opened), 120)
    return subs


async def _subscribers(
    port: int, n: int, events: int, control: Any, results: Any, deflate: bool
) -> None:
    # Flat arrays, not a tuple per sample: nothing for the garbage collector to walk, so no
    # collector pause in the client is counted as latency.
    stamped, received = array.array("d"), array.array("d")
    wanted = n * events
    done = asyncio.Event()

    def on_text(data: bytes, now: float) -> None:
        if b'"bench"' not in data:
            return
        stamped.append(orjson.loads(data)["data"]["t"])
        received.append(now)
        if len(received) >= wanted:
            done.set()

    subs = await _connect_all(port, n, on_text, deflate)
    gc.freeze()  # the connections live to the end: out of every future collection
    results.put("ready")
    loop = asyncio.get_running_loop()
    if events:
        await asyncio.wait_for(done.wait(), 600)
        results.put(list(zip(stamped, received, strict=True)))
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
    uvloop.run(_subscribers(port, n, events, control, results, deflate))


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


class _Clients:
    """Subscriber processes sharing the subscribers between them (``--client-procs``)."""

    def __init__(self, port: int, n: int, events: int, procs: int, deflate: bool = False):
        context = multiprocessing.get_context("spawn")
        self.control, self.results = context.Queue(), context.Queue()
        shares = [n // procs + (1 if i < n % procs else 0) for i in range(min(procs, n))]
        self.procs = [
            context.Process(
                target=_subscriber_process,
                args=(port, share, events, self.control, self.results, deflate),
            )
            for share in shares
        ]
        for proc in self.procs:
            proc.start()

    async def each(self, seconds: float = 600) -> list[Any]:
        """One message from every process; fails at once if one of them died."""
        out: list[Any] = []
        deadline = time.monotonic() + seconds
        while len(out) < len(self.procs):
            with contextlib.suppress(queue.Empty):
                out.append(await _get(self.results, 1))
                continue
            if any(proc.exitcode not in (None, 0) for proc in self.procs):
                raise SystemExit("a subscriber process failed")
            if time.monotonic() > deadline:
                raise TimeoutError("the subscriber processes did not answer")
        return out

    async def release(self) -> None:
        for _ in self.procs:
            self.control.put("close")

    def join(self, seconds: float) -> None:
        for proc in self.procs:
            proc.join(seconds)


async def _get(source: Any, seconds: float) -> Any:
    """The next item; raises ``queue.Empty`` after ``seconds`` (the thread does not linger)."""
    get = functools.partial(source.get, timeout=seconds)
    return await asyncio.get_running_loop().run_in_executor(None, get)


def _pct(samples: list[float], q: float) -> float:
    return round(1000 * samples[min(len(samples) - 1, int(q * len(samples)))], 1)


def _summary(pairs: list[tuple[float, float]]) -> dict[str, float]:
    """Latency over every (event, subscriber), and per event where it goes: ``first`` is the
    first subscriber's latency (commit, feed, read: what one subscriber would see), ``spread``
    the time from the first subscriber's receipt to the last one's (the fan-out)."""
    latencies = sorted(received - stamped for stamped, received in pairs)
    by_event: dict[float, list[float]] = {}
    for stamped, received in pairs:
        by_event.setdefault(stamped, []).append(received)
    first = sorted(min(got) - stamped for stamped, got in by_event.items())
    spread = sorted(max(got) - min(got) for got in by_event.values())
    return {
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": round(1000 * latencies[-1], 1),
        "first_p50_ms": _pct(first, 0.5),
        "first_p99_ms": _pct(first, 0.99),
        "spread_p50_ms": _pct(spread, 0.5),
        "spread_p99_ms": _pct(spread, 0.99),
    }


async def _latency(
    port: int, settings: Settings, subscribers: int, args: argparse.Namespace
) -> dict[str, Any]:
    events, interval = args.events, args.interval
    clients = _Clients(port, subscribers, events, args.client_procs)
    db = Database(settings.resolved_database_url)
    push = choose(settings, db)
    publisher = EventPublisher(push) if push is not None else None
    if publisher is not None:
        publisher.start()
    try:
        assert await clients.each() == ["ready"] * len(clients.procs)
        await asyncio.sleep(1)
        for _ in range(events):
            async with db.write() as conn:
                await append_event(conn, tenant="default", type="bench", data={"t": time.time()})
            await asyncio.sleep(interval)
        pairs = [pair for part in await clients.each() for pair in part]
    finally:
        if publisher is not None:
            await publisher.stop()
        await db.close()
        clients.join(30)
    return {
        "subscribers": subscribers,
        "client_procs": len(clients.procs),
        "events": events,
        **_summary(pairs),
    }


async def _idle(port: int, pid: int, n: int, procs: int, deflate: bool) -> dict[str, Any]:
    server = psutil.Process(pid)
    await asyncio.sleep(1)
    before = server.memory_info().rss
    started = time.monotonic()
    clients = _Clients(port, n, 0, procs, deflate)
    try:
        assert await clients.each() == ["ready"] * len(clients.procs)
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(3)
        after = server.memory_info().rss
        await clients.release()
        assert await clients.each() == ["closing"] * len(clients.procs)
    finally:
        clients.join(60)
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
    out: dict[str, Any] = {"tree": label, "feed": feed, "load_before": os.getloadavg()}
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
                    result = await _latency(port, settings, n, args)
                    print(label, feed, result, flush=True)
                    out["latency"].append(result)
                if args.idle and feed == "sqlite":  # the feed does not change idle memory
                    out["idle"] = await _idle(port, pid, args.idle, args.client_procs, args.deflate)
                    print(label, feed, out["idle"], flush=True)
        finally:
            if pg_name is not None:
                await _drop_pg(pg_name)
    out["load_after"] = os.getloadavg()
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
    parser.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="subscriber processes the subscribers are spread over",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run every scenario this often")
    parser.add_argument(
        "--baseline", type=Path, help="another source tree, measured before each current run"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "events.json")
    args = parser.parse_args()
    args.subscribers = [int(n) for n in args.subscribers.split(",") if n]  # "": idle only
    _raise_fd_limit()
    runs = []
    trees = [("current", ROOT)]
    if args.baseline is not None:
        trees.insert(0, ("baseline", args.baseline))
    # Interleaved (baseline, current, baseline, current, ...): the machine's load drifts.
    for _ in range(args.repeat):
        for feed in args.feeds.split(","):
            for label, tree in trees:
                runs.append(await _scenario(label, tree, feed, args))
    result = {
        "runs": runs,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "client_procs": args.client_procs,
        "note": "shared machine: other sessions were busy; compare runs of the same file only",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
