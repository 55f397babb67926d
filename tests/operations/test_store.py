"""Usage and timings kept by the store as files complete: batches completing at once for one
tenant add up exactly, on SQLite and on PostgreSQL (where they run concurrently and must
neither lose an update nor deadlock)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from ingestd.store.claims import claim_next_files
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from ingestd.store.timings import job_steps
from ingestd.store.usage import day_of, usage_between
from tests.queue.factory import LEASE, make_job, outcome

BATCHES = 8
PER_BATCH = 5


async def test_concurrent_completions_add_up(db: Database) -> None:
    jobs = [await make_job(db, BATCHES * PER_BATCH // 2, tenant="t") for _ in range(2)]
    claimed = list(
        await claim_next_files(db, "w1", BATCHES * PER_BATCH, now=time.time(), lease_seconds=LEASE)
    )
    assert len(claimed) == BATCHES * PER_BATCH
    done = []
    for file in claimed:
        result = dataclasses.replace(outcome(n_chunks=3), pages=2, ocr_pages=1, embeddings=3)
        result.timings = {"parsing": [10.0, 4.0], "chunking": [1.0, 1.0]}
        done.append((file, result))
    batches = [done[i::BATCHES] for i in range(BATCHES)]  # each batch spans both jobs
    now = time.time()
    await asyncio.gather(*(complete_files(db, batch, now=now) for batch in batches))

    async with db.read() as conn:
        [row] = await usage_between(
            conn, first_day=day_of(now), last_day=day_of(now), group_by=["tenant"], tenant=None
        )
        steps = {job_id: await job_steps(conn, job_id) for job_id in jobs}
    total = BATCHES * PER_BATCH
    assert row["jobs"] == 2 and row["files"] == total and row["bytes"] == 10 * total
    assert row["pages"] == 2 * total and row["ocr_pages"] == total
    assert row["chunks"] == 3 * total and row["embeddings"] == 3 * total
    assert abs(row["cpu_seconds"] - 0.005 * total) < 1e-6
    for job_id in jobs:
        parsing = next(s for s in steps[job_id] if s["step"] == "parsing")
        assert parsing["files"] == total // 2 and parsing["wall_ms"] == 10 * total // 2
        assert parsing["cpu_ms"] == 4 * total // 2 and parsing["max_wall_ms"] == 10
