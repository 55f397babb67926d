"""The live metrics feed under many subscribers (issue #18, item 3): does a real ``ingestd serve``
hold 1,000 WebSocket subscribers at one update a second?

    .venv/bin/python bench/live.py [--subscribers 1,1000] [--seconds 20] [--client-procs 2]

Starts ``ingestd serve --workers 0`` (SQLite; nothing to ingest: the feed's cost is its reads and
its fan-out, not the work), then for each count N connects N WebSocket subscribers from
``--client-procs`` processes of their own and listens for ``--seconds``. Reported per count:

- ``updates_per_s``: updates a subscriber received per second, mean and worst (target: 1.0, and
  the worst at least 0.9: nobody starved);
- ``lag_ms``: for each update, receive time minus the update's ``at`` (both this machine's wall
  clock), p50 and p99 over every (update, subscriber): the read, the fan-out and the sockets;
- ``server_cpu``: the server's CPU seconds per wall second while listening (1.0 = one core);
- ``server_rss_mb`` after connecting, and ``ticks_per_s`` measured from the distinct ``at`` values
  (1.0: computed once a second, not per subscriber).

The baseline is the same run's smallest count (1 subscriber by default): the target holds when
1,000 subscribers get their updates as regularly as one does, at a lag within a few tens of ms
of it. Record the load average: on a shared machine the numbers follow it. Writes
bench/results/live.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
KEY = "ik_bench_live_key_0123456789abcdef0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "INGESTD_ADMIN_KEY": KEY, "INGESTD_RATE_LIMITS": "false"}
    command = [sys.executable, "-m", "ingestd", "serve", "--port", str(port), "--workers", "0"]
    command += ["--data-dir", str(root / "data"), "--source-root", str(root)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return process, port
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _subscriber(url: str, start: float, until: float, out: dict[str, Any]) -> None:
    """One subscriber: counts the updates it receives between ``start`` and ``until``."""
    from websockets.asyncio.client import connect

    async with connect(url, max_queue=None, open_timeout=120) as socket:
        await socket.recv()  # the snapshot
        out["connected"] = True
        while time.time() < until:
            try:
                async with asyncio.timeout(max(0.01, until - time.time())):
                    text = await socket.recv()
            except TimeoutError:
                break
            received = time.time()
            if received < start:
                continue
            at = _at(json.loads(text)["at"])
            out["lags"].append((received - at) * 1000)
            out["ats"].add(at)
            out["count"] += 1


def _client_process(url: str, count: int, start: float, until: float, queue: Any) -> None:
    async def main() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = [
            {"lags": [], "ats": set(), "count": 0, "connected": False} for _ in range(count)
        ]
        tasks = []
        for i in range(count):  # connect in waves: a thousand handshakes at once is a storm
            tasks.append(asyncio.create_task(_subscriber(url, start, until, results[i])))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.gather(*tasks, return_exceptions=True)
        return results

    results = asyncio.run(main())
    queue.put([{**r, "ats": sorted(r["ats"])} for r in results])


def _cpu_seconds(server: psutil.Process) -> float:
    return float(sum(server.cpu_times()[:2]))


def measure(
    port: int, server: psutil.Process, subscribers: int, seconds: float, procs: int
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/api/v1/metrics/live?token={KEY}"
    procs = max(1, min(procs, subscribers))
    start = time.time() + 5 + subscribers / 100  # everyone connected by then
    until = start + seconds
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    shares = [subscribers // procs + (1 if i < subscribers % procs else 0) for i in range(procs)]
    children = [
        context.Process(target=_client_process, args=(url, n, start, until, queue)) for n in shares
    ]
    for child in children:
        child.start()
    time.sleep(max(0.0, start - time.time()))
    cpu_before, wall_before = _cpu_seconds(server), time.time()
    rss = server.memory_info().rss
    time.sleep(max(0.0, until - time.time()))
    cpu, wall = _cpu_seconds(server) - cpu_before, time.time() - wall_before
    per_subscriber: list[dict[str, Any]] = []
    for _ in children:
        per_subscriber.extend(queue.get(timeout=300))
    for child in children:
        child.join(60)
    lags = sorted(lag for s in per_subscriber for lag in s["lags"])
    rates = [s["count"] / seconds for s in per_subscriber]
    ats = sorted({at for s in per_subscriber for at in s["ats"]})
    ticks_per_s = (len(ats) - 1) / (ats[-1] - ats[0]) if len(ats) > 1 else 0.0
    return {
        "subscribers": subscribers,
        "connected": sum(1 for s in per_subscriber if s["connected"]),
        "updates_per_s": {"mean": round(statistics.mean(rates), 3), "worst": round(min(rates), 3)},
        "lag_ms": {
            "p50": round(lags[len(lags) // 2], 1) if lags else None,
            "p99": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 1) if lags else None,
        },
        "server_cpu": round(cpu / wall, 3),
        "server_rss_mb": round(rss / 1e6, 1),
        "ticks_per_s": round(ticks_per_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1,1000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--client-procs", type=int, default=2)
    args = parser.parse_args()
    counts = [int(c) for c in args.subscribers.split(",")]
    with tempfile.TemporaryDirectory(prefix="ingestd-bench-live-") as folder:
        process, port = start_server(Path(folder))
        try:
            server = psutil.Process(process.pid)
            rows = []
            for count in counts:
                row = measure(port, server, count, args.seconds, args.client_procs)
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            process.terminate()
            process.wait(60)
    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": os.getloadavg(),
        "seconds": args.seconds,
        "baseline": rows[0],
        "rows": rows,
    }
    out = ROOT / "bench" / "results" / "live.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
