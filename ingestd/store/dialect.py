"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(dialect_name: str, table: sa.Table) -> Any:
    """``INSERT`` of the dialect named (PostgreSQL's or SQLite's, for ``ON CONFLICT``): by name,
    so a statement built once per dialect can be cached (``functools.cache``)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)


def insert_ignoring_duplicates(conn: AsyncConnection, table: sa.Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def for_update_skip_locked(
    conn: AsyncConnection, query: sa.Select[Any], *of: Any
) -> sa.Select[Any]:
    """Row locks that let concurrent claimers pass each other (SQLite serialises writers anyway)."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=of or None)
    return query
