"""The webhooks tables: subscriptions and the record of each delivery attempt (the outbox of
deliveries still to make is in ``webhook_outbox.py``), and the job ``webhook_url``s events go to."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.ids import new_id
from ingestd.store.tables import jobs, webhook_deliveries, webhook_outbox, webhooks


async def create_webhook(
    conn: AsyncConnection, *, tenant: str, url: str, events: list[str], secret: str
) -> dict[str, Any]:
    row = {
        "id": new_id("whk"),
        "tenant": tenant,
        "url": url,
        "events": events,
        "secret": secret,
        "enabled": True,
        "consecutive_failures": 0,
        "created_at": time.time(),
    }
    await conn.execute(webhooks.insert().values(**row))
    return row


async def get_webhook(
    conn: AsyncConnection, webhook_id: str, *, tenant: str | None
) -> dict[str, Any] | None:
    query = sa.select(webhooks).where(webhooks.c.id == webhook_id)
    if tenant is not None:
        query = query.where(webhooks.c.tenant == tenant)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_webhooks(
    conn: AsyncConnection, *, tenant: str | None, enabled_only: bool = False
) -> list[dict[str, Any]]:
    query = sa.select(webhooks).order_by(webhooks.c.id)
    if tenant is not None:
        query = query.where(webhooks.c.tenant == tenant)
    if enabled_only:
        query = query.where(webhooks.c.enabled.is_(True))
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def delete_webhook(conn: AsyncConnection, webhook_id: str, *, tenant: str | None) -> bool:
    if await get_webhook(conn, webhook_id, tenant=tenant) is None:
        return False
    # explicit, in case SQLite's foreign keys (and so the cascade) are off
    await conn.execute(
        webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == webhook_id)
    )
    await conn.execute(webhook_outbox.delete().where(webhook_outbox.c.webhook_id == webhook_id))
    await conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
    return True


async def list_deliveries(
    conn: AsyncConnection, webhook_id: str, *, before_id: str | None, limit: int
) -> list[dict[str, Any]]:
    query = (
        sa.select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(webhook_deliveries.c.id < before_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def record_delivery(conn: AsyncConnection, **values: Any) -> None:
    values.setdefault("id", new_id("dlv"))
    values.setdefault("created_at", time.time())
    await conn.execute(webhook_deliveries.insert().values(**values))


async def note_result(conn: AsyncConnection, webhook_id: str, *, ok: bool) -> int | None:
    """Reset or bump the failure streak; returns the new streak (None if the webhook is gone)."""
    column = webhooks.c.consecutive_failures
    if ok:
        # Only when there is a streak to reset: every delivery's transaction would otherwise lock
        # the webhook's row, and they would all queue behind each other across processes.
        await conn.execute(
            webhooks.update()
            .where(webhooks.c.id == webhook_id, column != 0)
            .values(consecutive_failures=0)
        )
        return 0
    await conn.execute(
        webhooks.update().where(webhooks.c.id == webhook_id).values(consecutive_failures=column + 1)
    )
    value = (await conn.execute(sa.select(column).where(webhooks.c.id == webhook_id))).scalar()
    return None if value is None else int(value)


async def disable_webhook(conn: AsyncConnection, webhook_id: str) -> bool:
    """Disable it; True when this call did (it was enabled)."""
    result = await conn.execute(
        webhooks.update()
        .where(webhooks.c.id == webhook_id, webhooks.c.enabled.is_(True))
        .values(enabled=False)
    )
    return (result.rowcount or 0) > 0


async def job_webhook_urls(conn: AsyncConnection, job_ids: list[str]) -> dict[str, str]:
    """The ``webhook_url`` of each of these jobs that has one."""
    if not job_ids:
        return {}
    result = await conn.execute(
        sa.select(jobs.c.id, jobs.c.webhook_url).where(
            jobs.c.id.in_(job_ids), jobs.c.webhook_url.is_not(None)
        )
    )
    return {str(job_id): str(url) for job_id, url in result.all() if url}
