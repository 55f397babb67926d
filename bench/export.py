"""Memory of a job export: a 100,000-chunk job against a 1,000-chunk baseline, same run.

Writes a job of N files and their chunks (with 384-dim vectors, like a ``full`` job) straight
into a fresh SQLite (or ``--database-url`` PostgreSQL) database through the store, then streams
``GET /api/v1/jobs/{id}/export?format=jsonl`` 's generator (``services/export.export_jsonl``) to
/dev/null and reports the peak of Python allocations during the export (tracemalloc) and the
process's peak RSS growth. Flat memory = the big export's peak is close to the baseline's and
its RSS hardly grows past the baseline's peak.

    .venv/bin/python bench/export.py [--chunks 100000] [--baseline 1000] [--files 100] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingestd.domain.ids import new_id
from ingestd.services.export import export_jsonl
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.migrate import upgrade

TEXT = "Sales grew in every region this quarter, led by the north and the coast. " * 12


async def make_job(db: Database, chunks: int, files: int) -> str:
    now = time.time()
    job_id = new_id("job")
    job = {
        "id": job_id, "tenant": "bench", "name": "export bench", "description": None,
        "status": "completed", "priority": "normal", "pipeline": "full", "options": {},
        "labels": {}, "sealed": True, "max_workers": 1, "webhook_url": None, "run_at": None,
        "created_at": now, "updated_at": now,
    }  # fmt: skip
    source = {"idx": 0, "type": "upload", "spec": {"type": "upload"}, "state": "done"}
    async with db.write() as conn:
        await job_store.insert_job(conn, job, [source])
    vector = np.random.default_rng(1).random(384, dtype=np.float32).astype("<f4").tobytes()
    per_file = chunks // files
    for f in range(files):
        file_id = new_id("file")
        row: dict[str, Any] = {
            "id": file_id, "job_id": job_id, "tenant": "bench", "source_index": 0,
            "name": f"doc{f}.pdf", "path": f"papers/doc{f}.pdf", "size": 1000,
            "sha256": f"{f:064x}", "status": "completed", "priority_rank": 1, "run_after": now,
            "metadata": {}, "created_at": now, "chunks": per_file,
        }  # fmt: skip
        meta = orjson.dumps({"page": 1, "section": ["Results"], "element_ids": ["e1", "e2"]})
        records = [
            (
                file_id,
                job_id,
                "bench",
                i,
                TEXT,
                0,
                len(TEXT),
                meta.decode(),
                "hash-384",
                384,
                vector,
            )
            for i in range(per_file)
        ]
        async with db.write() as conn:
            await file_store.insert_files(conn, [row])
            await file_store.insert_chunks(conn, records)
    return job_id


async def measure(db: Database, job_id: str, trace: bool) -> tuple[int, float, int, float]:
    """(lines, peak MiB of Python allocations (with ``trace``), peak RSS growth MiB, seconds)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    lines = size = 0
    async for block in export_jsonl(db, job_id):
        lines += block.count(b"\n")
        size += len(block)
    seconds = time.perf_counter() - started
    peak = 0
    if trace:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before  # KiB
    return lines, peak / 2**20, rss_growth // 1024, seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--trace", action="store_true", help="also trace Python allocations (several times slower)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade(url)
        db = Database(url)
        try:
            per_file = args.chunks // args.files  # the same pages in both: only the totals differ
            small = await make_job(db, args.baseline, max(1, args.baseline // per_file))
            big = await make_job(db, args.chunks, args.files)
            b_lines, b_peak, b_rss, b_s = await measure(db, small, args.trace)
            lines, peak, rss, seconds = await measure(db, big, args.trace)
        finally:
            await db.close()
    print(f"baseline: {b_lines:>7} chunks  peak {b_peak:6.1f} MiB  rss +{b_rss} MiB  {b_s:.1f} s")
    print(f"export:   {lines:>7} chunks  peak {peak:6.1f} MiB  rss +{rss} MiB  {seconds:.1f} s")
    ratio = f"; allocation peak ratio {peak / b_peak:.2f} (flat: close to 1)" if args.trace else ""
    print(f"{lines / seconds:,.0f} chunks/s; RSS grew {rss} MiB past the baseline's{ratio}")


if __name__ == "__main__":
    asyncio.run(main())
