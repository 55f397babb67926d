"""The heartbeat: every ``heartbeat_seconds`` a worker renews its leases and its registry row
(one transaction, which also says which files it must stop: their job was cancelled, or their
lease is gone), then runs the rescuer, which returns files whose worker went silent."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from ingestd.config import Settings
from ingestd.queue import registry
from ingestd.store import claims as claim_store
from ingestd.store import rescue as rescue_store
from ingestd.store.db import Database
from ingestd.worker.flight import InFlight

log = logging.getLogger("ingestd.worker")


class Heartbeat:
    def __init__(self, db: Database, settings: Settings, *, worker_id: str) -> None:
        self.db = db
        self.worker_id = worker_id
        self.lease_seconds = settings.lease_seconds
        # Silent this long, a worker is gone and the rescuer takes its files back.
        self.gone_after = registry.gone_after(
            heartbeat_seconds=settings.heartbeat_seconds, lease_seconds=settings.lease_seconds
        )

    async def beat(self, inflight: Mapping[str, InFlight]) -> tuple[list[InFlight], int]:
        """Renew, then rescue: returns the files to stop (as they were in flight when the beat
        began), and how many files went back to the queue."""
        now = time.time()
        flights = dict(inflight)  # a file may end, and be claimed again, while this runs
        to_stop = await claim_store.renew_leases(
            self.db,
            self.worker_id,
            {file_id: (f.step, f.progress) for file_id, f in flights.items()},
            now=now,
            lease_seconds=self.lease_seconds,
            job_ids=[f.claimed.job_id for f in flights.values()],
            running=len(flights),  # the registry row, in the same transaction
        )
        rescued = await rescue_store.rescue_expired_leases(
            self.db,
            now=now,
            gone_before=now - self.gone_after,
            forget_before=now - registry.FORGET_AFTER_SECONDS,
        )
        if rescued:
            log.warning("re-queued %d file(s) whose worker stopped responding", rescued)
        return [flights[file_id] for file_id in to_stop], rescued
