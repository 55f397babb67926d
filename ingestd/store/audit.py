"""The audit log: appended (in batches) after mutating API calls, read by admins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.errors import refused_rows
from ingestd.store.tables import audit_log


async def record_many(conn: AsyncConnection, entries: list[dict[str, Any]]) -> None:
    """One statement for the batch, rows in the order given (so ``seq`` follows it).
    :class:`~ingestd.store.errors.RowsRefused` when the database refuses a row as invalid."""
    with refused_rows("an audit entry"):
        await conn.execute(audit_log.insert(), entries)


async def list_entries(
    conn: AsyncConnection, *, tenant: str | None, before_seq: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first."""
    query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if tenant is not None:
        query = query.where(audit_log.c.tenant == tenant)
    if before_seq is not None:
        query = query.where(audit_log.c.seq < before_seq)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
