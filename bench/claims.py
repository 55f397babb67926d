"""Queue throughput: claims + completions with no-op work, and CPU-bound PDFs, on real processes.

    .venv/bin/python bench/claims.py [--noop 20000] [--pdfs 24] [--windows 16,128] [--skip-pdf]

Measures, in one run:
- no-op claims+completions/s on PostgreSQL with 1, 2 and 4 worker processes and on SQLite with
  1 and 2, for each configured window (parsers x ``--prefetch``: 16 is the default, 128 is
  ``--prefetch 64``): each process runs the worker's claim loop (``claim_next_files`` when half the
  window is free, the window sized by the worker's own ``ClaimWindow``, which grows while files
  finish fast) and its real ``Committer`` (completions batched while the previous commit runs),
  with the pipeline replaced by nothing, all started together behind a barrier; plus one
  process with the window held at 16 (the behaviour before ``ClaimWindow``), for reference;
- a baseline on the same PostgreSQL: the bare minimum of a queue (one ``UPDATE … SKIP LOCKED``
  to claim a window, one ``UPDATE`` to finish it, no counters, events or fairness), 1 process;
- files/s for generated CPU-bound PDFs (pipeline ``extract``): on PostgreSQL with 1 and 2 real
  ``ingestd worker`` processes (one parser each, default settings); on SQLite with one worker of
  1 and 2 parser processes (the embedded way to scale) and, for comparison, 2 worker processes;
  the baseline of parsing the same PDFs in one loop, and in two loops at once (what these cores
  give); and, per run, the CPU milliseconds per file of each role (parsers, the workers' main
  processes, PostgreSQL, everything else).
Prints a table and writes bench/results/claims.json. Targets (issue #6): ≥ 3,000 no-op
claims+completions/s on 2 cores; ≥ 1.8x from 1 to 2 worker processes on CPU-bound files.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extractors import make_pdf  # noqa: E402

from ingestd.config import MAX_PREFETCH  # noqa: E402
from ingestd.domain.ids import new_id  # noqa: E402
from ingestd.domain.refs import PathRef  # noqa: E402
from ingestd.domain.work import ClaimedSource, FileOutcome, SourceEntry  # noqa: E402
from ingestd.queue.committer import Committer  # noqa: E402
from ingestd.queue.window import ClaimWindow  # noqa: E402
from ingestd.store import jobs as job_store  # noqa: E402
from ingestd.store.claims import claim_next_files  # noqa: E402
from ingestd.store.db import Database  # noqa: E402
from ingestd.store.listing import add_listed_files  # noqa: E402
from ingestd.store.migrate import upgrade  # noqa: E402
from ingestd.store.tables import files, jobs, workers  # noqa: E402

# The modelled worker has 2 parser processes (`ingestd worker` on 2 cores): its window grows
# to 2 x MAX_PREFETCH while files are tiny, from 2 x --prefetch (16 by default).
CEILING = 2 * MAX_PREFETCH
PG_DSN = os.environ.get("INGESTD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
LEASE = 300.0


# -- databases -------------------------------------------------------------------------------
async def fresh_pg() -> tuple[str, str]:
    name = f"ingestd_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url = f"{base}/{name}"
    await upgrade(url)
    return name, url


async def drop_pg(name: str) -> None:
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.close()


async def fresh_sqlite(folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / f'bench-{secrets.token_hex(3)}.db'}"
    await upgrade(url)
    return url


async def make_job(
    url: str, n: int, *, status: str, pipeline: str = "extract", paths: list[str] | None = None
) -> str:
    db = Database(url)
    now = time.time()
    job_id = new_id("job")
    job = {
        "id": job_id,
        "tenant": "bench",
        "name": "bench",
        "status": status,
        "priority": "normal",
        "pipeline": pipeline,
        "options": {"skip_existing": False},
        "labels": {},
        "sealed": True,
        "max_workers": 1_000_000,
        "created_at": now,
        "updated_at": now,
    }
    async with db.write() as conn:
        await job_store.insert_job(
            conn, job, [{"idx": 0, "type": "directory", "spec": {}, "state": "listed"}]
        )
    sizes = [Path(p).stat().st_size for p in paths or []]  # noqa: ASYNC240 - set-up, untimed
    source = ClaimedSource(job_id, 0, "directory", {}, "bench", 1)
    for start in range(0, n, 5000):
        entries = [
            SourceEntry(
                name=f"f{i}",
                path=f"f{i}",
                size=sizes[i] if paths else 100,  # as a directory listing records it
                ref=PathRef(paths[i] if paths else "/nonexistent"),
            )
            for i in range(start, min(n, start + 5000))
        ]
        await add_listed_files(db, source, entries, now=now)
    await db.close()
    return job_id


# -- no-op claims + completions ----------------------------------------------------------------
def noop_process(url: str, floor: int, ceiling: int, ready: Any, go: Any, results: Any) -> None:
    results.put(asyncio.run(_noop_loop(url, floor, ceiling, ready, go)))


async def _noop_loop(url: str, floor: int, ceiling: int, ready: Any, go: Any) -> int:
    """What ``Worker`` does around its pipeline, with the pipeline replaced by nothing: claim
    when half the window is free (``Worker._claim_loop``, the window sized by the same
    ``ClaimWindow``) and hand each file to the real ``Committer``, which commits whatever
    finished while the last commit ran."""
    db = Database(url, pool_size=2)
    worker_id = new_id("wrk")
    async with db.read() as conn:  # connect before the start line
        await conn.execute(sa.select(1))
    committer = Committer(db)
    committer.start()
    window = ClaimWindow(floor, ceiling)
    outcome = FileOutcome(mime_type="text/plain", sha256=None, size=100)
    inflight: set[asyncio.Task[Any]] = set()
    slot_free = asyncio.Event()
    done = 0

    async def finish(claimed: Any) -> None:
        nonlocal done
        await committer.complete(claimed, outcome)
        done += 1

    def ended(task: asyncio.Task[Any]) -> None:
        inflight.discard(task)
        task.result()
        window.finished()
        slot_free.set()

    ready.set()
    await asyncio.to_thread(go.wait)
    idle = 0
    while idle < 3:
        size = window.size
        free = size - len(inflight)
        if free < max(1, size // 2):
            slot_free.clear()
            await slot_free.wait()
            continue
        claimed = await claim_next_files(db, worker_id, free, now=time.time(), lease_seconds=LEASE)
        for item in claimed:
            task = asyncio.create_task(finish(item))
            inflight.add(task)
            task.add_done_callback(ended)
        if not claimed and not inflight:
            idle += 0 if claimed.contended else 1
            await asyncio.sleep(0.01)
        elif claimed:
            idle = 0
        elif not claimed.contended:  # the queue looks drained: let in-flight files finish
            await asyncio.sleep(0.001)
    await committer.stop()
    await db.close()
    return done


def run_noop(
    url: str, processes: int, files: int, floor: int, ceiling: int, jobs: int = 1
) -> dict[str, Any]:
    for _ in range(jobs):
        asyncio.run(make_job(url, files // jobs, status="queued"))
    files = files // jobs * jobs
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results = context.Queue()
    readies = [context.Event() for _ in range(processes)]
    procs = [
        context.Process(target=noop_process, args=(url, floor, ceiling, ready, go, results))
        for ready in readies
    ]
    for proc in procs:
        proc.start()
    for ready in readies:
        ready.wait(120)
    started = time.perf_counter()
    go.set()
    counts = [results.get(timeout=600) for _ in procs]
    # The last three empty claims (10 ms apart) are not work: take them off.
    elapsed = time.perf_counter() - started - 0.03
    for proc in procs:
        proc.join(30)
    total = sum(counts)
    assert total == files, (total, files)
    return {
        "processes": processes,
        "jobs": jobs,
        "files": total,
        "seconds": round(elapsed, 3),
        "per_s": round(total / elapsed, 1),
    }


async def bare_baseline(url: str, files: int, batch: int) -> dict[str, Any]:
    """The least a SQL queue can do per batch: claim with SKIP LOCKED, then mark done."""
    await make_job(url, files, status="queued")
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    claim = (
        "UPDATE files SET status = 'running', lease_owner = 'b' WHERE id IN (SELECT id FROM files"
        " WHERE status = 'queued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    done = 0
    started = time.perf_counter()
    while True:
        ids = [r["id"] for r in await conn.fetch(claim, batch)]
        if not ids:
            break
        await conn.execute(
            "UPDATE files SET status = 'completed', lease_owner = NULL WHERE id = ANY($1)", ids
        )
        done += len(ids)
    elapsed = time.perf_counter() - started
    await conn.close()
    return {
        "processes": 1,
        "files": done,
        "seconds": round(elapsed, 3),
        "per_s": round(done / elapsed, 1),
    }


def noop_runs(
    into: dict[str, Any], folder: Path, created: list[str], files: int, window: int
) -> None:
    """Every no-op measure for one configured window (parsers x ``--prefetch``: the floor of the
    worker's ``ClaimWindow``; it grows to ``CEILING`` while files finish fast)."""
    suffix = f"_window{window}"
    name, url = asyncio.run(fresh_pg())
    created.append(name)
    into["baseline_bare_sql_postgres" + suffix] = asyncio.run(bare_baseline(url, files, window))
    if window < CEILING:  # the window held fixed, as before it followed the work: the reference
        name, url = asyncio.run(fresh_pg())
        created.append(name)
        into[f"postgres_1{suffix}_fixed"] = run_noop(url, 1, files, window, window)
        print("noop postgres 1 fixed", window, into[f"postgres_1{suffix}_fixed"], flush=True)
    for n in (1, 2, 4):
        name, url = asyncio.run(fresh_pg())
        created.append(name)
        into[f"postgres_{n}{suffix}"] = run_noop(url, n, files, window, CEILING)
        print("noop postgres", n, window, into[f"postgres_{n}{suffix}"], flush=True)
    # One job is one hot counter row that every claim and completion updates: with several
    # jobs, claimers on different jobs do not queue behind each other.
    name, url = asyncio.run(fresh_pg())
    created.append(name)
    into[f"postgres_4_on_4_jobs{suffix}"] = run_noop(url, 4, files, window, CEILING, 4)
    print("noop postgres 4 on 4 jobs", window, into[f"postgres_4_on_4_jobs{suffix}"], flush=True)
    for n in (1, 2):
        url = asyncio.run(fresh_sqlite(folder))
        into[f"sqlite_{n}{suffix}"] = run_noop(url, n, files, window, CEILING)
        print("noop sqlite", n, window, into[f"sqlite_{n}{suffix}"], flush=True)


# -- CPU-bound PDFs through real `ingestd worker` processes ----------------------------------------
def make_pdfs(folder: Path, count: int, size_kb: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(6)
    paths = []
    for i in range(count):
        path = folder / f"doc{i:03}.pdf"
        make_pdf(path, size_kb * 1000, rng)
        paths.append(str(path))
    return paths


def _parse_all(paths: list[str]) -> float:
    from ingestd.pipeline import stages

    started = time.perf_counter()
    for path in paths:
        stages.parse_and_chunk(path, "application/pdf", 1000, 200)
    return time.perf_counter() - started


def parse_baseline(paths: list[str], niceness: int) -> dict[str, Any]:
    """Parse every PDF in one loop in one process at this niceness. The workers' parsers run at
    nice 10 (they yield to the API), so on a shared machine that is the fair comparison."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=os.nice, initargs=(niceness,)
    ) as ex:
        elapsed = ex.submit(_parse_all, paths).result()
    return {
        "files": len(paths),
        "nice": niceness,
        "seconds": round(elapsed, 3),
        "per_s": round(len(paths) / elapsed, 2),
    }


def parse_baseline_parallel(paths: list[str], processes: int) -> dict[str, Any]:
    """The same loop split over ``processes`` processes at once, with nothing else running:
    what these cores give for this work, the ceiling for any worker's scaling."""
    context = multiprocessing.get_context("spawn")
    shares = [paths[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=context) as ex:
        list(ex.map(_parse_all, [shares[0][:1]] * processes))  # imports done before timing
        started = time.perf_counter()
        list(ex.map(_parse_all, shares))
        elapsed = time.perf_counter() - started
    return {
        "files": len(paths),
        "processes": processes,
        "seconds": round(elapsed, 3),
        "per_s": round(len(paths) / elapsed, 2),
    }


async def _registered(url: str) -> int:
    db = Database(url)
    async with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(workers)
        count = int((await conn.execute(query.where(workers.c.stopped_at.is_(None)))).scalar_one())
    await db.close()
    return count


async def _release(url: str, job_id: str) -> None:
    db = Database(url)
    async with db.write() as conn:
        await conn.execute(jobs.update().where(jobs.c.id == job_id).values(status="queued"))
        if not db.is_sqlite:
            await conn.execute(sa.text("NOTIFY ingestd_work"))
    await db.close()


async def _finished(url: str, job_id: str, deadline: float) -> dict[str, Any]:
    """Wait for the job to end, polling on one connection once a second: a new engine per
    poll, or brisk polls, cost CPU that the workers being measured would miss (most in the
    two-process runs). The time is the job's own ``completed_at``, so polling adds no error."""
    db = Database(url)
    try:
        while True:
            async with db.read() as conn:
                query = sa.select(jobs).where(jobs.c.id == job_id)
                row = dict((await conn.execute(query)).mappings().one())
            if row["status"] in ("completed", "failed"):
                first = sa.select(sa.func.min(files.c.started_at)).where(files.c.job_id == job_id)
                async with db.read() as conn:
                    row["first_claim_at"] = (await conn.execute(first)).scalar_one()
                return row
            assert time.monotonic() < deadline, "the PDF job did not finish"
            await asyncio.sleep(1.0)
    finally:
        await db.close()


def cpu_by_role(worker_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far, by role: the workers' main processes, their parser processes,
    the PostgreSQL server, and everything else on the machine (this bench included)."""
    roles = {"worker_main": 0.0, "parsers": 0.0, "postgres": 0.0, "other": 0.0}
    children: set[int] = set()
    for pid in worker_pids:
        with contextlib.suppress(psutil.Error):
            children.update(c.pid for c in psutil.Process(pid).children(recursive=True))
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        used = times.user + times.system
        if proc.pid in worker_pids:
            roles["worker_main"] += used
        elif proc.pid in children:
            roles["parsers"] += used
        elif proc.info["name"] == "postgres":
            roles["postgres"] += used
        else:
            roles["other"] += used
    return roles


def run_pdfs(
    url: str, processes: int, paths: list[str], data_dir: Path, parsers: int = 1
) -> dict[str, Any]:
    job_id = asyncio.run(make_job(url, len(paths), status="paused", paths=paths))
    # The defaults of a real deployment: the workers wake on NOTIFY (SQLite: their own poll),
    # and a faster fallback poll or heartbeat would bill them for work a deployment never does.
    env = {**os.environ, "INGESTD_ADMIN_KEY": "ik_bench_claims_key_0123456789abcdef"}
    procs = []
    for i in range(processes):
        command = [
            sys.executable,
            "-m",
            "ingestd",
            "worker",
            "--concurrency",
            str(parsers),
            "--data-dir",
            str(data_dir / f"w{i}"),
            "--database-url",
            url,
            "--log-level",
            "warning",
        ]
        procs.append(
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    try:
        deadline = time.monotonic() + 120
        while asyncio.run(_registered(url)) < processes:  # started, parser pools warm
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)
        time.sleep(2.0)
        pids = [proc.pid for proc in procs]
        cpu_before = cpu_by_role(pids)
        released = time.time()
        asyncio.run(_release(url, job_id))
        job = asyncio.run(_finished(url, job_id, deadline + 900))
        # From the first claim: how soon a worker notices the release (NOTIFY on PostgreSQL,
        # its fallback poll on SQLite) is not throughput.
        elapsed = job["completed_at"] - max(released, job["first_claim_at"])
        cpu_after = cpu_by_role(pids)
        # CPU milliseconds per file by role, over the run (the last poll included)
        cpu_ms = {
            role: round((cpu_after[role] - cpu_before[role]) * 1000 / len(paths), 1)
            for role in cpu_before
        }
        return {
            "processes": processes,
            "parsers_each": parsers,
            "files": len(paths),
            "status": job["status"],
            "seconds": round(elapsed, 3),
            "per_s": round(len(paths) / elapsed, 2),
            "cpu_ms_per_file": cpu_ms,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


# -- main ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noop", type=int, default=20_000)
    parser.add_argument("--pdfs", type=int, default=24)
    parser.add_argument(
        "--windows",
        default="16,128",
        help="files in flight per worker process, comma-separated: 16 is `ingestd worker`'s "
        "default on 2 cores (2 parsers x prefetch 8); more is `--prefetch` for tiny files",
    )
    parser.add_argument("--pdf-kb", type=int, default=1000, help="size of each generated PDF")
    parser.add_argument("--skip-pdf", action="store_true")
    parser.add_argument("--skip-noop", action="store_true", help="keep the last run's no-op rows")
    args = parser.parse_args()
    args.windows = [int(w) for w in args.windows.split(",")]
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": os.getloadavg(),
        },
        "windows": args.windows,
        "noop": {},
        "pdf": {},
    }
    created: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            if args.skip_noop:  # keep the no-op rows of the last full run
                previous = ROOT / "bench" / "results" / "claims.json"
                results["noop"] = json.loads(previous.read_text())["noop"]
            else:
                for window in args.windows:
                    noop_runs(results["noop"], folder, created, args.noop, window)
            if not args.skip_pdf:
                paths = make_pdfs(folder / "pdfs", args.pdfs, args.pdf_kb)
                results["pdf_kb"] = args.pdf_kb
                results["pdf"]["baseline_parse_loop"] = parse_baseline(paths, 0)
                results["pdf"]["baseline_parse_loop_nice10"] = parse_baseline(paths, 10)
                results["pdf"]["baseline_parse_2_loops"] = parse_baseline_parallel(paths, 2)
                # PostgreSQL scales out by worker processes (one parser each); SQLite is the
                # embedded database, written by one process: it scales by parser processes
                # inside one worker (`--concurrency`), which is what `ingestd serve` does.
                for backend in ("postgres", "sqlite"):
                    for n in (1, 2):
                        if backend == "postgres":
                            name, url = asyncio.run(fresh_pg())
                            created.append(name)
                            run = run_pdfs(url, n, paths, folder / f"data-{backend}-{n}")
                        else:
                            url = asyncio.run(fresh_sqlite(folder))
                            run = run_pdfs(url, 1, paths, folder / f"data-{backend}-{n}", n)
                        results["pdf"][f"{backend}_{n}"] = run
                        print("pdf", backend, n, run, flush=True)
                # For comparison: SQLite shared by two worker processes (not how it is meant
                # to run: its writers take turns through a file lock).
                url = asyncio.run(fresh_sqlite(folder))
                run = run_pdfs(url, 2, paths, folder / "data-sqlite-2-processes")
                results["pdf"]["sqlite_2_processes"] = run
                print("pdf sqlite 2 processes", run, flush=True)
                for backend in ("postgres", "sqlite"):
                    one, two = results["pdf"][f"{backend}_1"], results["pdf"][f"{backend}_2"]
                    results["pdf"][f"{backend}_speedup_1_to_2"] = round(
                        two["per_s"] / one["per_s"], 2
                    )
                loops = results["pdf"]
                results["pdf"]["machine_speedup_1_to_2_loops"] = round(
                    loops["baseline_parse_2_loops"]["per_s"]
                    / loops["baseline_parse_loop"]["per_s"],
                    2,
                )
        finally:
            for name in created:
                asyncio.run(drop_pg(name))
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    print_table(results)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims.json").write_text(json.dumps(results, indent=2))


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n{'measure':<36} {'procs':>5} {'files':>7} {'seconds':>9} {'per s':>10}"
        "  CPU ms per file, by role (PDF runs)"
    )
    for section in ("noop", "pdf"):
        for key, row in results[section].items():
            if isinstance(row, dict):
                cpu = row.get("cpu_ms_per_file")
                roles = "  ".join(f"{k} {v}" for k, v in cpu.items()) if cpu else ""
                print(
                    f"{section + ' ' + key:<36} {row.get('processes', 1):>5} {row['files']:>7} "
                    f"{row['seconds']:>9} {row['per_s']:>10}  {roles}"
                )
            else:
                print(f"{section + ' ' + key:<36} {row:>5}x")
    print(
        "targets: >= 3000 no-op claims+completions/s on 2 cores; >= 1.8x from 1 to 2 processes "
        "on CPU-bound files"
    )
    print(
        f"load average (1, 5, 15 min) at start {results['machine']['load_avg_at_start']}, "
        f"at end {results['machine']['load_avg_at_end']}: other sessions share these cores"
    )


if __name__ == "__main__":
    main()
