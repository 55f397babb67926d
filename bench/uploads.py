"""Upload throughput over loopback: tus (several chunk sizes) and multipart, against a baseline.

Starts a real ``ingestd serve`` (API only, no workers, so nothing else competes), uploads one
generated file of ``--size`` bytes each way, and samples the server's RSS. The baseline, measured
in the same run on the same bytes, is what the server has to do at least: copy the file and
sha256 it. Prints a table and writes ``bench/results/uploads.json``.

    .venv/bin/python bench/uploads.py [--size 1073741824]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from tusclient import client as tus_client

KEY = "ik_bench_admin_key_0123456789abcdef"
MB = 1024 * 1024


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


def _baseline(source: Path, work: Path) -> float:
    """Copy + sha256 of the same bytes: the floor of what an upload must do."""
    target = work / "copy.bin"
    started = time.perf_counter()
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        for block in iter(lambda: src.read(4 * MB), b""):
            digest.update(block)
            dst.write(block)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


class Sampler:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)


def _job(http: httpx.Client) -> str:
    response = http.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
    response.raise_for_status()
    return str(response.json()["id"])


def _tus(url: str, http: httpx.Client, source: Path, chunk: int) -> None:
    job_id = _job(http)
    tus = tus_client.TusClient(f"{url}/api/v1/uploads", headers={"Authorization": f"Bearer {KEY}"})
    with source.open("rb") as stream:
        uploader = tus.uploader(
            file_stream=stream, chunk_size=chunk, metadata={"job_id": job_id, "filename": "b.bin"}
        )
        uploader.upload()


def _multipart(http: httpx.Client, source: Path) -> None:
    job_id = _job(http)
    with source.open("rb") as stream:
        response = http.post(
            f"/api/v1/jobs/{job_id}/files",
            files=[("file", ("b.bin", stream, "application/octet-stream"))],
        )
    response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024**3)
    parser.add_argument("--chunks", default="8,32,128", help="tus chunk sizes in MB")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingestd-bench-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "INGESTD_ADMIN_KEY": KEY,
        "INGESTD_MAX_UPLOAD_SIZE": str(args.size * 2),
        "INGESTD_RATE_LIMITS": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ingestd", "serve", "--port", str(port), "--workers", "0",
         "--data-dir", str(work / "data"), "--source-root", str(work)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        source = work / "source.bin"
        _make_file(source, args.size)
        for _ in range(300):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        base = _baseline(source, work)
        rows: list[dict[str, Any]] = [
            {"method": "baseline: copy + sha256", "seconds": base, "mb_s": args.size / MB / base}
        ]
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=600
        ) as http:
            cases = [(f"tus, {c} MB chunks", int(c)) for c in args.chunks.split(",")]
            for name, chunk in [*cases, ("multipart", 0)]:
                with Sampler(server.pid) as rss:
                    started = time.perf_counter()
                    if chunk:
                        _tus(url, http, source, chunk * MB)
                    else:
                        _multipart(http, source)
                    elapsed = time.perf_counter() - started
                rows.append(
                    {
                        "method": name,
                        "seconds": elapsed,
                        "mb_s": args.size / MB / elapsed,
                        "of_baseline": base / elapsed,
                        "rss_growth_mb": (rss.peak - rss.base) / MB,
                    }
                )
        _report(rows, args.size)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _report(rows: list[dict[str, Any]], size: int) -> None:
    print(f"{size / MB:,.0f} MB over loopback")
    print(f"{'method':<26} {'seconds':>8} {'MB/s':>8} {'of base':>8} {'RSS +MB':>8}")
    for row in rows:
        share = f"{row['of_baseline'] * 100:.0f}%" if "of_baseline" in row else "-"
        rss = f"{row['rss_growth_mb']:.1f}" if "rss_growth_mb" in row else "-"
        print(f"{row['method']:<26} {row['seconds']:>8.2f} {row['mb_s']:>8.0f} {share:>8} {rss:>8}")
    out = Path(__file__).parent / "results" / "uploads.json"
    out.parent.mkdir(exist_ok=True)
    payload = {"size_bytes": size, "cpu_count": os.cpu_count(), "rows": rows}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
