"""Typed records of applied tables and their invalid cells (docs/templates.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.tables import template_record_errors, template_records


async def delete_for_file(conn: AsyncConnection, file_id: str) -> None:
    await conn.execute(template_records.delete().where(template_records.c.file_id == file_id))
    await conn.execute(
        template_record_errors.delete().where(template_record_errors.c.file_id == file_id)
    )


async def insert_records(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """``{"file_id", "table_index", "row", "valid", "data"}`` each."""
    if rows:
        await conn.execute(template_records.insert(), list(rows))


async def insert_errors(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(template_record_errors.insert(), list(rows))


async def list_records(
    conn: AsyncConnection,
    file_ids: Sequence[str],
    *,
    after: tuple[str, int, int] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Records of ``file_ids`` in (file, table, row) order, after the cursor ``after``."""
    r = template_records.c
    query = (
        sa.select(r.file_id, r.table_index, r.row, r.valid, r.data)
        .where(r.file_id.in_(list(file_ids)))
        .order_by(r.file_id, r.table_index, r.row)
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(r.file_id, r.table_index, r.row) > sa.tuple_(*after))
    return [dict(x) for x in (await conn.execute(query)).mappings()]


async def list_errors(
    conn: AsyncConnection, file_id: str, *, rows: tuple[int, int] | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    e = template_record_errors.c
    query = (
        sa.select(e.table_index, e.row, e.column, e.field, e.value, e.reason)
        .where(e.file_id == file_id)
        .order_by(e.table_index, e.row, e.id)
        .limit(limit)
    )
    return [dict(x) for x in (await conn.execute(query)).mappings()]
