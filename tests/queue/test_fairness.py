"""Fairness between tenants, priority inside a tenant, and per-job limits across claimers."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from ingestd.domain.fairness import JobLoad, allot, deal, tenant_order
from ingestd.domain.states import Priority
from ingestd.store.claims import claim_next_files
from ingestd.store.completion import complete_files
from ingestd.store.db import Database
from tests.queue.factory import LEASE, make_job, outcome


def load(job: str, tenant: str, *, rank: int = 1, running: int = 0, queued: int = 100) -> JobLoad:
    return JobLoad(job, tenant, rank, running, queued, max_workers=1_000_000)


def test_a_small_tenant_gets_a_slot_in_every_round() -> None:
    loads = [load("a1", "a", queued=100_000), load("b1", "b", queued=10)]
    slots = allot(loads, 8, tenant_order(loads, random.Random(1)))
    assert Counter(slots) == {"a1": 4, "b1": 4}


def test_the_tenant_with_fewer_files_running_goes_first() -> None:
    loads = [load("a1", "a", running=5), load("b1", "b", running=1)]
    assert tenant_order(loads) == ["b", "a"]
    assert allot(loads, 3, ["b", "a"]) == ["b1", "a1", "b1"]


def test_priority_then_age_inside_a_tenant() -> None:
    loads = [load("j1", "a", rank=0, queued=1), load("j2", "a", rank=3, queued=1)]
    loads.append(load("j0", "a", rank=3, queued=1))
    assert allot(loads, 3, ["a"]) == ["j0", "j2", "j1"]


def test_a_job_never_gets_more_than_its_room() -> None:
    capped = JobLoad("a1", "a", 1, running=2, queued=50, max_workers=3)
    assert allot([capped, load("b1", "b")], 6, ["a", "b"]) == ["a1", "b1", "b1", "b1", "b1", "b1"]


def test_deal_hands_out_in_slot_order() -> None:
    assert deal(["a", "b", "a", "c"], {"a": [1, 2], "b": [3]}) == [1, 3, 2]


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.integers(0, 3),
            st.integers(0, 5),
            st.integers(0, 20),
            st.integers(1, 6),
        ),
        max_size=8,
    ),
    st.integers(0, 30),
)
def test_allotment_invariants(jobs: list[tuple[str, int, int, int, int]], limit: int) -> None:
    loads = [JobLoad(f"j{i}", *job) for i, job in enumerate(jobs)]
    slots = allot(loads, limit, tenant_order(loads, random.Random(0)))
    given_to = Counter(slots)
    assert len(slots) == min(limit, sum(job.room for job in loads))
    assert all(given_to[job.id] <= job.room for job in loads)
    # Round-robin: two tenants that both still have room never differ by more than one slot.
    per_tenant = Counter(job.tenant for job in loads for _ in range(given_to[job.id]))
    room = Counter(job.tenant for job in loads for _ in range(job.room))
    starved = [t for t in room if per_tenant[t] < room[t]]
    assert (
        max((per_tenant[t] for t in starved), default=0)
        - min((per_tenant[t] for t in starved), default=0)
        <= 1
    )


async def test_a_tenant_with_many_files_does_not_starve_one_with_ten(db: Database) -> None:
    big = await make_job(db, 2000, tenant="big")  # older, so first in plain queue order
    small = await make_job(db, 10, tenant="small")
    seen: list[str] = []
    for _ in range(3):  # batches of 8, each completed before the next claim
        batch = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE)
        seen += [c.job_id for c in batch]
        await complete_files(db, [(c, outcome(0)) for c in batch], now=time.time())
    assert seen.count(small) == 10, Counter(seen)
    assert seen.count(big) == 14


async def test_priorities_still_hold_inside_each_tenant(db: Database) -> None:
    low = await make_job(db, 3, priority=Priority.LOW, tenant="a")
    urgent = await make_job(db, 3, priority=Priority.URGENT, tenant="a")
    other = await make_job(db, 3, tenant="b")
    claimed = await claim_next_files(db, "w1", 6, now=time.time(), lease_seconds=LEASE)
    by_tenant = [c.job_id for c in claimed if c.tenant == "a"]
    assert by_tenant == [urgent, urgent, urgent]
    assert [c.job_id for c in claimed].count(other) == 3
    assert low not in {c.job_id for c in claimed}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_max_workers_holds_across_concurrent_claimers(db: Database) -> None:
    job_id = await make_job(db, 200, max_workers=3)
    others = [Database(db.url) for _ in range(4)]
    try:
        for _ in range(15):
            batches = await asyncio.gather(
                *(
                    claim_next_files(other, f"w{i}", 5, now=time.time(), lease_seconds=LEASE)
                    for i, other in enumerate(others)
                )
            )
            claimed = [c for batch in batches for c in batch]
            async with db.read() as conn:
                running = await conn.scalar(
                    sa.text("SELECT count(*) FROM files WHERE job_id = :j AND status = 'running'"),
                    {"j": job_id},
                )
            assert running == len(claimed) <= 3
            await complete_files(db, [(c, outcome(0)) for c in claimed], now=time.time())
    finally:
        for other in others:
            await other.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_claim_reads_an_index_in_order(db: Database) -> None:
    """The per-job branch of the claim query is an index range read with no sort (seq scans
    are disabled so the tiny test table cannot hide a missing index)."""
    job_id = await make_job(db, 50)
    async with db.write() as conn:
        await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            (
                await conn.execute(
                    sa.text(
                        "EXPLAIN SELECT id FROM files WHERE job_id = :j AND status = 'queued'"
                        " AND run_after <= :now ORDER BY priority_rank DESC, id LIMIT 16"
                        " FOR UPDATE SKIP LOCKED"
                    ),
                    {"j": job_id, "now": time.time()},
                )
            ).scalars()
        )
    assert "ix_files_job_claim_order" in plan and "Sort" not in plan, plan
