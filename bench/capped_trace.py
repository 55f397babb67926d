"""Where a capped job's time goes, file by file (issue #12, item 1).

    .venv/bin/python bench/capped_trace.py [--files 200] [--cap 1] [--backend sqlite|postgres]

Runs one in-process worker (2 parser processes, as ``ingestd serve`` defaults here) over tiny
Markdown notes with ``max_workers: CAP`` and records, per file, when each step of its chain
began and ended: the claim that took it, the inspection, the content claim, the parser (queued,
started, done), the completion. Prints the median and p90 of each step and of the gaps between
them (the time a file waits for nobody's work: wake-ups, hand-offs), and the parsers' idle share.
Timing lives here, not in the tests: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from capped import PG_DSN, make_notes  # noqa: E402

from ingestd.config import Settings  # noqa: E402
from ingestd.domain.ids import new_id  # noqa: E402
from ingestd.domain.refs import PathRef  # noqa: E402
from ingestd.domain.work import ClaimedSource, SourceEntry  # noqa: E402
from ingestd.pipeline import stages  # noqa: E402
from ingestd.store import claims as claim_store  # noqa: E402
from ingestd.store import jobs as job_store  # noqa: E402
from ingestd.store.db import Database  # noqa: E402
from ingestd.store.listing import add_listed_files  # noqa: E402
from ingestd.store.migrate import upgrade  # noqa: E402
from ingestd.worker import Worker  # noqa: E402

Marks = dict[str, dict[str, float]]  # file id -> step -> monotonic seconds


async def make_job(db: Database, paths: list[Path], cap: int | None, skip: bool) -> str:
    """A sealed, listed job of ``paths`` (pipeline ``full``, as the API's default)."""
    now = time.time()
    job_id = new_id("job")
    job = {
        "id": job_id,
        "tenant": "t",
        "name": "trace",
        "status": "queued",
        "priority": "normal",
        "pipeline": "full",
        "options": {"skip_existing": skip, **({"max_workers": cap} if cap else {})},
        "labels": {},
        "sealed": True,
        "max_workers": cap or 1_000_000,
        "run_at": None,
        "created_at": now,
        "updated_at": now,
    }
    source = {"idx": 0, "type": "directory", "spec": {}, "state": "listed"}
    async with db.write() as conn:
        await job_store.insert_job(conn, job, [source])
    listed = ClaimedSource(job_id, 0, "directory", {}, "t", 0)
    entries = [
        SourceEntry(name=p.name, path=p.name, size=p.stat().st_size, ref=PathRef(str(p)))
        for p in paths
    ]
    await add_listed_files(db, listed, entries, now=now)
    return job_id


def instrument(worker: Worker, marks: Marks, claims: list[tuple[float, float, int]]) -> None:
    """Wrap each step of the chain to stamp when it began and ended."""
    clock = time.monotonic

    def stamp(file_id: str, step: str) -> None:
        marks[file_id].setdefault(step, clock())

    real_claim = claim_store.claim_next_files

    async def claim(*args: Any, **kwargs: Any) -> Any:
        began = clock()
        result = await real_claim(*args, **kwargs)
        ended = clock()
        claims.append((began, ended, len(result)))
        for item in result:
            marks[item.id]["claim_began"] = began
            marks[item.id]["claimed"] = ended
        return result

    claim_store.claim_next_files = claim  # type: ignore[assignment]

    run_file = worker._run_file

    async def run(claimed: Any) -> None:
        stamp(claimed.id, "task_started")
        await run_file(claimed)
        stamp(claimed.id, "ended")

    worker._run_file = run  # type: ignore[method-assign]

    real_inspect = stages.inspect_file

    def inspect(path: str, name: str, **kwargs: Any) -> Any:
        return real_inspect(path, name, **kwargs)

    def wrap(
        name: str, fn: Callable[..., Awaitable[Any]], file_of: Callable[..., str]
    ) -> Callable[..., Awaitable[Any]]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            file_id = file_of(*args, **kwargs)
            stamp(file_id, f"{name}_began")
            try:
                return await fn(*args, **kwargs)
            finally:
                stamp(file_id, f"{name}_ended")

        return wrapped

    worker.runner._process = wrap(  # type: ignore[method-assign]
        "process", worker.runner._process, lambda claimed, *a, **k: claimed.id
    )
    worker.runner.contents.claim = wrap(  # type: ignore[method-assign]
        "content", worker.runner.contents.claim, lambda claimed, *a, **k: claimed.id
    )
    worker.recorder.complete = wrap(  # type: ignore[method-assign]
        "complete", worker.recorder.complete, lambda claimed, *a, **k: claimed.id
    )
    pool_run = worker.pool.run
    current: dict[str, str] = {}

    async def run_in_pool(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        file_id = current.get(str(args[0]), "?")
        stamp(file_id, "pool_began")
        on_start = kwargs.get("on_start")

        def started() -> None:
            stamp(file_id, "pool_started")
            if on_start is not None:
                on_start()

        kwargs["on_start"] = started
        try:
            return await pool_run(fn, *args, **kwargs)
        finally:
            stamp(file_id, "pool_ended")

    worker.pool.run = run_in_pool  # type: ignore[method-assign]
    process = worker.runner._process

    async def remember(claimed: Any, path: Path, *args: Any) -> None:
        current[str(path)] = claimed.id
        await process(claimed, path, *args)

    worker.runner._process = remember  # type: ignore[method-assign]


STEPS = [
    ("claim (transaction)", "claim_began", "claimed"),
    ("claimed -> task runs", "claimed", "task_started"),
    ("task -> inspection done", "process_began", "content_began"),
    ("content claim", "content_began", "content_ended"),
    ("inspection -> pool", "task_started", "pool_began"),
    ("pool: wait for a parser", "pool_began", "pool_started"),
    ("pool: parse and back", "pool_started", "pool_ended"),
    ("pool -> completion", "pool_ended", "complete_began"),
    ("completion (batched transaction)", "complete_began", "complete_ended"),
    ("whole file (claim to end)", "claim_began", "ended"),
]


def report(marks: Marks, claims: list[tuple[float, float, int]], seconds: float) -> None:
    def ms(values: list[float]) -> str:
        if not values:
            return "-"
        values = sorted(values)
        p90 = values[int(len(values) * 0.9)]
        return f"median {statistics.median(values) * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"

    rows = list(marks.values())
    for label, a, b in STEPS:
        print(f"{label:<36}{ms([m[b] - m[a] for m in rows if a in m and b in m])}")
    ends = sorted(m["ended"] for m in rows if "ended" in m)
    begins = sorted(m["claim_began"] for m in rows if "claim_began" in m)
    # From one file's end to the next claim that took a file: the wake-up.
    gaps = []
    for end in ends:
        later = [c for c in claims if c[0] >= end and c[2] > 0]
        if later:
            gaps.append(later[0][0] - end)
    print(f"{'file ended -> next useful claim':<36}{ms(gaps)}")
    busy = sum(m["pool_ended"] - m["pool_started"] for m in rows if "pool_started" in m)
    print(
        f"files {len(rows)} in {seconds:.2f} s = {len(rows) / seconds:.1f} files/s; "
        f"claims {len(claims)} ({sum(1 for c in claims if c[2] == 0)} empty); "
        f"parser busy {busy / seconds:.0%} of one parser; first claim {begins[0] - ends[0]:.3f}"
        if begins and ends
        else ""
    )


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_notes(root / "notes", args.files)
        paths = sorted((root / "notes").iterdir())
        pg_name = None
        if args.backend == "postgres":
            pg_name = f"ingestd_trace_{secrets.token_hex(3)}"
            admin = await asyncpg.connect(PG_DSN)
            await admin.execute(f"CREATE DATABASE {pg_name}")
            await admin.close()
            url = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            url = f"{url}/{pg_name}"
        else:
            url = f"sqlite+aiosqlite:///{root / 'trace.db'}"
        try:
            await upgrade(url)
            settings = Settings(
                data_dir=root / "data",
                source_roots=[root],
                database_url=url,
                workers=args.parsers,
                worker_process=False,
            )
            db = Database(url)
            worker = Worker(settings, db, concurrency=settings.files_in_flight)
            await worker.start()
            warm = await make_job(db, paths[:4], None, False)
            worker.wake()
            await wait_done(db, warm)
            marks: Marks = defaultdict(dict)
            claims: list[tuple[float, float, int]] = []
            instrument(worker, marks, claims)
            job_id = await make_job(db, paths, args.cap, args.skip_existing)
            began = time.monotonic()
            worker.wake()
            await wait_done(db, job_id)
            seconds = time.monotonic() - began
            await worker.stop()
            await db.close()
            print(f"{args.backend}, max_workers {args.cap}, load {os.getloadavg()[0]:.1f}")
            report(marks, claims, seconds)
        finally:
            if pg_name:
                admin = await asyncpg.connect(PG_DSN)
                await admin.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
                await admin.close()


async def wait_done(db: Database, job_id: str) -> None:
    while True:
        async with db.read() as conn:
            job = await job_store.get_job(conn, job_id, None)
        if job is not None and job["status"] in ("completed", "failed", "cancelled"):
            return
        await asyncio.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--cap", type=int, default=1, help="max_workers (0: uncapped)")
    parser.add_argument("--parsers", type=int, default=2)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--skip-existing", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
