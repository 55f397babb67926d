"""The work channel on PostgreSQL: whoever queues work notifies it, workers listen to it
(``queue/notify.py`` debounces the notifications and keeps the listening connection)."""

from __future__ import annotations

import sqlalchemy as sa

from ingestd.store.db import Database
from ingestd.store.errors import translated

CHANNEL = "ingestd_work"
_NOTIFY = sa.text(f"NOTIFY {CHANNEL}")


@translated
async def notify_workers(db: Database) -> None:
    """``NOTIFY`` every listening worker that work may be waiting (PostgreSQL only)."""
    async with db.write() as conn:
        await conn.execute(_NOTIFY)
