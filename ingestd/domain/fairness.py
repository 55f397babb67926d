"""Who gets the next free slots: fairness between tenants, priority and limits inside each.

Pure functions over the load of the claimable jobs, so the policy is tested without a database:

- tenants take turns, one file each per round, the tenant with the fewest files running (on every
  machine: the counts come from the store) going first, ties broken at random. A tenant with
  100,000 queued files therefore cannot starve one with 10: the small tenant gets a slot in every
  round of every claim until its files run out.
- inside a tenant, the job with the highest priority, then the oldest, is served first.
- a job never gets more slots than ``max_workers`` minus the files it already has running.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JobLoad:
    """One claimable job as the claimer sees it: its place and how much room it has."""

    id: str
    tenant: str
    rank: int  # priority rank: higher is served first
    running: int
    queued: int
    max_workers: int

    @property
    def room(self) -> int:
        """Files that may still be claimed from this job now."""
        return max(0, min(self.max_workers - self.running, self.queued))


def tenant_order(loads: Iterable[JobLoad], rng: random.Random | None = None) -> list[str]:
    """Tenants with the fewest files running first; equal ones in random order, so no tenant
    wins every tie by its name."""
    running: dict[str, int] = defaultdict(int)
    for load in loads:
        running[load.tenant] += load.running
    draw = rng or random
    tiebreak = {tenant: draw.random() for tenant in running}
    return sorted(running, key=lambda t: (running[t], tiebreak[t]))


def allot(loads: Iterable[JobLoad], limit: int, order: list[str]) -> list[str]:
    """The job of each of the next ``limit`` slots, in the order they were dealt.

    Round-robin over ``order`` (tenants missing from it go last); each turn gives the tenant's
    best job that still has room one slot. Stops early when no job has room left.
    """
    by_tenant: dict[str, list[JobLoad]] = defaultdict(list)
    for load in loads:
        if load.room > 0:
            by_tenant[load.tenant].append(load)
    for jobs in by_tenant.values():
        jobs.sort(key=lambda j: (-j.rank, j.id))  # ids sort by creation time
    tenants = [t for t in order if t in by_tenant]
    tenants += sorted(t for t in by_tenant if t not in tenants)
    given: dict[str, int] = defaultdict(int)
    slots: list[str] = []
    while len(slots) < limit and tenants:
        for tenant in list(tenants):
            job = next((j for j in by_tenant[tenant] if given[j.id] < j.room), None)
            if job is None:
                tenants.remove(tenant)
                continue
            given[job.id] += 1
            slots.append(job.id)
            if len(slots) == limit:
                break
    return slots


def held_back(loads: Iterable[JobLoad], slots: list[str]) -> bool:
    """Whether, once ``slots`` are taken, some job still has queued files that only its
    ``max_workers`` keeps waiting: a slot of it freeing up makes work claimable at once."""
    given: dict[str, int] = defaultdict(int)
    for job_id in slots:
        given[job_id] += 1
    return any(
        load.queued > given[load.id] and load.running + given[load.id] >= load.max_workers
        for load in loads
    )


def deal(slots: list[str], candidates: Mapping[str, list[T]]) -> list[T]:
    """Hand out the candidates (per job, best first) in slot order; a slot whose job has no
    candidate left stays empty."""
    remaining = {job_id: list(items) for job_id, items in candidates.items()}
    dealt: list[T] = []
    for job_id in slots:
        items = remaining.get(job_id)
        if items:
            dealt.append(items.pop(0))
    return dealt
