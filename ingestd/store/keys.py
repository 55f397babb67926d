"""API keys: stored as sha256 hashes only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.errors import duplicate_as
from ingestd.store.tables import api_keys


async def insert_key(conn: AsyncConnection, **values: Any) -> None:
    """:class:`~ingestd.store.errors.Duplicate` when a key with this hash exists."""
    with duplicate_as("a key with this value exists"):
        await conn.execute(api_keys.insert().values(**values))


async def key_by_hash(conn: AsyncConnection, key_hash: str) -> dict[str, Any] | None:
    row = await conn.execute(
        sa.select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def list_keys(conn: AsyncConnection, tenant: str | None) -> list[dict[str, Any]]:
    query = sa.select(api_keys).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.id)
    if tenant is not None:
        query = query.where(api_keys.c.tenant == tenant)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def revoke_key(conn: AsyncConnection, key_id: str, tenant: str | None, now: float) -> bool:
    query = api_keys.update().where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    if tenant is not None:
        query = query.where(api_keys.c.tenant == tenant)
    result = await conn.execute(query.values(revoked_at=now))
    return result.rowcount > 0


async def touch_key(conn: AsyncConnection, key_id: str, now: float) -> None:
    await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=now))


async def count_keys(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(api_keys))).scalar_one())
