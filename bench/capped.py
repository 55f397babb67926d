"""A per-job ``max_workers`` against the same job uncapped (issue #12, item 1).

    .venv/bin/python bench/capped.py [--files 400] [--workers 2] [--rounds 3]

Runs a real ``ingestd serve`` with ``--workers N`` parser processes (2 by default), on SQLite
and on PostgreSQL in the same run, and gives it, one after the other, the same folder of tiny
Markdown files (~2 KB) three times: uncapped, with ``max_workers: 1`` and with ``max_workers``
equal to the parsers, ``--rounds`` times. files/s is measured by the server itself, from the
job's first claim (``started_at``) to its end (``completed_at``), so the bench's own polling
adds no error. The noise is the uncapped job's own spread over the rounds: a capped mean at or
above the slowest uncapped round is "within noise".

Targets: ``max_workers: 1`` at least 40 % of the uncapped files/s (one slot against N parsers);
``max_workers`` >= parsers the same as uncapped, within noise. Writes bench/results/capped.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from extractors import sentence  # noqa: E402

KEY = "ik_bench_capped_key_0123456789abcdef"
PG_DSN = os.environ.get("INGESTD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_notes(folder: Path, count: int) -> None:
    """``count`` Markdown notes of about 2 KB each, all different (no duplicates to skip)."""
    rng = random.Random(12)
    folder.mkdir(parents=True)
    for i in range(count):
        body = "\n\n".join(sentence(rng, 30) for _ in range(8))
        (folder / f"note{i:04}.md").write_text(f"# Note {i}\n\n{body}\n")


class Server:
    """``ingestd serve`` with default queue settings (the poll is a fallback: it must not
    matter), its own data directory, and the folder under its source root."""

    def __init__(self, root: Path, database_url: str | None, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "INGESTD_ADMIN_KEY": KEY, "INGESTD_RATE_LIMITS": "false"}
        command = [sys.executable, "-m", "ingestd", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(root / f"data-{secrets.token_hex(3)}")]
        command += ["--source-root", str(root), "--workers", str(workers), "--log-level", "warning"]
        if database_url:
            command += ["--database-url", database_url]
        self.process = subprocess.Popen(
            command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not start")

    def run(self, folder: str, max_workers: int | None) -> dict[str, Any]:
        options: dict[str, Any] = {"skip_existing": False}
        if max_workers:
            options["max_workers"] = max_workers
        body = {"sources": [{"type": "directory", "path": folder}], "options": options}
        created = self.client.post("/api/v1/jobs", json=body)
        created.raise_for_status()
        job_id = created.json()["id"]
        while True:
            job = self.client.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.25)
        seconds = _at(job["completed_at"]) - _at(job["started_at"])
        files = job["progress"]["files"]["total"]
        return {
            "max_workers": max_workers,
            "status": job["status"],
            "files": files,
            "seconds": round(seconds, 3),
            "files_per_s": round(files / seconds, 1),
        }

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(60)


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _pg(statement: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def measure(root: Path, backend: str, workers: int, rounds: int) -> list[dict[str, Any]]:
    database, url = None, None
    if backend == "postgres":
        database = f"ingestd_bench_capped_{secrets.token_hex(3)}"
        asyncio.run(_pg(f"CREATE DATABASE {database}"))
        url = f"{PG_DSN.rsplit('/', 1)[0]}/{database}"
    server = Server(root, url, workers)
    rows = []
    try:
        server.run("warm", None)  # parser processes started, imports done
        for n in range(rounds):
            for cap in (None, 1, workers):
                row = {"backend": backend, "round": n + 1, **server.run("notes", cap)}
                print(row, flush=True)
                rows.append(row)
    finally:
        server.close()
        if database:
            asyncio.run(_pg(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
    return rows


def summary(rows: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for backend in sorted({r["backend"] for r in rows}):
        mine = [r for r in rows if r["backend"] == backend]

        def rate(cap: int | None, mine: list[dict[str, Any]] = mine) -> float:
            values = [r["files_per_s"] for r in mine if r["max_workers"] == cap]
            return sum(values) / len(values)

        def spread(cap: int | None, mine: list[dict[str, Any]] = mine) -> list[float]:
            values = [r["files_per_s"] for r in mine if r["max_workers"] == cap]
            return [min(values), max(values)]

        uncapped = rate(None)
        low, high = spread(None)
        out[backend] = {
            "uncapped_files_per_s": round(uncapped, 1),
            "max_workers_1_files_per_s": round(rate(1), 1),
            f"max_workers_{workers}_files_per_s": round(rate(workers), 1),
            "max_workers_1_share": round(rate(1) / uncapped, 2),
            f"max_workers_{workers}_share": round(rate(workers) / uncapped, 2),
            # the noise: the uncapped job's own spread over the rounds of this run
            "uncapped_range": [low, high],
            f"max_workers_{workers}_range": spread(workers),
            f"max_workers_{workers}_within_noise": rate(workers) >= low,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2, help="parser processes")
    parser.add_argument("--rounds", type=int, default=3, help="the spread of rounds is the noise")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg(),
        },
        "files": args.files,
        "parsers": args.workers,
    }
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_notes(root / "notes", args.files)
        make_notes(root / "warm", 20)
        for backend in ("sqlite", *(() if args.skip_postgres else ("postgres",))):
            rows += measure(root, backend, args.workers, args.rounds)
    results["runs"] = rows
    results["summary"] = summary(rows, args.workers)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    print(
        f"\n{'backend':<10}{'uncapped':>10}{'max_workers 1':>15}{f'max_workers {args.workers}':>15}"
    )
    for backend, s in results["summary"].items():
        one = f"{s['max_workers_1_files_per_s']} ({s['max_workers_1_share']:.0%})"
        cap = s[f"max_workers_{args.workers}_files_per_s"]
        share = s[f"max_workers_{args.workers}_share"]
        print(f"{backend:<10}{s['uncapped_files_per_s']:>10}{one:>15}{f'{cap} ({share:.0%})':>15}")
        low, high = s["uncapped_range"]
        c_low, c_high = s[f"max_workers_{args.workers}_range"]
        verdict = "within" if s[f"max_workers_{args.workers}_within_noise"] else "below"
        print(
            f"{'':<10}uncapped rounds {low}-{high}; max_workers {args.workers} rounds "
            f"{c_low}-{c_high}: its mean is {verdict} the uncapped rounds' range"
        )
    print(
        "files/s from each job's first claim to its end; targets: max_workers 1 >= 40 % of "
        "uncapped, max_workers >= parsers = uncapped within noise"
    )
    print(
        f"load average at start {results['machine']['load_avg_at_start']}, at end "
        f"{results['machine']['load_avg_at_end']}: other sessions share these cores"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "capped.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
