"""The event log: every state change, in order, in the same transaction as the change."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.ids import new_id
from ingestd.store.tables import events


async def append_event(
    conn: AsyncConnection,
    *,
    tenant: str,
    type: str,
    job_id: str | None = None,
    file_id: str | None = None,
    data: dict[str, Any] | None = None,
    at: float | None = None,
) -> None:
    await conn.execute(
        events.insert().values(
            id=new_id("evt"),
            tenant=tenant,
            type=type,
            job_id=job_id,
            file_id=file_id,
            at=at if at is not None else time.time(),
            data=data or {},
        )
    )
    _appended()


async def append_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        for row in rows:
            row.setdefault("id", new_id("evt"))
            row.setdefault("at", time.time())
            row.setdefault("data", {})
            row.setdefault("file_id", None)
        await conn.execute(events.insert(), rows)
        _appended()


async def list_events(
    conn: AsyncConnection,
    *,
    tenant: str | None,
    job_id: str | None = None,
    after_seq: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.seq > after_seq).order_by(events.c.seq).limit(limit)
    if tenant is not None:
        query = query.where(events.c.tenant == tenant)
    if job_id is not None:
        query = query.where(events.c.job_id == job_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# -- live delivery -------------------------------------------------------------------------
# The event log is the source of truth; live subscribers learn of new rows by tailing it.
# Appends made in this process also ring these bells so the tail reads at once instead of at
# its next poll (appends from other processes are found by the poll).
_append_listeners: list[Callable[[], None]] = []


def on_append(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (soon, on the loop) after an event is appended in this process.
    Returns a function that removes it."""
    _append_listeners.append(listener)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _append_listeners.remove(listener)

    return remove


def _appended() -> None:
    if not _append_listeners:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for listener in list(_append_listeners):
        # call_soon: the transaction has not committed yet; the tail re-reads shortly anyway.
        loop.call_soon(listener)


async def events_between(
    conn: AsyncConnection,
    *,
    after_seq: int,
    upto_seq: int | None = None,
    tenant: str | None = None,
    job_id: str | None = None,
    types: Collection[str] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Rows with ``after_seq < seq <= upto_seq`` in order (all tenants when ``tenant`` is None;
    only those of ``types`` when given)."""
    query = sa.select(events).where(events.c.seq > after_seq).order_by(events.c.seq).limit(limit)
    if types is not None:
        query = query.where(events.c.type.in_(sorted(types)))
    if upto_seq is not None:
        query = query.where(events.c.seq <= upto_seq)
    if tenant is not None:
        query = query.where(events.c.tenant == tenant)
    if job_id is not None:
        query = query.where(events.c.job_id == job_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def max_seq(conn: AsyncConnection) -> int:
    value = (await conn.execute(sa.select(sa.func.max(events.c.seq)))).scalar()
    return int(value or 0)


async def seq_of(conn: AsyncConnection, event_id: str) -> int | None:
    value = (await conn.execute(sa.select(events.c.seq).where(events.c.id == event_id))).scalar()
    return None if value is None else int(value)


async def delete_events(
    conn: AsyncConnection, *, before: float, keep_last: int | None = None
) -> int:
    """Delete events older than ``before``; with ``keep_last``, also all but the newest N.

    The newest event always stays: on SQLite seq is the rowid, which would restart below what
    the tails have already read if the table were emptied."""
    newest = await max_seq(conn)
    deleted = (
        await conn.execute(events.delete().where(events.c.at < before, events.c.seq < newest))
    ).rowcount or 0
    if keep_last is not None:
        cutoff = min(newest - keep_last, newest - 1)
        if cutoff > 0:
            result = await conn.execute(events.delete().where(events.c.seq <= cutoff))
            deleted += result.rowcount or 0
    return int(deleted)
