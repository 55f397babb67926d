"""The worker registry's rows: who is working, from which host and process, who went silent.

The policy (when a silent worker counts as gone, how long rows are kept) is ``queue/registry.py``;
these are its statements.
"""

from __future__ import annotations

import os
import socket

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.db import Database
from ingestd.store.errors import translated
from ingestd.store.tables import workers


@translated
async def register_worker(db: Database, worker_id: str, *, now: float) -> None:
    """Add this process's row (host and pid are its own)."""
    async with db.write() as conn:
        await conn.execute(
            workers.insert().values(
                id=worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                last_seen=now,
                running=0,
            )
        )


async def record_heartbeat(
    conn: AsyncConnection, worker_id: str, *, now: float, running: int
) -> None:
    """Renew ``last_seen`` (in the transaction that renews the worker's leases)."""
    await conn.execute(
        workers.update().where(workers.c.id == worker_id).values(last_seen=now, running=running)
    )


@translated
async def unregister_worker(db: Database, worker_id: str, *, now: float) -> None:
    """Say goodbye: the row stays, marked stopped and holding nothing."""
    async with db.write() as conn:
        await conn.execute(
            workers.update().where(workers.c.id == worker_id).values(stopped_at=now, running=0)
        )


def silent_workers(gone_before: float) -> sa.Select[tuple[str]]:
    """Workers that stopped or were last seen before ``gone_before``: whatever they still hold
    is nobody's. Bounded: rows older than a day are forgotten."""
    return sa.select(workers.c.id).where(
        sa.or_(workers.c.stopped_at.is_not(None), workers.c.last_seen < gone_before)
    )


async def mark_emptied(conn: AsyncConnection, *, gone_before: float) -> None:
    """Silent workers hold nothing once the rescuer has run: show them so."""
    await conn.execute(
        workers.update()
        .where(workers.c.id.in_(silent_workers(gone_before)), workers.c.running > 0)
        .values(running=0)
    )


async def forget_workers(conn: AsyncConnection, *, before: float) -> int:
    """Delete workers last seen before ``before`` (stopped or gone long ago)."""
    result = await conn.execute(workers.delete().where(workers.c.last_seen < before))
    return int(result.rowcount or 0)
