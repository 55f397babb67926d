"""Two claimers racing for the last queued file, on separate connections: exactly one gets it."""

from __future__ import annotations

import asyncio
import time

from ingestd.store.claims import claim_next_files
from ingestd.store.db import Database
from tests.queue.factory import LEASE, make_job

ROUNDS = 50


async def test_two_claimers_racing_for_the_last_file_exactly_one_gets_it(db: Database) -> None:
    """Each round queues one file and starts both claims together; on PostgreSQL they really
    run at once on two connections (on SQLite the second waits for the first's write lock)."""
    first, second = Database(db.url), Database(db.url)
    winners: list[int] = []
    try:
        for _ in range(ROUNDS):
            job_id = await make_job(db, 1)
            now = time.time()
            a, b = await asyncio.gather(
                claim_next_files(first, "wrk_a", 4, now=now, lease_seconds=LEASE),
                claim_next_files(second, "wrk_b", 4, now=now, lease_seconds=LEASE),
            )
            assert [c.job_id for c in [*a, *b]] == [job_id], (a, b)
            winners.append(0 if a else 1)
    finally:
        await first.close()
        await second.close()
    assert len(winners) == ROUNDS
