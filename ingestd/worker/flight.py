"""A file in flight on this worker, and how the worker's loops report a step that failed."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ingestd.domain.work import ClaimedFile
from ingestd.store.db import is_unavailable

log = logging.getLogger("ingestd.worker")


@dataclass(slots=True)
class InFlight:
    claimed: ClaimedFile
    task: asyncio.Task[None]
    step: str = "accessing"
    progress: float = 0.0
    stop_reason: str | None = None  # "cancelled" (job cancelled) or "shutdown"
    started: bool = False

    def stop(self, reason: str) -> None:
        """Stop this file's work. A task that has not started yet is not cancelled (it would
        never run its cleanup): it sees ``stop_reason`` when it starts and cleans up then. Only the
        first call counts: cancelling again would interrupt the cleanup itself."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        if self.started and not self.task.done():
            self.task.cancel()


def log_retry(what: str, exc: Exception) -> None:
    """A loop step failed and will be tried again: one line while the database is unreachable
    (it may be restarting: no traceback per poll), the whole traceback for anything else."""
    if is_unavailable(exc):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("%s failed, the database is unreachable (%s); retrying", what, reason)
    else:
        log.error("%s failed; retrying", what, exc_info=exc)
