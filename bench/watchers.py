"""Watchers benchmark: a real job of thousands of small files, watched by 1 to 1,000 subscribers.

One real ``ingestd serve`` (its workers in their child process, SQLite). For each mode and
subscriber count: a fresh job over a directory of ``--files`` small text files is created
unstarted, every subscriber opens the job's WebSocket stream, then the job is started. Modes:

- ``full``: today's stream, one envelope per message;
- ``batch``: ``full`` with ``?batch=1`` (JSON arrays, one frame for whatever is ready);
- ``summary``: ``?detail=summary&batch=1`` (job events and file failures; job progress coalesced).

Subscribers run in ``--client-procs`` processes of their own (uvloop, bare transports, the
minimal WebSocket client of ``bench/events.py``). Each message is parsed (orjson) and every
envelope's ``at`` (when the state change was written) is read; latency = the wall clock after the
parse minus ``at``: the commit, the feed, the fan-out, the socket, and the watcher's own parsing
on the same two cores (events written before the job started, replayed on connect, are not
counted). Reported per scenario: p50/p99 over every (event, subscriber), events
delivered per second (all deliveries / from the job's start to the last subscriber's close),
the server's CPU seconds, and **missed**: state changes in the log (every event but
``file.progress`` and ``job.updated`` progress reports; for ``summary``, those of them that
summary carries) that a subscriber did not get. A subscriber whose stream closes before the job's end (``lagged``,
close 1013, or dropped by the server's ping timeout when it is far behind) resumes with
``after=`` as the SDK and the dashboard do; ``lagged_reconnects`` counts them.
``full`` is the baseline of the same run. ``--baseline DIR`` also measures ``full`` on another
source tree in the same run (its own server, before each count's current rows): the stream as
it was before a change (``git worktree add DIR REV``). Each row says its ``job s`` (the job's
own time: no watcher can have the last event sooner) and the watchers' CPU seconds.

    .venv/bin/python bench/watchers.py [--files 3000] [--subscribers 1,100,1000]
        [--modes full,batch,summary] [--client-procs 2] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import datetime as dt
import functools
import gc
import json
import multiprocessing
import os
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from events import KEY, _get, _raise_fd_limit, _serve, _Subscriber

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "full": "",
    "batch": "&batch=1",
    "summary": "&detail=summary&batch=1",
}
SUMMARY_TYPES = {
    "job.created",
    "job.updated",
    "job.completed",
    "job.failed",
    "job.cancelled",
    "job.deleted",
    "file.failed",
}


def _is_state_change(event: dict[str, Any]) -> bool:
    if event["type"] == "file.progress":
        return False
    data = event.get("data") or {}
    return not (event["type"] == "job.updated" and "progress" in data and "action" not in data)


def _epoch(at: str) -> float:
    return dt.datetime.fromisoformat(at).timestamp()


# -- the watchers (processes of their own) ---------------------------------------------------
class _Watcher(_Subscriber):
    """Parses every message; notes each envelope's latency and seq, and a ``lagged`` notice's
    resume point; done when the connection closes (``close_code`` says how)."""

    def __init__(
        self,
        path: str,
        samples: tuple[array.array[float], array.array[float]],
        seqs: array.array[int],
        done: asyncio.Future[None],
    ):
        loop = asyncio.get_running_loop()
        super().__init__(path, self._on_text, loop.create_future())
        self.ats, self.latencies = samples
        self.seqs = seqs
        self.done = done
        self.last_at = 0.0
        self.resume_after: int | None = None
        self.close_code: int | None = None

    def _on_text(self, payload: bytes, _received: float) -> None:
        body = orjson.loads(payload)
        items = body if isinstance(body, list) else [body]
        now = time.time()
        for item in items:
            if "seq" in item:
                at = _epoch(item["at"])
                self.ats.append(at)
                self.latencies.append(now - at)
                self.seqs.append(item["seq"])
            elif item.get("type") == "lagged":
                self.resume_after = int(item["resume_after"])
        self.last_at = now

    def _fail(self, exc: Exception) -> None:
        text = str(exc)
        if text.startswith("closed by the server: ") and len(text) >= 26:
            self.close_code = int(text[22:26], 16)
        super()._fail(exc)
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.done.done():
            self.done.set_result(None)


class _Slot:
    """One subscriber across reconnections: a lagged stream (close 1013) is resumed with
    ``after=`` as the SDK and the dashboard do, so what it missed shows as missed."""

    def __init__(
        self, port: int, path: str, samples: tuple[array.array[float], array.array[float]]
    ):
        self.port, self.path, self.samples = port, path, samples
        self.seqs: array.array[int] = array.array("q")
        self.last_at = 0.0
        self.reconnects = 0
        self.watcher: _Watcher | None = None

    async def open(self, after: int | None = None) -> _Watcher:
        loop = asyncio.get_running_loop()
        path = self.path if after is None else f"{self.path}&after={after}"
        done: asyncio.Future[None] = loop.create_future()
        _, watcher = await loop.create_connection(
            functools.partial(_Watcher, path, self.samples, self.seqs, done),
            "127.0.0.1",
            self.port,
        )
        self.watcher = watcher
        return watcher

    async def follow(self) -> None:
        while True:
            watcher = self.watcher
            assert watcher is not None
            await watcher.done
            self.last_at = max(self.last_at, watcher.last_at)
            code = watcher.close_code
            if code == 1000 or (code is not None and 4000 <= code < 5000):
                return  # the job ended (or the stream was refused)
            # Lagged (1013), or dropped without a close frame (uvicorn's ping timeout when a
            # watcher is 20 s behind): resume after the last event seen, as the SDK does.
            self.reconnects += 1
            resume = watcher.resume_after
            if self.seqs and (resume is None or self.seqs[-1] > resume):
                resume = self.seqs[-1]
            await self._reopen(resume)

    async def _reopen(self, resume: int | None) -> None:
        """Open again, with backoff while the server refuses or drops the handshake (a
        thousand subscribers resuming at once queue for the database's readers)."""
        delay = 0.5
        for _ in range(12):
            try:
                await (await self.open(resume)).opened
                return
            except (ConnectionError, OSError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
        raise ConnectionError("could not resume the stream")


async def _watch(port: int, path: str, n: int, control: Any, results: Any) -> None:
    loop = asyncio.get_running_loop()
    samples: tuple[array.array[float], array.array[float]] = (array.array("d"), array.array("d"))
    slots = [_Slot(port, path, samples) for _ in range(n)]
    for start in range(0, n, 50):  # handshakes in steps: a burst of them is not measured
        opened = [(await slot.open()).opened for slot in slots[start : start + 50]]
        await asyncio.wait_for(asyncio.gather(*opened), 120)
    gc.freeze()
    results.put("ready")
    cpu = time.process_time()
    await asyncio.wait_for(asyncio.gather(*(slot.follow() for slot in slots)), 1800)
    cpu = time.process_time() - cpu
    expected: list[int] = await loop.run_in_executor(None, control.get)
    wanted = set(expected)
    missed = sum(len(wanted - set(slot.seqs)) for slot in slots)
    results.put(
        {
            "ats": samples[0].tobytes(),
            "latencies": samples[1].tobytes(),
            "deliveries": sum(len(slot.seqs) for slot in slots),
            "last_at": max(slot.last_at for slot in slots),
            "missed": missed,
            "reconnects": sum(slot.reconnects for slot in slots),
            "cpu_s": cpu,
        }
    )


def _watch_process(port: int, path: str, n: int, control: Any, results: Any) -> None:
    _raise_fd_limit()
    uvloop.run(_watch(port, path, n, control, results))


# -- the run ----------------------------------------------------------------------------------
async def _each(results: Any, procs: list[Any], seconds: float) -> list[Any]:
    out: list[Any] = []
    deadline = time.monotonic() + seconds
    while len(out) < len(procs):
        with contextlib.suppress(queue.Empty):
            out.append(await _get(results, 1))
            continue
        if any(p.exitcode not in (None, 0) for p in procs):
            raise SystemExit("a watcher process failed")
        if time.monotonic() > deadline:
            raise TimeoutError("the watcher processes did not answer")
    return out


async def _log(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await client.get(f"/api/v1/jobs/{job_id}/events", params={"after": after})).json()
        if not page["items"]:
            return items
        items += page["items"]
        after = page["next"]


def _pct(samples: list[float], q: float) -> float:
    return round(1000 * samples[min(len(samples) - 1, int(q * len(samples)))], 1)


async def _scenario(
    port: int, pid: int, docs: Path, mode: str, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    server = psutil.Process(pid)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    ) as client:
        created = await client.post(
            "/api/v1/jobs",
            json={
                "name": f"watchers {mode} {n}",
                "sources": [{"type": "directory", "path": str(docs)}],
                "options": {"skip_existing": False},
                "start": False,
            },
        )
        created.raise_for_status()
        job_id = created.json()["id"]
        path = f"/api/v1/jobs/{job_id}/events?x=1{MODES[mode]}"
        context = multiprocessing.get_context("spawn")
        control, results = context.Queue(), context.Queue()
        procs_n = min(args.client_procs, n)
        shares = [n // procs_n + (1 if i < n % procs_n else 0) for i in range(procs_n)]
        procs = [
            context.Process(target=_watch_process, args=(port, path, share, control, results))
            for share in shares
        ]
        for proc in procs:
            proc.start()
        try:
            assert await _each(results, procs, 300) == ["ready"] * len(procs)
            cpu_before = sum(server.cpu_times()[:2])
            started = time.time()
            (await client.post(f"/api/v1/jobs/{job_id}/actions/start")).raise_for_status()
            # The watchers end when their streams close (the job's final event).
            log = await _wait_log(client, job_id)
            job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
            wanted = [
                e["seq"]
                for e in log
                if _is_state_change(e) and (mode != "summary" or e["type"] in SUMMARY_TYPES)
            ]
            for _ in procs:
                control.put(wanted)
            parts = await _each(results, procs, 1200)
            cpu = sum(server.cpu_times()[:2]) - cpu_before
        finally:
            for proc in procs:
                proc.join(30)
    latencies: list[float] = []
    for part in parts:
        ats, samples = array.array("d"), array.array("d")
        ats.frombytes(part["ats"])
        samples.frombytes(part["latencies"])
        # Live events only: what was written before the job started (job.created) is replay.
        latencies.extend(lat for at, lat in zip(ats, samples, strict=True) if at >= started)
    latencies.sort()
    deliveries = sum(p["deliveries"] for p in parts)
    seconds = max(p["last_at"] for p in parts) - started
    return {
        "mode": mode,
        "subscribers": n,
        "files": args.files,
        "log_events": len(log),
        "deliveries": deliveries,
        "seconds": round(seconds, 1),
        "events_per_s": round(deliveries / seconds),
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
        "server_cpu_s": round(cpu, 1),
        # the floor: no watcher gets the last event before the job has written it
        "job_s": round(_epoch(job["completed_at"]) - _epoch(job["started_at"]), 1),
        "watchers_cpu_s": round(sum(p["cpu_s"] for p in parts), 1),
        "missed_state_changes": sum(p["missed"] for p in parts),
        "lagged_reconnects": sum(p["reconnects"] for p in parts),
        "load": os.getloadavg()[0],
    }


async def _wait_log(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    while True:
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return await _log(client, job_id)
        await asyncio.sleep(0.5)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--subscribers", default="1,100,1000")
    parser.add_argument("--modes", default="full,batch,summary")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another source tree (e.g. the commit before a change: git worktree add DIR REV) "
        "whose full stream is measured in the same run, before each count's current rows",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "watchers.json")
    args = parser.parse_args()
    _raise_fd_limit()
    counts = [int(n) for n in args.subscribers.split(",") if n]
    modes = [m for m in args.modes.split(",") if m]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        data = Path(tmp)
        docs = data / "docs"
        docs.mkdir()
        for i in range(args.files):
            (docs / f"note{i:05d}.txt").write_text(f"note {i}\nsmall file number {i}\n")
        (data / "current").mkdir()
        roots = {"INGESTD_SOURCE_ROOTS": str(data)}  # the notes are read from data/docs
        port, pid = servers.enter_context(_serve(ROOT, data / "current", roots))
        base: tuple[int, int] | None = None
        if args.baseline is not None:
            (data / "baseline").mkdir()
            base = servers.enter_context(_serve(args.baseline, data / "baseline", roots))
        for n in counts:  # each count once per mode, modes interleaved: the load drifts
            runs = [("baseline", *base, "full")] if base else []
            runs += [("current", port, pid, mode) for mode in modes]
            for tree, at_port, at_pid, mode in runs:
                row = {"tree": tree, **await _scenario(at_port, at_pid, docs, mode, n, args)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    result = {
        "rows": rows,
        "ratios": _ratios(rows),
        "cpus": os.cpu_count(),
        "baseline": str(args.baseline) if args.baseline else None,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": "shared machine: compare rows of the same run only; full is the baseline",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(_table(rows))
    for n, ratio in result["ratios"].items():
        print(f"{n} subscribers: " + ", ".join(f"{k} {v}x" for k, v in ratio.items()))


def _ratios(rows: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """Per subscriber count: batch's events/s over full's (this tree's, and the baseline's)."""
    out: dict[int, dict[str, float]] = {}
    for n in sorted({r["subscribers"] for r in rows}):
        rate = {(r["tree"], r["mode"]): r["events_per_s"] for r in rows if r["subscribers"] == n}
        batch = rate.get(("current", "batch"))
        if not batch:
            continue
        for tree in ("current", "baseline"):
            if rate.get((tree, "full")):
                out.setdefault(n, {})[f"batch/{tree} full"] = round(batch / rate[(tree, "full")], 2)
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| tree | mode | subscribers | deliveries | s | job s | events/s | p50 ms | p99 ms "
        "| server CPU s | watchers CPU s | missed | resumes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tree']} | {r['mode']} | {r['subscribers']} | {r['deliveries']} | {r['seconds']} | "
            f"{r['job_s']} | {r['events_per_s']} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['server_cpu_s']} | {r['watchers_cpu_s']} | {r['missed_state_changes']} | "
            f"{r['lagged_reconnects']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
