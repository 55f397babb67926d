"""Connections. The only module that knows the dialects apart.

SQLite: one writer connection that starts every transaction with ``BEGIN IMMEDIATE`` (so two
writers never deadlock upgrading a read lock) and a small pool of readers in WAL mode, which
never block the writer. PostgreSQL: one pool for both.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from ingestd.observe.metrics import DB_SECONDS
from ingestd.store.signals import WorkSignals

# What the store's functions take: one connection inside one transaction (``Database.write()`` /
# ``read()``). Code outside the store passes it along and never builds a statement on it.
Connection = AsyncConnection


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let us issue BEGIN ourselves instead of the driver's implicit transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA busy_timeout=15000")  # ms: other processes (CLI, migrations)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class _RollbackOnClose(sqlite3.Connection):
    """A SQLite connection that ends its transaction before it closes.

    SQLAlchemy closes a connection without a ROLLBACK when the task using it is cancelled in
    the middle of a statement (a request whose client left, a worker stopping): it cannot await
    one then. SQLite keeps a closed connection whose statements are still referenced open as a
    "zombie", with its transaction and so the write lock, until the garbage collector frees
    them: every other writer waits out its busy timeout and fails. This runs in aiosqlite's
    thread, in order after the cancelled statement.
    """

    def close(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.rollback()
        super().close()


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"factory": _RollbackOnClose},
    )
    sync: Engine = engine.sync_engine
    event.listen(sync, "connect", _sqlite_pragmas)

    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    event.listen(sync, "begin", _begin)
    return engine


CONNECT_TIMEOUT = 10.0  # seconds to open a PostgreSQL connection


def _drop_closed(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Replace, on checkout, a pooled connection that the server has closed (a restart).

    Not SQLAlchemy's ``pool_pre_ping``: on asyncpg that costs three round trips (BEGIN, a
    ping, ROLLBACK) on every checkout, a third of a claim's. asyncpg sees a server's goodbye
    without asking, so this check is local; a connection that died silently (a cable pulled)
    fails its first statement instead, and the pool then drops every connection older than
    that failure (SQLAlchemy's invalidation), so it costs one error, not one per connection.
    """
    driver = record.driver_connection
    is_closed = getattr(driver, "is_closed", None)  # asyncpg; psycopg 3 has ``closed``
    if (is_closed() if callable(is_closed) else getattr(driver, "closed", False)) is True:
        raise DisconnectionError("the server closed this pooled connection")


# SQLSTATE classes that mean "the server is not there right now", not "the query is wrong":
# 08 connection exceptions, 57P01-57P03 admin shutdown / crash shutdown / cannot connect now,
# 53300 too many connections (others will close theirs).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def describe_url(url: str) -> str:
    """A database as a person reads it: a SQLite file's path, or a URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def missing_sqlite_file(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist (yet): opening it would create a
    new, empty database instead of finding the server's."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(str(parsed.database)).is_file()


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached (down, restarting, failing over,
    a dropped connection): the same statement may well succeed a moment later.

    Follows ``__cause__`` (SQLAlchemy wraps the driver's error with ``raise … from``), not
    ``__context__`` (whatever was being handled when the error came). asyncpg raises plain
    ``OSError`` subclasses (refused, reset, unreachable) when it cannot connect at all.
    """
    for current in _causes(exc):
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError | TimeoutError):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
    return False


# 22021 character_not_in_repertoire, 22P05 untranslatable_character: text PostgreSQL cannot hold,
# above all a NUL byte (SQLite stores one; PostgreSQL refuses it in every text column).
_UNSTORABLE_TEXT_SQLSTATES = ("22021", "22P05")


def is_unstorable_text(exc: BaseException) -> bool:
    """True when ``exc`` says a value sent was text the database cannot store (a NUL byte): the
    caller's input, not the server, is at fault."""
    return any(
        getattr(current, "sqlstate", None) in _UNSTORABLE_TEXT_SQLSTATES for current in _causes(exc)
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from (a chain is a few links long; never loop on a
    cycle)."""
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return
        yield current
        current = current.__cause__


class Database:
    """Async access to the store. ``write()`` for anything that changes rows."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.signals = WorkSignals()  # work queued, jobs cancelled: see store/signals.py
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
            self._reader = _sqlite_engine(url, begin="BEGIN", pool_size=4)
        else:
            # The connect timeout (seconds) keeps an unreachable server from stalling heartbeats.
            self._writer = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                connect_args={"timeout": CONNECT_TIMEOUT},
            )
            event.listen(self._writer.sync_engine.pool, "checkout", _drop_closed)
            self._reader = self._writer

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        with DB_SECONDS.labels("write").time():  # checkout to commit (observe/metrics.py)
            async with self._writer.begin() as conn:
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        with DB_SECONDS.labels("read").time():
            async with self._reader.begin() as conn:
                yield conn

    async def ping(self) -> None:
        """One round trip on a reader connection (readiness checks); raises if it fails."""
        async with self.read() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
