"""Waking workers on other machines: PostgreSQL LISTEN/NOTIFY.

Whoever queues work sends ``NOTIFY ingestd_work`` (debounced); every worker LISTENs on its own
connection and claims at once instead of at its next poll. The poll stays as the fallback, so a
lost notification (or a dropped listener connection, re-opened with backoff) only costs latency.
SQLite deployments are one machine: there the API nudges its worker process directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from ingestd.store.db import Database
from ingestd.store.notify import CHANNEL, notify_workers

log = logging.getLogger("ingestd.worker")

DEBOUNCE_SECONDS = 0.02


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (asyncpg)."""
    return "postgresql://" + url.split("://", 1)[1]


class WorkNotifier:
    """Sends at most one NOTIFY per debounce window."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: asyncio.Task[None] | None = None

    def notify(self) -> None:
        if self.db.is_sqlite or (self._pending is not None and not self._pending.done()):
            return
        self._pending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        try:
            await notify_workers(self.db)
        except Exception:  # workers still poll: a lost nudge costs latency, not work
            log.warning("could not notify workers", exc_info=True)


class WorkListener:
    """Calls ``on_work`` whenever a NOTIFY arrives; reconnects with backoff if the link drops."""

    def __init__(self, db: Database, on_work: Callable[[], None]) -> None:
        self.db = db
        self.on_work = on_work
        self._task: asyncio.Task[None] | None = None
        self.listening = False  # connected and listening now

    def start(self) -> None:
        if not self.db.is_sqlite:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import asyncpg  # the optional postgres extra: only PostgreSQL deployments listen

        delay = 0.5
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(asyncpg_dsn(self.db.url))
                closed = asyncio.Event()
                connection.add_termination_listener(lambda *_, done=closed: done.set())
                await connection.add_listener(CHANNEL, lambda *_: self.on_work())
                self.listening = True
                delay = 0.5
                self.on_work()  # anything queued while we were not listening
                await closed.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN %s lost (%s); retrying in %.1f s", CHANNEL, exc, delay)
            finally:
                self.listening = False
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
