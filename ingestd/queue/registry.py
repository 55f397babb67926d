"""The worker registry: who is working, from which host and process, and who went silent.

Each worker process has a row (id, host, pid, started_at, last_seen, running). Its heartbeat
renews ``last_seen`` in the same transaction that renews its leases. A worker not seen for
``gone_after`` seconds is shown ``gone`` and the rescuer returns its files to the queue at once;
a row not seen for ``FORGET_AFTER_SECONDS`` is deleted, so the table stays small however many
workers come and go.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.db import Database
from ingestd.store.tables import workers

FORGET_AFTER_SECONDS = 24 * 3600  # a stopped or gone worker stays listed for a day


def gone_after(*, heartbeat_seconds: float, lease_seconds: float) -> float:
    """Seconds of silence after which a worker is gone: three missed heartbeats, and never less
    than a lease, so a worker that merely missed a few beats does not lose files it still holds."""
    return max(3 * heartbeat_seconds, lease_seconds)


async def register(db: Database, worker_id: str, *, now: float) -> None:
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


async def beat(conn: AsyncConnection, worker_id: str, *, now: float, running: int) -> None:
    await conn.execute(
        workers.update().where(workers.c.id == worker_id).values(last_seen=now, running=running)
    )


async def unregister(db: Database, worker_id: str, *, now: float) -> None:
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


async def forget(conn: AsyncConnection, *, before: float) -> int:
    """Delete workers last seen before ``before`` (stopped or gone long ago)."""
    result = await conn.execute(workers.delete().where(workers.c.last_seen < before))
    return int(result.rowcount or 0)


def status_of(row: dict[str, Any], *, gone_before: float) -> str:
    """``active``, ``stopped`` (it said goodbye) or ``gone`` (it went silent)."""
    if row["stopped_at"] is not None:
        return "stopped"
    return "gone" if row["last_seen"] < gone_before else "active"
