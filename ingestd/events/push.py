"""Push feeds: wake every API process's log tail when any process (a worker on another machine,
another API process) appends events. Only a wake-up crosses the wire; rows are still read from
the log by seq, so a lost or early notification costs latency, never an event.

- :class:`PgPush` — PostgreSQL ``NOTIFY`` / ``LISTEN`` on ``event_channel``.
- :class:`RedisPush` — Redis ``PUBLISH`` / ``SUBSCRIBE`` when ``redis_url`` is set.
- :class:`~ingestd.events.unix_push.UnixPush` — on SQLite (one machine): Unix datagram sockets.

Writers do not NOTIFY inside the transaction that appends the event: PostgreSQL serialises every
committing transaction that has notified (a global lock held through the commit), which would cap
the queue's write rate. :class:`EventPublisher` sends one notification per burst instead, on a
connection of its own, a moment after the append; the tail then reads and, if the commit has not
landed yet, re-reads a few times shortly after (see ``LogTail.wake``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa

from ingestd.config import Settings
from ingestd.events import unix_push
from ingestd.queue.notify import asyncpg_dsn
from ingestd.store import events as event_store
from ingestd.store.db import Database

log = logging.getLogger("ingestd.events")

DEBOUNCE_SECONDS = 0.002  # one notification per burst of appends
MAX_BACKOFF_SECONDS = 30.0


class Push(Protocol):
    """A wake-up channel shared by every process of one deployment."""

    name: str  # what the listener's connection is called on the server (tests drop it by name)

    async def publish(self) -> None: ...

    async def listen(self, wake: Callable[[], None], connected: Callable[[bool], None]) -> None:
        """Call ``wake`` on every notification, forever, reconnecting with backoff;
        ``connected(True/False)`` as the link comes and goes."""
        ...

    async def close(self) -> None: ...


def choose(settings: Settings, db: Database) -> Push | None:
    """Redis if configured, else PostgreSQL LISTEN/NOTIFY, else (SQLite) Unix datagram sockets
    next to the database file; none for ``poll`` or where that cannot work."""
    feed = settings.event_feed
    if feed == "poll":
        return None
    if feed == "redis" or (feed == "auto" and settings.redis_url):
        if not settings.redis_url:
            raise ValueError("INGESTD_EVENT_FEED=redis needs INGESTD_REDIS_URL")
        return RedisPush(settings.redis_url, settings.event_channel)
    if feed == "postgres" or (feed == "auto" and not db.is_sqlite):
        if db.is_sqlite:
            raise ValueError("INGESTD_EVENT_FEED=postgres needs a PostgreSQL database_url")
        return PgPush(db, settings.event_channel)
    return unix_push.for_url(db.url)


def _name() -> str:
    return f"ingestd-events-{os.getpid()}-{os.urandom(3).hex()}"


async def _backoff(delay: float) -> float:
    await asyncio.sleep(delay)
    return min(delay * 2, MAX_BACKOFF_SECONDS)


class PgPush:
    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self.name = _name()

    async def publish(self) -> None:
        async with self.db.write() as conn:  # delivered when this tiny transaction commits
            await conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": self.channel})

    async def listen(self, wake: Callable[[], None], connected: Callable[[bool], None]) -> None:
        import asyncpg

        delay = 0.5
        while True:
            connection: Any = None
            try:
                connection = await asyncpg.connect(
                    asyncpg_dsn(self.db.url), server_settings={"application_name": self.name}
                )
                closed = asyncio.Event()
                connection.add_termination_listener(lambda *_, done=closed: done.set())
                await connection.add_listener(self.channel, lambda *_: wake())
                delay = 0.5
                connected(True)  # also wakes: read what was written while we were away
                await closed.wait()
                log.warning("LISTEN %s: connection lost; reconnecting", self.channel)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("LISTEN %s failed (%s); retrying in %.1f s", self.channel, exc, delay)
            finally:
                connected(False)
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            delay = await _backoff(delay)

    async def close(self) -> None:
        return None  # publish() borrows pooled connections; listen()'s own closes on cancel


class RedisPush:
    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio as redis  # the `redis` extra

        self.url = url
        self.channel = channel
        self.name = _name()
        self._client = redis.Redis.from_url(url)  # for publish()

    async def publish(self) -> None:
        await self._client.publish(self.channel, b"")

    async def listen(self, wake: Callable[[], None], connected: Callable[[bool], None]) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        delay = 0.5
        while True:
            # No silent reconnects inside redis-py (its default retries back off for seconds
            # while we still count as pushed, and notifications sent meanwhile are lost): a
            # dropped link surfaces here, the tail polls briskly, and we reconnect ourselves.
            # A "subscribe" confirmation is the cue to re-read what was written while away.
            client = redis.Redis.from_url(
                self.url, client_name=self.name, retry=Retry(NoBackoff(), 0)
            )
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                delay = 0.5
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        connected(True)  # also wakes: read what was written while away
                    else:
                        wake()
            except (RedisError, OSError) as exc:
                log.warning("SUBSCRIBE %s lost (%s); retrying in %.1f s", self.channel, exc, delay)
            finally:
                connected(False)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()
            delay = await _backoff(delay)

    async def close(self) -> None:
        await self._client.aclose()


class EventPublisher:
    """In every process that appends events: one notification per burst, after a short delay.

    Never raises into the writer: a failed notification is logged (the readers' fallback poll
    still finds the rows)."""

    def __init__(self, push: Push) -> None:
        self.push = push
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._remove: Callable[[], None] = lambda: None
        self._failing = False

    def start(self) -> None:
        self._remove = event_store.on_append(self.kick)

    async def stop(self) -> None:
        self._remove()
        if self._task is not None and not self._task.done():
            # Let a pending notification go out (a final event should not wait for the poll).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 2)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.push.close()

    def kick(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send(), name="event-push")

    async def _send(self) -> None:
        while self._dirty:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self._dirty = False
            try:
                await self.push.publish()
                if self._failing:
                    log.info("event notifications are going out again")
                self._failing = False
            except Exception as exc:
                if not self._failing:  # once per outage, not once per event
                    log.warning("could not send an event notification (%s); readers poll", exc)
                self._failing = True
