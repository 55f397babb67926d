"""Writes the audit log: every mutating /api/v1 call (recorded by ``api/audit.py``'s middleware
after the response is sent, so auditing never slows or fails the call itself).

Rows are written in batches, off the request path: a transaction per call cost more than many
small calls (a tus PATCH, say) did themselves. The log is a security record, so:

- a row waits at most ``LINGER`` seconds, then its batch is written in one transaction (at once
  when ``BATCH`` rows wait): another API process's reader sees a call within about that long;
- reading the log through this process's API (``GET /api/v1/audit``) writes what waits first,
  so a call this process answered shows at once;
- a clean shutdown writes what waits before the store closes (the process's lifecycle stops
  this writer before it closes the store); a batch that cannot be written stays queued (in memory,
  a few hundred bytes per call) and is retried with backoff, and whatever still cannot be
  written at shutdown is logged in full at ERROR;
- a row the database refuses as invalid (an integrity or data error, not an outage nor a lock)
  is logged in full at ERROR and the rest of its batch is written without it.

Only a killed process (SIGKILL, power loss) loses rows: those of its last ``LINGER`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ingestd.lifecycle import BackgroundService
from ingestd.store.audit import record_many
from ingestd.store.db import Database
from ingestd.store.errors import RowsRefused

log = logging.getLogger("ingestd.audit")

LINGER = 0.25  # seconds a row may wait for its batch
BATCH = 500  # rows that are written at once, without waiting for LINGER
RETRY_MAX = 5.0  # seconds between attempts while the database cannot be reached


class AuditWriter(BackgroundService):
    """The rows waiting to be written, and the timer that writes them (one per API process).
    Stopping it writes what waits (:meth:`close`)."""

    name = "audit-writer"
    logger = log

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._pending: list[dict[str, Any]] = []
        self._writing = 0  # rows of the batch being written
        self._db = db
        self._lock = asyncio.Lock()  # one batch at a time, so rows land in the order added
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._failing = False  # the last attempt failed: only the timer retries, with backoff

    @property
    def pending(self) -> int:
        """Rows not written yet (waiting, or in the batch being written)."""
        return len(self._pending) + self._writing

    async def add(self, entry: dict[str, Any]) -> None:
        """Queue ``entry``; write the batch now if it is full or the app is stopping."""
        self._pending.append(entry)
        if self._closed:
            try:
                await self.flush()
            except Exception:
                self._give_up()
        elif len(self._pending) >= BATCH and not self._failing:
            try:
                await self.flush()
            except Exception:
                log.exception("could not write %d audit entries; retrying", len(self._pending))
                self.flush_later()
        else:
            self.flush_later()

    async def flush(self) -> None:
        """Write every waiting row now. Raises (keeping the rows queued) if the database cannot
        take them now (down, locked, …)."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            self._writing = len(batch)
            try:
                async with self._db.write() as conn:
                    await record_many(conn, batch)
            except RowsRefused:
                await self._write_one_by_one(self._db, batch)
            except BaseException:  # or cancelled: a row written twice beats a row lost
                self._pending[:0] = batch
                self._failing = True
                raise
            finally:
                self._writing = 0
            self._failing = False

    async def teardown(self) -> None:
        await self.close()

    async def close(self) -> None:
        """Write what waits; from now on each row is written as it comes."""
        self._closed = True
        if self._timer is not None:  # still sleeping: a timer that flushes has let go of it
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        try:
            await self.flush()  # after any flush in progress (the lock)
        except Exception:
            self._give_up()

    def _give_up(self) -> None:
        """Stopping, and the database cannot be reached: the rows go to the log, not nowhere."""
        log.exception("could not write %d audit entries while stopping", len(self._pending))
        for entry in self._pending:
            log.error("audit entry not written: %s", json.dumps(entry, default=str))
        self._pending.clear()

    def flush_later(self, delay: float | None = None) -> None:
        """Make sure a timer will write the waiting rows (after ``LINGER`` seconds by default)."""
        if self._timer is None and self._pending and not self._closed:
            self._timer = asyncio.create_task(self._flush_after(LINGER if delay is None else delay))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timer = None  # from here on close() waits for this flush instead of cancelling it
        try:
            await self.flush()
        except Exception:
            log.exception("could not write %d audit entries; retrying", len(self._pending))
            self.flush_later(min(max(delay, LINGER) * 2, RETRY_MAX))

    async def _write_one_by_one(self, db: Database, batch: list[dict[str, Any]]) -> None:
        """A batch the database refused: write its rows alone, so one bad row costs only itself."""
        for index, entry in enumerate(batch):
            try:
                async with db.write() as conn:
                    await record_many(conn, [entry])
            except RowsRefused:
                log.exception("audit entry refused: %s", json.dumps(entry, default=str))
            except BaseException:
                self._pending[:0] = batch[index:]
                self._failing = True
                raise


async def flush_audit(writer: AuditWriter | None) -> None:
    """Write this process's waiting audit rows (before the log is read). If the store cannot
    take them now, the reader gets what is stored; the rows stay queued for the timer."""
    if writer is None:
        return
    try:
        await writer.flush()
    except Exception:
        log.exception("could not write %d audit entries before a read", writer.pending)
        writer.flush_later()
