"""End-to-end ingestion through a real ``ingestd serve`` (SQLite, embedded workers).

    .venv/bin/python bench/ingest.py [--small 2000] [--pdfs 16] [--docx 8] [--workers N]

Measures, in one run:
- files/s and MB/s for small text + Markdown files, ~1 MB PDFs, ~1 MB DOCX (pipeline ``full``);
- a baseline on the same bytes: reading and sha256-hashing every file in one Python loop;
- p50/p99 of ``GET /api/v1/jobs/{id}`` while every worker is busy.
Prints a table and writes bench/results/ingest.json. Targets (issue #2): ≥ 300 small files/s,
job status p99 < 20 ms under full worker load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extractors import make_docx, make_pdf, sentence  # noqa: E402

KEY = "ik_bench_admin_key_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_small(folder: Path, count: int, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        body = "\n\n".join(sentence(rng, 14) for _ in range(8))
        if i % 2:
            (folder / f"note{i:05}.md").write_text(f"# Note {i}\n\n## Part\n\n{body}\n")
        else:
            (folder / f"text{i:05}.txt").write_text(f"Text {i}\n\n{body}\n")


def make_big(folder: Path, kind: str, count: int, rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        if kind == "pdf":
            make_pdf(folder / f"doc{i:03}.pdf", 1_000_000, rng)
        else:
            make_docx(folder / f"doc{i:03}.docx", 1_000_000, rng)


def baseline(folder: Path) -> dict[str, float]:
    """Read and hash every file: the floor any ingestion pays."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    started = time.perf_counter()
    size = 0
    for path in files:
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        size += len(data)
    elapsed = time.perf_counter() - started
    return {"files_per_s": len(files) / elapsed, "mb_per_s": size / 1e6 / elapsed}


class Server:
    def __init__(self, root: Path, workers: int | None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "INGESTD_ADMIN_KEY": KEY, "INGESTD_POLL_SECONDS": "0.05"}
        command = [
            sys.executable,
            "-m",
            "ingestd",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(root / "data"),
            "--source-root",
            str(root),
            "--log-level",
            "warning",
        ]
        if workers:
            command += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        )
        for _ in range(300):
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("server did not start")

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(30)


def run_job(server: Server, path: str, *, probe: bool = False) -> dict[str, Any]:
    body = {
        "sources": [{"type": "directory", "path": path}],
        "options": {"max_workers": 64, "skip_existing": False},
    }
    started = time.perf_counter()
    job = server.client.post("/api/v1/jobs", json=body).json()
    latencies: list[float] = []
    stop = threading.Event()
    prober = (
        threading.Thread(target=_probe, args=(server, job["id"], latencies, stop))
        if probe
        else None
    )
    if prober:
        prober.start()
    while True:
        current = server.client.get(f"/api/v1/jobs/{job['id']}").json()
        if current["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    if prober:
        prober.join()
    files = current["progress"]["files"]
    size = current["progress"]["bytes"]["total"]
    result = {
        "status": current["status"],
        "files": files["total"],
        "failed": files["failed"],
        "bytes": size,
        "seconds": round(elapsed, 3),
        "files_per_s": round(files["total"] / elapsed, 1),
        "mb_per_s": round(size / 1e6 / elapsed, 2),
    }
    if latencies:
        ordered = sorted(latencies)
        result["status_latency_ms"] = {
            "samples": len(ordered),
            "p50": round(statistics.median(ordered), 2),
            "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
            "max": round(ordered[-1], 2),
        }
    return result


def _probe(server: Server, job_id: str, latencies: list[float], stop: threading.Event) -> None:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    ) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"/api/v1/jobs/{job_id}")
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--pdfs", type=int, default=16)
    parser.add_argument("--docx", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("generating corpus…", flush=True)
        make_small(root / "small", args.small, rng)
        make_big(root / "pdf", "pdf", args.pdfs, rng)
        make_big(root / "docx", "docx", args.docx, rng)
        for name in ("small", "pdf", "docx"):
            results[f"baseline_read_hash_{name}"] = baseline(root / name)
        server = Server(root, args.workers)
        try:
            results["small_text_md"] = run_job(server, "small")
            results["pdf_1mb"] = run_job(server, "pdf", probe=True)
            results["docx_1mb"] = run_job(server, "docx", probe=True)
        finally:
            server.close()
    print(
        f"{'corpus':<16}{'files':>7}{'seconds':>9}{'files/s':>9}{'MB/s':>8}{'status p50/p99 ms':>20}"
    )
    for name in ("small_text_md", "pdf_1mb", "docx_1mb"):
        r = results[name]
        lat = r.get("status_latency_ms")
        lat_text = f"{lat['p50']}/{lat['p99']}" if lat else "-"
        print(
            f"{name:<16}{r['files']:>7}{r['seconds']:>9}{r['files_per_s']:>9}{r['mb_per_s']:>8}{lat_text:>20}"
        )
    for name in ("small", "pdf", "docx"):
        b = results[f"baseline_read_hash_{name}"]
        print(
            f"baseline read+sha256 {name}: {b['files_per_s']:.0f} files/s, {b['mb_per_s']:.0f} MB/s"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
