"""The webhook outbox tables: the matching cursor, the deliveries to make, the tenant secrets.
The rules (matching, backoff, disabling) are in ``ingestd/webhooks/``; this module holds the
statements.

A delivery is claimed like a queued file (see ``ingestd/queue/claims.py``): one short write
transaction picks due rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the one writer) and
pushes their ``next_attempt_at`` a lease into the future with a fresh token. The sender writes the
outcome only while that token still holds; a sender that dies leaves rows that come due again.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.ids import new_id
from ingestd.store.dialect import for_update_skip_locked, insert_ignoring_duplicates
from ingestd.store.tables import (
    webhook_cursor,
    webhook_deliveries,
    webhook_outbox,
    webhook_tenant_secrets,
    webhooks,
)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"  # out of attempts
DROPPED = "dropped"  # its webhook was disabled before it went out
JOB_TARGET = "job"  # ``target`` of a delivery to a job's webhook_url


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this process holds the lease of, with what it needs to send it."""

    id: str
    tenant: str
    webhook_id: str | None  # None: a job's webhook_url
    url: str
    secret: str | None
    event_id: str
    event_type: str
    body: str
    attempt: int  # this attempt's number, from 1
    lease_token: str
    lease_expires_at: float  # unix seconds: past it, another process may claim and send it


# -- the cursor ---------------------------------------------------------------------------------


async def read_cursor(conn: AsyncConnection) -> int:
    value = await conn.execute(sa.select(webhook_cursor.c.seq).where(webhook_cursor.c.id == 1))
    seq = value.scalar()
    return int(seq or 0)


async def advance_cursor(conn: AsyncConnection, *, old: int, new: int) -> bool:
    """Compare-and-set the cursor; False when another process moved it first.

    On PostgreSQL a concurrent advancer waits on the row lock and then finds ``seq`` changed, so
    exactly one of them writes outbox rows for the events in between."""
    result = await conn.execute(
        webhook_cursor.update()
        .where(webhook_cursor.c.id == 1, webhook_cursor.c.seq == old)
        .values(seq=new, updated_at=time.time())
    )
    return (result.rowcount or 0) == 1


# -- matching writes rows ----------------------------------------------------------------------


async def enqueue(conn: AsyncConnection, rows: list[dict[str, Any]], *, now: float) -> None:
    """Insert deliveries; a (event_id, target) already there is left alone."""
    if not rows:
        return
    values = [
        {
            "id": new_id("dlv"),
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            **row,
        }
        for row in rows
    ]
    await conn.execute(insert_ignoring_duplicates(conn, webhook_outbox), values)


async def tenant_secret(conn: AsyncConnection, tenant: str, *, candidate: str) -> dict[str, Any]:
    """The tenant's job-webhook signing secret; ``candidate`` becomes it when the tenant has
    none yet (safe against a racing maker: the first one stays)."""
    await conn.execute(
        insert_ignoring_duplicates(conn, webhook_tenant_secrets).values(
            tenant=tenant, secret=candidate, created_at=time.time()
        )
    )
    row = (
        (
            await conn.execute(
                sa.select(webhook_tenant_secrets).where(webhook_tenant_secrets.c.tenant == tenant)
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


# -- claiming and finishing --------------------------------------------------------------------


async def next_due(conn: AsyncConnection) -> float | None:
    """When the earliest pending delivery is due (a cheap read before any write)."""
    value = (
        await conn.execute(
            sa.select(sa.func.min(webhook_outbox.c.next_attempt_at)).where(
                webhook_outbox.c.state == PENDING
            )
        )
    ).scalar()
    return None if value is None else float(value)


async def claim_due(
    conn: AsyncConnection, owner: str, limit: int, *, now: float, lease_seconds: float
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``owner``; drop those whose webhook is disabled."""
    query = (
        sa.select(
            webhook_outbox,
            webhooks.c.secret.label("webhook_secret"),
            webhooks.c.enabled,
            webhook_tenant_secrets.c.secret.label("tenant_secret"),
        )
        .outerjoin(webhooks, webhooks.c.id == webhook_outbox.c.webhook_id)
        .outerjoin(
            webhook_tenant_secrets, webhook_tenant_secrets.c.tenant == webhook_outbox.c.tenant
        )
        .where(webhook_outbox.c.state == PENDING, webhook_outbox.c.next_attempt_at <= now)
        .order_by(webhook_outbox.c.next_attempt_at)
        .limit(limit)
    )
    rows = (await conn.execute(for_update_skip_locked(conn, query, webhook_outbox))).mappings()
    picked = [dict(r) for r in rows]
    dropped = [r["id"] for r in picked if r["webhook_id"] is not None and not r["enabled"]]
    due = (webhook_outbox.c.state == PENDING, webhook_outbox.c.next_attempt_at <= now)
    if dropped:
        await conn.execute(
            webhook_outbox.update()
            .where(webhook_outbox.c.id.in_(dropped), *due)
            .values(state=DROPPED, finished_at=now, last_error="webhook disabled")
        )
    sending = {r["id"]: r for r in picked if r["id"] not in set(dropped)}
    if not sending:
        return []
    token = secrets.token_hex(8)
    # The conditions again, in the UPDATE: it re-reads a row another transaction changed since
    # the SELECT's snapshot (PostgreSQL, read committed), so a row claimed or settled meanwhile
    # is not taken twice. Only the rows it returns are ours, with their current attempt count.
    claimed = await conn.execute(
        webhook_outbox.update()
        .where(webhook_outbox.c.id.in_(list(sending)), *due)
        .values(
            attempts=webhook_outbox.c.attempts + 1,
            next_attempt_at=now + lease_seconds,
            lease_owner=owner,
            lease_token=token,
        )
        .returning(webhook_outbox.c.id, webhook_outbox.c.attempts)
    )
    return [
        _claimed({**sending[row_id], "attempts": attempts - 1}, token, now + lease_seconds)
        for row_id, attempts in claimed.all()
    ]


def _claimed(row: dict[str, Any], token: str, expires: float) -> Claimed:
    job_target = row["webhook_id"] is None
    return Claimed(
        id=row["id"],
        tenant=row["tenant"],
        webhook_id=row["webhook_id"],
        url=row["url"],
        secret=row["tenant_secret"] if job_target else row["webhook_secret"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        body=row["body"],
        attempt=int(row["attempts"]) + 1,
        lease_token=token,
        lease_expires_at=expires,
    )


async def settle(
    conn: AsyncConnection,
    item: Claimed,
    *,
    state: str,
    error: str | None,
    now: float,
    retry_at: float | None = None,
) -> bool:
    """Write the outcome of an attempt: finished (``state``) or pending again at ``retry_at``.
    False when the lease was lost (the row was claimed again after it expired)."""
    values: dict[str, Any] = {"lease_owner": None, "lease_token": None, "last_error": error}
    if retry_at is not None:
        values.update(state=PENDING, next_attempt_at=retry_at)
    else:
        values.update(state=state, finished_at=now)
    result = await conn.execute(
        webhook_outbox.update()
        .where(
            webhook_outbox.c.id == item.id,
            webhook_outbox.c.state == PENDING,
            webhook_outbox.c.lease_token == item.lease_token,
        )
        .values(**values)
    )
    return (result.rowcount or 0) == 1


async def release(conn: AsyncConnection, items: list[Claimed], *, now: float) -> None:
    """Give back leases of attempts that never ran to the end (shutdown): due now, uncounted."""
    for item in items:
        await conn.execute(
            webhook_outbox.update()
            .where(
                webhook_outbox.c.id == item.id,
                webhook_outbox.c.state == PENDING,
                webhook_outbox.c.lease_token == item.lease_token,
            )
            .values(
                attempts=webhook_outbox.c.attempts - 1,
                next_attempt_at=now,
                lease_owner=None,
                lease_token=None,
            )
        )


async def drop_pending(conn: AsyncConnection, webhook_id: str, *, now: float) -> None:
    """Finish the webhook's waiting deliveries (it was disabled)."""
    await conn.execute(
        webhook_outbox.update()
        .where(webhook_outbox.c.webhook_id == webhook_id, webhook_outbox.c.state == PENDING)
        .values(state=DROPPED, finished_at=now, last_error="webhook disabled")
    )


async def prune(conn: AsyncConnection, *, before: float) -> int:
    """Delete finished deliveries and logged attempts older than ``before``; returns how many."""
    finished = await conn.execute(
        webhook_outbox.delete().where(
            webhook_outbox.c.state != PENDING, webhook_outbox.c.finished_at < before
        )
    )
    logged = await conn.execute(
        webhook_deliveries.delete().where(webhook_deliveries.c.created_at < before)
    )
    return int((finished.rowcount or 0) + (logged.rowcount or 0))


async def pending_count(conn: AsyncConnection) -> int:
    value = await conn.execute(
        sa.select(sa.func.count())
        .select_from(webhook_outbox)
        .where(webhook_outbox.c.state == PENDING)
    )
    return int(value.scalar() or 0)
