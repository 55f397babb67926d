"""What the issue 18 metrics cost (targets: scraping /metrics < 20 ms with 1,000 jobs and
1,000,000 files; the metrics on the hot path < 2 % of files/s).

    .venv/bin/python bench/metrics.py [--files 1000000] [--jobs 1000] [--ingest 400] [--rounds 2]

1. **Scrape**: a SQLite database migrated and filled with ``--jobs`` jobs and ``--files`` file
   rows (with their per-source counters, as the queue keeps them), then the whole ``/metrics``
   body built 30 times (the gauges read from small tables + every counter and histogram
   rendered). Baseline, same run: the old way, counting files by status over the files table.
2. **Hot path**: ``--ingest`` tiny Markdown files through an in-process worker (pipeline
   ``extract``), files/s from the job's first claim to its end, in fresh processes alternating
   metrics on and off (off: every metric call is a no-op), ``--rounds`` each.
3. **Per file**: the metric calls one file makes (about 20), timed in a loop: µs per file,
   set against the measured seconds per file.

Prints a table and writes bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFF = "INGESTD_BENCH_METRICS_OFF"


def metrics_off() -> None:
    """Every metric call a no-op: the "without" side of the hot-path comparison."""
    from prometheus_client import metrics as prom

    class _Noop:
        def inc(self, *_a: Any) -> None: ...
        def dec(self, *_a: Any) -> None: ...
        def set(self, *_a: Any) -> None: ...
        def observe(self, *_a: Any) -> None: ...
        def time(self) -> Any:
            import contextlib

            return contextlib.nullcontext()

    noop = _Noop()
    prom.MetricWrapperBase.labels = lambda self, *a, **k: noop  # type: ignore[method-assign]


# -- 1. scrape ---------------------------------------------------------------------------------
def fill(path: Path, jobs: int, files: int) -> None:
    from ingestd.store.migrate import upgrade_sync

    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    con = sqlite3.connect(path)
    now = time.time()
    per_job = files // jobs
    statuses = ["completed"] * 8 + ["failed", "queued"]
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    for j in range(jobs):
        job_id = f"job_{j:026d}"
        con.execute(
            "INSERT INTO jobs (id, tenant, name, status, priority, pipeline, options, labels, "
            "created_at, updated_at, sealed, max_workers) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                f"t{j % 50}",
                f"job {j}",
                "running",
                ["low", "normal", "high"][j % 3],
                "extract",
                "{}",
                "{}",
                now,
                now,
                1,
                4,
            ),
        )
        counts = dict.fromkeys(["queued", "running", "completed", "failed"], 0)
        rows = []
        for i in range(per_job):
            status = statuses[i % len(statuses)]
            counts[status] += 1
            rows.append(
                (
                    f"file_{j:013d}{i:013d}",
                    job_id,
                    f"t{j % 50}",
                    0,
                    f"f{i}.md",
                    f"d/f{i}.md",
                    2048,
                    status,
                    5,
                    now,
                    "{}",
                    now,
                )
            )
        con.executemany(
            "INSERT INTO files (id, job_id, tenant, source_index, name, path, size, status, "
            "priority_rank, run_after, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        con.execute(
            "INSERT INTO job_sources (job_id, idx, type, spec, state, n_queued, n_running, "
            "n_completed, n_failed) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                0,
                "directory",
                "{}",
                "listed",
                counts["queued"],
                counts["running"],
                counts["completed"],
                counts["failed"],
            ),
        )
        if j % 100 == 99:
            con.commit()
    con.commit()
    con.close()


async def scrape_times(path: Path, rounds: int) -> dict[str, Any]:
    from ingestd.observe import metrics
    from ingestd.services.metric_gauges import database_gauges
    from ingestd.store import files as file_store
    from ingestd.store.db import Database

    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await database_gauges(db)  # warm the pool
        ours, old = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            body = metrics.render(await database_gauges(db))
            ours.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            async with db.read() as conn:
                await file_store.count_by_status(conn, None)
            old.append((time.perf_counter() - started) * 1000)
    finally:
        await db.close()
    return {
        "scrape_ms_median": round(statistics.median(ours), 2),
        "scrape_ms_max": round(max(ours), 2),
        "baseline_count_files_by_status_ms_median": round(statistics.median(old), 2),
        "body_bytes": len(body),
    }


# -- 2. hot path -------------------------------------------------------------------------------
def ingest_once(count: int) -> float:
    """files/s of one job of ``count`` tiny files, in this (fresh) process."""
    if os.environ.get(OFF):
        metrics_off()
    import httpx
    from asgi_lifespan import LifespanManager

    from ingestd.api.app import create_app
    from ingestd.config import Settings
    from ingestd.runtime import Runtime

    async def run() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "src"
            (root / "docs").mkdir(parents=True)
            for i in range(count):
                text = f"# Note {i}\n\n" + f"Sentence {i} of a small note. " * 40
                (root / "docs" / f"n{i:05}.md").write_text(text)
            settings = Settings(
                data_dir=Path(tmp) / "data",
                source_roots=[root],
                admin_key="ik_bench_metrics_0123456789",
                workers=2,
                extract_processes=1,
                worker_process=False,
                rate_limits=False,
            )
            runtime = Runtime(settings)
            app = create_app(settings, runtime=runtime)
            async with LifespanManager(app, startup_timeout=120, shutdown_timeout=120):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport,
                    base_url="http://b",
                    headers={"Authorization": "Bearer ik_bench_metrics_0123456789"},
                    timeout=60,
                ) as client:
                    job = (
                        await client.post(
                            "/api/v1/jobs",
                            json={
                                "sources": [{"type": "directory", "path": "docs"}],
                                "pipeline": "extract",
                                "options": {"skip_existing": False},
                            },
                        )
                    ).json()
                    while True:
                        body = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
                        if body["status"] in ("completed", "failed", "cancelled"):
                            break
                        await asyncio.sleep(0.2)
            from datetime import datetime

            began = datetime.fromisoformat(body["started_at"]).timestamp()
            ended = datetime.fromisoformat(body["completed_at"]).timestamp()
            return count / max(ended - began, 1e-9)

    return asyncio.run(run())


def hot_path(count: int, rounds: int) -> dict[str, Any]:
    on: list[float] = []
    off: list[float] = []
    for _ in range(rounds):
        for side, results in (("on", on), ("off", off)):
            env = {**os.environ, **({OFF: "1"} if side == "off" else {})}
            env.pop(OFF, None) if side == "on" else None
            out = subprocess.run(
                [sys.executable, __file__, "--child-ingest", str(count)],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            results.append(float(out.stdout.strip().splitlines()[-1]))
    best_on, best_off = max(on), max(off)
    return {
        "files_per_s_with_metrics": [round(v, 1) for v in on],
        "files_per_s_without_metrics": [round(v, 1) for v in off],
        "cost_percent_best_of": round((best_off - best_on) / best_off * 100, 2),
    }


# -- 3. per file -------------------------------------------------------------------------------
def per_file_cost(loops: int = 20000) -> float:
    """µs of the metric calls one completed file makes."""
    from ingestd.observe import metrics as m

    started = time.perf_counter()
    for _ in range(loops):
        m.QUEUE_WAIT_SECONDS.labels("normal").observe(0.5)
        m.FILES_IN_FLIGHT.labels("wrk_x").inc()
        for step in ("fetch", "detect", "parse", "record"):
            m.STEP_SECONDS.labels(step).observe(0.01)
        for kind in ("read", "write", "write"):  # claim, complete (batched: fewer in fact)
            m.DB_SECONDS.labels(kind).observe(0.002)
        m.FILES_FINISHED.labels("completed", "text/markdown", "").inc()
        m.FILE_SECONDS.labels("completed").observe(0.05)
        m.FILES_IN_FLIGHT.labels("wrk_x").dec()
        m.PAGES.labels("text_layer").inc(1)
        m.EVENTS_SENT.labels("live").inc(1)
    return (time.perf_counter() - started) / loops * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--ingest", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child-ingest", type=int, default=0)
    args = parser.parse_args()
    if args.child_ingest:
        print(ingest_once(args.child_ingest))
        return
    results: dict[str, Any] = {"machine": platform.platform(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        started = time.perf_counter()
        fill(path, args.jobs, args.files)
        results["fill_seconds"] = round(time.perf_counter() - started, 1)
        results["scrape"] = {
            "jobs": args.jobs,
            "files": args.files,
            **asyncio.run(scrape_times(path, 30)),
        }
    print("scrape:", results["scrape"], flush=True)
    results["per_file_metric_us"] = round(per_file_cost(), 2)
    print("per file metric calls:", results["per_file_metric_us"], "µs", flush=True)
    results["hot_path"] = {"files": args.ingest, **hot_path(args.ingest, args.rounds)}
    on = max(results["hot_path"]["files_per_s_with_metrics"])
    results["per_file_metric_share_percent"] = round(
        results["per_file_metric_us"] * on / 1e6 * 100, 3
    )
    print("hot path:", results["hot_path"], flush=True)
    print("metric calls' share of a file's time:", results["per_file_metric_share_percent"], "%")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
