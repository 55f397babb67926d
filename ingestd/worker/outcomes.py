"""Recording how a claimed file ended, through the store, in one place.

While the database is unreachable (a restart, a failover) a finished file stays in flight and its
outcome is written again with backoff, so finished work is not thrown away and the file is never
left leased with nobody holding it. The lease decides once the database answers: if another
worker took the file meanwhile, the write refuses (``LeaseLost``) and nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ingestd.domain.errors import FileError
from ingestd.domain.retry import RetryPolicy
from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.observe.metrics import FILE_RETRIES, FILES_FINISHED
from ingestd.queue.committer import Committer
from ingestd.store import outcomes as outcome_store
from ingestd.store.db import Database, is_unavailable
from ingestd.store.errors import LeaseLost

log = logging.getLogger("ingestd.worker")

T = TypeVar("T")

RECORD_RETRY_FIRST = 0.25  # seconds before the first retry of a write; doubles up to the max
RECORD_RETRY_MAX = 5.0


class OutcomeRecorder:
    def __init__(
        self,
        db: Database,
        committer: Committer,
        retry: RetryPolicy,
        *,
        stopping: asyncio.Event,
        on_retry_queued: Callable[[float], None],
    ) -> None:
        self.db = db
        self.committer = committer
        self.retry = retry
        self._stopping = stopping
        self._on_retry_queued = on_retry_queued  # a file is queued again from then: claim it
        self._outcomes: dict[str, str] = {}  # file id -> how its attempt ended (metrics)

    def _ended(
        self, claimed: ClaimedFile, outcome: str, mime_type: str | None, code: str = ""
    ) -> None:
        """Count the attempt's end (``ingestd_files_finished``) and remember it for the
        runner's end-to-end histogram."""
        FILES_FINISHED.labels(outcome, mime_type or claimed.mime_type or "unknown", code).inc()
        self._outcomes[claimed.id] = outcome

    def last_outcome(self, file_id: str) -> str:
        """How the file's attempt ended (once: forgotten after), ``unknown`` if not recorded."""
        return self._outcomes.pop(file_id, "unknown")

    async def record(self, claimed: ClaimedFile, write: Callable[[], Awaitable[T]]) -> T:
        """Run ``write`` until the database answers it (see the module docstring)."""
        delay = RECORD_RETRY_FIRST
        while True:
            try:
                return await write()
            except Exception as exc:
                if not is_unavailable(exc) or self._stopping.is_set():
                    raise
                log.warning(
                    "the database is unreachable; recording %s again in %.2g s", claimed.id, delay
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX)

    async def complete(self, claimed: ClaimedFile, outcome: FileOutcome) -> FileStatus:
        """Completed (or cancelled, if its job was meanwhile): batched with other completions."""
        status = await self.record(claimed, lambda: self.committer.complete(claimed, outcome))
        self._ended(claimed, status.value, outcome.mime_type)
        return status

    async def fail(
        self, claimed: ClaimedFile, error: FileError, *, mime_type: str | None = None
    ) -> None:
        """Failed: queued again after a backoff when the retry policy allows, else for good."""
        retry_at = self.retry.retry_at(
            retryable=error.retryable,
            attempts=claimed.attempts,
            max_retries=claimed.options.max_retries,
            now=time.time(),
        )
        await self.record(
            claimed,
            lambda: outcome_store.fail_file(
                self.db, claimed, error, now=time.time(), retry_at=retry_at, mime_type=mime_type
            ),
        )
        self._ended(claimed, "failed" if retry_at is None else "retrying", mime_type, error.code)
        log.info(  # the job, file, worker and tenant ids come with the line (observe/logs.py)
            "%s %s: %s (%s)",
            claimed.name,
            "failed" if retry_at is None else "will be retried",
            error.code,
            error.message,
        )
        if retry_at is not None:
            FILE_RETRIES.labels(error.code).inc()
            self._on_retry_queued(retry_at)

    async def skip(
        self, claimed: ClaimedFile, *, sha256: str, mime_type: str, size: int, duplicate_of: str
    ) -> None:
        """Skipped: the same content was already ingested (``duplicate_of`` names its file)."""
        await self.record(
            claimed,
            lambda: outcome_store.skip_file(
                self.db,
                claimed,
                sha256=sha256,
                mime_type=mime_type,
                size=size,
                duplicate_of=duplicate_of,
                now=time.time(),
            ),
        )
        self._ended(claimed, "skipped", mime_type)

    async def wait_for(
        self, claimed: ClaimedFile, original: str, *, recheck_seconds: float
    ) -> None:
        """Waiting: ``original`` holds the same content and is still being processed."""
        await self.record(
            claimed,
            lambda: outcome_store.wait_for_original(
                self.db,
                claimed,
                original,
                now=time.time(),
                recheck_at=time.time() + recheck_seconds,
            ),
        )
        self._outcomes[claimed.id] = "waiting"

    async def release(self, claimed: ClaimedFile) -> None:
        """Handed back untouched (shutdown, a database away mid-file): the attempt does not
        count."""
        await self.record(
            claimed, lambda: outcome_store.release_file(self.db, claimed, now=time.time())
        )
        self._outcomes.pop(claimed.id, None)

    async def cancel(self, claimed: ClaimedFile) -> None:
        """Stopped because its job was cancelled while it ran."""
        await outcome_store.cancel_file(self.db, claimed, now=time.time())
        self._ended(claimed, "cancelled", None)
        self._outcomes.pop(claimed.id, None)

    async def after_cancel(self, claimed: ClaimedFile, reason: str) -> None:
        """A file's task was cancelled: its job was (``cancelled``), or the worker is stopping
        (``shutdown``: handed back)."""
        with contextlib.suppress(LeaseLost):
            if reason == "cancelled":
                await self.cancel(claimed)
            else:
                await self.release(claimed)

    async def after_error(self, claimed: ClaimedFile, exc: Exception) -> None:
        """A file's processing raised something other than a ``FileError``."""
        with contextlib.suppress(LeaseLost):
            if is_unavailable(exc):  # a read failed mid-file: not the file's fault, no attempt lost
                log.warning("the database is unreachable; handing %s back", claimed.id)
                await self.release(claimed)
                return
            log.error("unexpected error processing %s", claimed.id, exc_info=exc)
            error = FileError(
                "internal_error", "unexpected error; see the server log", retryable=True
            )
            await self.fail(claimed, error)
