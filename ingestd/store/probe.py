"""The storage monitor's database probe, and the tenants its events are written for."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.ids import new_id
from ingestd.store.tables import storage_probes, webhooks


class ProbeMismatch(Exception):
    """The probe row read back is not the one written."""


async def write_read_delete(conn: AsyncConnection, *, now: float) -> None:
    """Write a probe row, read it back, delete it (in the caller's write transaction)."""
    probe_id = new_id("prb")
    await conn.execute(storage_probes.insert().values(id=probe_id, written_at=now))
    found = (
        await conn.execute(
            sa.select(storage_probes.c.written_at).where(storage_probes.c.id == probe_id)
        )
    ).scalar_one_or_none()
    if found != now:
        raise ProbeMismatch(f"probe {probe_id} read back as {found!r}")
    await conn.execute(storage_probes.delete().where(storage_probes.c.id == probe_id))


async def tenants_with_webhooks(conn: AsyncConnection) -> list[str]:
    """Tenants with an enabled webhook: system-wide events (storage health) are logged for each
    of them, so their webhooks and event streams can see them."""
    query = sa.select(webhooks.c.tenant).where(webhooks.c.enabled.is_(True)).distinct()
    return sorted(str(t) for t in (await conn.execute(query)).scalars())
