"""How many of a capped job's downloads and ``store`` copies this worker runs at once: its
``max_workers``.

A worker that alone runs a capped job may hold more of its files than ``max_workers``
(``store/claims.claim_next_files`` with ``prefetch``): claimed in batches, inspected, ready.
Parser work takes turns in the pool's lane of the job (``pipeline/lanes.py``), where a parser
that ends one file gets the next without a trip through the event loop. What is not parser
work takes turns here: a file that must be downloaded waits at the gate before its download
(and keeps its slot through its processing), and a ``store`` file before its copy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ingestd.domain.work import ClaimedFile


@dataclass(slots=True)
class _Gate:
    slots: asyncio.Semaphore
    users: int = 0  # files at the gate or past it
    inside: int = 0  # files past it


class JobGates:
    """One semaphore of ``max_workers`` per capped job with files on this worker."""

    def __init__(self) -> None:
        self._gates: dict[str, _Gate] = {}
        self._inside: set[str] = set()  # files past their gate (a second entry passes)

    @contextlib.asynccontextmanager
    async def passage(self, claimed: ClaimedFile) -> AsyncIterator[None]:
        """Wait for one of the job's slots, and hold it for the block (re-entrant per file;
        uncapped jobs pass at once)."""
        cap = claimed.options.max_workers
        if cap is None or claimed.id in self._inside:
            yield
            return
        gate = self._gates.get(claimed.job_id)
        if gate is None:
            gate = self._gates[claimed.job_id] = _Gate(asyncio.Semaphore(cap))
        gate.users += 1
        try:
            async with gate.slots:
                self._inside.add(claimed.id)
                gate.inside += 1
                try:
                    yield
                finally:
                    gate.inside -= 1
                    self._inside.discard(claimed.id)
        finally:
            gate.users -= 1
            if not gate.users:
                del self._gates[claimed.job_id]

    def inside(self, job_id: str) -> int:
        """Files of ``job_id`` being processed here now."""
        gate = self._gates.get(job_id)
        return 0 if gate is None else gate.inside
