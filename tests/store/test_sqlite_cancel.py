"""A write transaction cancelled while SQLite works (a request whose client left, a worker
stopping) must not leave the database locked: SQLAlchemy then closes the connection without a
ROLLBACK, and a closed SQLite connection whose statements are still referenced stays open as a
"zombie", holding the write lock until the garbage collector gets round to it. Every later
writer, in this process or another, then waits out its busy timeout and fails."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from ingestd.store.db import Database

SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000000) "
    "SELECT count(*) FROM c"
)


async def test_a_write_cancelled_mid_statement_leaves_the_database_unlocked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cancel.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.write() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))

        async def slow_write() -> None:
            async with db.write() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
                await conn.execute(sa.text(SLOW))

        task = asyncio.create_task(slow_write())
        await asyncio.sleep(0.3)  # inside the slow statement, the write lock held
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

        def lock_free() -> bool:
            other = sqlite3.connect(path, timeout=10, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                return True
            except sqlite3.OperationalError:
                return False
            finally:
                other.close()

        assert await asyncio.to_thread(lock_free), "the cancelled write still holds the lock"
        async with db.write() as conn:  # and the store itself writes on
            await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
        async with db.read() as conn:
            rows = (await conn.execute(sa.text("SELECT x FROM t"))).scalars().all()
        assert rows == [2]  # the cancelled insert was rolled back
    finally:
        await db.close()
