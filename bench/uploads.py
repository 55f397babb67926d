"""Upload throughput over loopback: tus (several chunk sizes) and multipart, against a baseline.

Starts a real ``ingestd serve`` (API only, no workers, so nothing else competes) and uploads one
generated file of ``--size`` bytes each way. Right before every upload it measures the baseline
on the same bytes — read the file, sha256 it, write a copy, in 1 MB blocks like the server: the
floor of what an upload must do — so each ratio compares two runs made seconds apart (the
machine may be shared and busy; ratios survive that, absolute MB/s do not). Every case runs
``--repeat`` times; the table shows the median MB/s with the range of the runs, the median
ratio, and the median server CPU.

Per case it also reports the server's CPU seconds (all threads) and the client's, and the peak
growth of the server's RSS. With ``--null`` the same clients also send into a null server (the
stdlib's ``http.server`` discarding bodies) to show what the client and loopback alone reach.

Clients (all from this process): tus with ``httpx`` over one keep-alive connection, each PATCH
body streamed from the file in 1 MB pieces; tus with ``tuspy`` too (the client ``ingestd submit``
uses: a new connection per PATCH, each chunk read into memory first — at 32 MB chunks and more
it is itself a limit, see the client-only rows); multipart with ``httpx`` streaming the body in
1 MB pieces (its ``files=`` encoder streams 64 KB pieces, which costs the client more CPU).

    .venv/bin/python bench/uploads.py [--size 1073741824] [--chunks 8,32,128] [--repeat 3] [--null]
                                      [--tuspy-chunk 32 (0: no tuspy runs)]

Writes ``bench/results/uploads.json``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import psutil
from tusclient import client as tus_client

KEY = "ik_bench_admin_key_0123456789abcdef"
MB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
BLOCK = MB  # the server's block size (ingestd.uploads.sink.BLOCK), used by the baseline too


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MB)
    with path.open("wb") as out:
        left = size
        while left:
            out.write(block[: min(left, len(block))])
            left -= min(left, len(block))


def _baseline(source: Path, work: Path) -> dict[str, float]:
    """Read + sha256 + write a copy of the same bytes: the floor of what an upload must do."""
    target = work / "copy.bin"
    cpu = os.times()
    started = time.perf_counter()
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        for block in iter(lambda: src.read(BLOCK), b""):
            digest.update(block)
            dst.write(block)
    elapsed = time.perf_counter() - started
    done = os.times()
    target.unlink()
    return {"seconds": elapsed, "cpu": done.user - cpu.user + done.system - cpu.system}


class Sampler:
    """Peak RSS and CPU time of a process (and its children) while the block runs."""

    def __init__(self, pid: int | None) -> None:
        self.process = psutil.Process(pid) if pid else None
        self.peak = self.base = 0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _cpu(self) -> float:
        if self.process is None:
            return 0.0
        procs = [self.process, *self.process.children(recursive=True)]
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    def __enter__(self) -> Sampler:
        if self.process is not None:
            self.base = self.peak = self.process.memory_info().rss
            self._cpu0 = self._cpu()
            self._thread.start()
        self._client0 = os.times()
        return self

    def __exit__(self, *exc: object) -> None:
        client = os.times()
        self.client_cpu = client.user - self._client0.user + client.system - self._client0.system
        if self.process is not None:
            self._stop.set()
            self._thread.join()
            self.cpu = self._cpu() - self._cpu0

    def _run(self) -> None:
        assert self.process is not None
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)


# -- clients ------------------------------------------------------------------------------


def _job(http: httpx.Client) -> str:
    # A job takes files up to its max_file_size (100 MB by default): room for the bench's file.
    options = {"max_file_size": 64 * 1024**3}
    response = http.post("/api/v1/jobs", json={"sources": [{"type": "upload"}], "options": options})
    response.raise_for_status()
    return str(response.json()["id"])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _pieces(stream: BinaryIO, length: int) -> Iterator[bytes]:
    while length:
        piece = stream.read(min(MB, length))
        if not piece:
            raise EOFError("the file ended early")
        length -= len(piece)
        yield piece


def _tus(url: str, http: httpx.Client, source: Path, chunk: int) -> None:
    """tus core by hand: one keep-alive connection, each PATCH streamed in 1 MB pieces (so the
    client neither holds a chunk in memory nor opens a connection per chunk)."""
    job_id = _job(http)
    size = source.stat().st_size
    created = http.post(
        f"{url}/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": str(size),
            "Upload-Metadata": f"job_id {_b64(job_id)},filename {_b64('b.bin')}",
        },
    )
    created.raise_for_status()
    location, offset = created.headers["location"], 0
    with source.open("rb") as stream:
        while offset < size:
            length = min(chunk, size - offset)
            response = http.patch(
                location,
                content=_pieces(stream, length),
                headers={
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(length),
                },
            )
            response.raise_for_status()
            offset = int(response.headers["upload-offset"])


def _tuspy(url: str, http: httpx.Client, source: Path, chunk: int) -> None:
    """tuspy, the client ``ingestd submit`` uses: a new ``requests`` connection per PATCH, each
    chunk read into memory first."""
    job_id = _job(http)
    tus = tus_client.TusClient(f"{url}/api/v1/uploads", headers={"Authorization": f"Bearer {KEY}"})
    with source.open("rb") as stream:
        uploader = tus.uploader(
            file_stream=stream, chunk_size=chunk, metadata={"job_id": job_id, "filename": "b.bin"}
        )
        uploader.upload()


def _multipart(url: str, http: httpx.Client, source: Path, chunk: int) -> None:
    job_id = _job(http)
    boundary = "ingestd-bench-boundary-7d1f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with source.open("rb") as stream:
            yield from iter(lambda: stream.read(MB), b"")
        yield tail

    length = len(head) + source.stat().st_size + len(tail)
    response = http.post(
        f"/api/v1/jobs/{job_id}/files",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        },
    )
    response.raise_for_status()


Upload = Callable[[str, httpx.Client, Path, int], None]
CLIENTS: dict[str, Upload] = {"tus": _tus, "tuspy": _tuspy, "multipart": _multipart}


# -- the null server: what the clients and loopback reach with nothing behind them -----------


class _NullHandler(BaseHTTPRequestHandler):
    """Answers just enough of tus and the jobs API for the clients above; drops every body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _drain(self) -> int:
        left = int(self.headers.get("Content-Length") or 0)
        buffer = memoryview(bytearray(BLOCK))
        while left:
            got = self.rfile.readinto(buffer[: min(left, BLOCK)])
            if not got:
                break
            left -= got
        return int(self.headers.get("Content-Length") or 0)

    def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self._drain()
        if self.path == "/api/v1/jobs":
            self._answer(201, {"Content-Type": "application/json"}, b'{"id": "job_null"}')
        elif self.path == "/api/v1/uploads":
            location = f"http://{self.headers['Host']}/api/v1/uploads/null"
            self._answer(201, {"Location": location, "Upload-Offset": "0"})
        else:
            self._answer(201, {"Content-Type": "application/json"}, b'{"items": []}')

    def do_PATCH(self) -> None:
        offset = int(self.headers.get("Upload-Offset") or 0) + self._drain()
        self._answer(204, {"Upload-Offset": str(offset), "Tus-Resumable": "1.0.0"})


def _null_server() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NullHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# -- running ------------------------------------------------------------------------------


def _start_server(work: Path, size: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "INGESTD_ADMIN_KEY": KEY,
        "INGESTD_MAX_UPLOAD_SIZE": str(size * 2),
        "INGESTD_RATE_LIMITS": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ingestd", "serve", "--port", str(port), "--workers", "0",
         "--data-dir", str(work / "data"), "--source-root", str(work)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _measure(
    upload: Upload, url: str, pid: int | None, source: Path, chunk: int
) -> dict[str, float]:
    with (
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=600) as http,
        Sampler(pid) as sample,
    ):
        started = time.perf_counter()
        upload(url, http, source, chunk)
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "server_cpu": sample.cpu,
        "client_cpu": sample.client_cpu,
        "rss_growth_mb": (sample.peak - sample.base) / MB,
    }


def _summary(name: str, runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    gb = size / 1024**3
    rates = [size / MB / r["seconds"] for r in runs]
    row: dict[str, Any] = {
        "method": name,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "mb_s": statistics.median(rates),
        "mb_s_range": [min(rates), max(rates)],
        "server_cpu_s_per_gb": statistics.median(r["server_cpu"] for r in runs) / gb,
        "server_cpu_range": [
            min(r["server_cpu"] for r in runs) / gb,
            max(r["server_cpu"] for r in runs) / gb,
        ],
        "client_cpu_s_per_gb": statistics.median(r["client_cpu"] for r in runs) / gb,
        "rss_growth_mb": max(r["rss_growth_mb"] for r in runs),
        "runs": runs,
    }
    if "baseline" in runs[0]:
        row["of_baseline"] = statistics.median(r["baseline"] / r["seconds"] for r in runs)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024**3)
    parser.add_argument("--chunks", default="8,32,128", help="tus chunk sizes in MB")
    parser.add_argument("--tuspy-chunk", type=int, default=32, help="tuspy's chunk in MB; 0: none")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case")
    parser.add_argument("--null", action="store_true", help="also measure into a null server")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingestd-bench-"))
    load_before = os.getloadavg()
    server, url = _start_server(work, args.size)
    null, null_url = _null_server()
    cases = [(f"tus, {c} MB chunks", "tus", int(c) * MB) for c in args.chunks.split(",")]
    if args.tuspy_chunk:
        cases.append((f"tus via tuspy, {args.tuspy_chunk} MB", "tuspy", args.tuspy_chunk * MB))
    cases.append(("multipart", "multipart", 0))
    try:
        source = work / "source.bin"
        _make_file(source, args.size)
        baselines: list[dict[str, float]] = []
        rows = []
        for name, kind, chunk in cases:
            runs = []
            for _ in range(args.repeat):
                base = _baseline(source, work)
                baselines.append(base)
                run = _measure(CLIENTS[kind], url, server.pid, source, chunk)
                runs.append({**run, "baseline": base["seconds"]})
            rows.append(_summary(name, runs, args.size))
            if args.null:
                null_runs = [
                    _measure(CLIENTS[kind], null_url, None, source, chunk)
                    for _ in range(args.repeat)
                ]
                rows.append(_summary(f"  client only: {name}", null_runs, args.size))
        # the baseline's CPU is the bench process's own: shown in the server column
        as_runs = [{**b, "server_cpu": b["cpu"], "client_cpu": 0.0, "rss_growth_mb": 0.0}
                   for b in baselines]  # fmt: skip
        rows.insert(0, _summary("baseline: read+sha256+write", as_runs, args.size))
        _report(rows, args.size, {"before": load_before, "after": os.getloadavg()})
    finally:
        null.shutdown()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _report(rows: list[dict[str, Any]], size: int, load: dict[str, Any]) -> None:
    print(f"{size / MB:,.0f} MB over loopback; load average {load['before'][0]:.1f} → "
          f"{load['after'][0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print("MB/s and server CPU: median of the runs (range); of base: median ratio to the baseline")
    header = f"{'method':<34} {'MB/s':>14} {'of base':>8} {'srv CPU s/GB':>17} {'cli CPU s/GB':>13} {'RSS +MB':>8}"
    print(header)
    for row in rows:
        low, high = row["mb_s_range"]
        rate = f"{row['mb_s']:.0f} ({low:.0f}-{high:.0f})"
        share = f"{row['of_baseline'] * 100:.0f}%" if "of_baseline" in row else "-"
        rss = f"{row['rss_growth_mb']:.1f}" if row["rss_growth_mb"] else "-"
        cpu_low, cpu_high = row["server_cpu_range"]
        server_cpu = (
            f"{row['server_cpu_s_per_gb']:.2f} ({cpu_low:.2f}-{cpu_high:.2f})"
            if row["server_cpu_s_per_gb"]
            else "-"
        )
        client_cpu = f"{row['client_cpu_s_per_gb']:.2f}" if row["client_cpu_s_per_gb"] else "-"
        print(
            f"{row['method']:<34} {rate:>14} {share:>8} {server_cpu:>17} {client_cpu:>13} {rss:>8}"
        )
    out = Path(__file__).parent / "results" / "uploads.json"
    out.parent.mkdir(exist_ok=True)
    payload = {
        "size_bytes": size,
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "server_block_bytes": BLOCK,
        "rows": rows,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
