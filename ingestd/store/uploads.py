"""Uploads: the rows of resumable (tus) uploads, and the lookups that make uploaded bytes files
of their job. ``services/tus.py`` and ``services/uploads.py`` hold the rules; this module holds the
statements.

A tus upload is ``open`` until every byte is in, then ``complete`` (exactly once, across
processes: :func:`complete_upload` is guarded by the status), or ``terminated`` / ``expired``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.tables import files, uploads

OPEN, COMPLETE, TERMINATED, EXPIRED = "open", "complete", "terminated", "expired"


# -- tus uploads ------------------------------------------------------------------------------


async def insert_upload(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(uploads.insert().values(**row))


async def get_upload(
    conn: AsyncConnection, upload_id: str, *, tenant: str | None
) -> dict[str, Any] | None:
    """The row, or None (also for another tenant's upload when ``tenant`` is given)."""
    query = sa.select(uploads).where(uploads.c.id == upload_id)
    if tenant is not None:
        query = query.where(uploads.c.tenant == tenant)
    found = (await conn.execute(query)).mappings().first()
    return dict(found) if found is not None else None


async def set_upload_length(conn: AsyncConnection, upload_id: str, length: int) -> None:
    """A deferred ``Upload-Length`` becomes known."""
    await conn.execute(uploads.update().where(uploads.c.id == upload_id).values(length=length))


async def set_upload_offset(
    conn: AsyncConnection,
    upload_id: str,
    offset: int,
    *,
    expires_at: float | None = None,
    now: float | None = None,
) -> None:
    """Record how many bytes are in; with ``expires_at`` (and ``now``) the upload's lease on life
    is renewed too, as every byte received does."""
    values: dict[str, Any] = {"offset": offset}
    if expires_at is not None:
        values["expires_at"] = expires_at
    if now is not None:
        values["updated_at"] = now
    await conn.execute(uploads.update().where(uploads.c.id == upload_id).values(**values))


async def set_upload_sha256(conn: AsyncConnection, upload_id: str, digest: str) -> None:
    """Every byte is in and hashed: the finish can be redone from here after a crash."""
    await conn.execute(uploads.update().where(uploads.c.id == upload_id).values(sha256=digest))


async def complete_upload(conn: AsyncConnection, upload_id: str, *, now: float) -> bool:
    """Mark an open upload complete; False when another request (or process) already did."""
    result = await conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id, uploads.c.status == OPEN)
        .values(status=COMPLETE, updated_at=now)
    )
    return (result.rowcount or 0) == 1


async def set_upload_file(conn: AsyncConnection, upload_id: str, file_id: str) -> None:
    """The job file the finished upload became."""
    await conn.execute(uploads.update().where(uploads.c.id == upload_id).values(file_id=file_id))


async def end_upload(conn: AsyncConnection, upload_id: str, status: str, *, now: float) -> None:
    """An open upload ends unfinished (``terminated`` or ``expired``); any other stays as it is."""
    await conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id, uploads.c.status == OPEN)
        .values(status=status, updated_at=now)
    )


async def expired_upload_ids(conn: AsyncConnection, *, now: float, limit: int) -> list[str]:
    """Open uploads whose expiry has passed, at most ``limit`` of them."""
    query = (
        sa.select(uploads.c.id)
        .where(uploads.c.status == OPEN, uploads.c.expires_at < now)
        .limit(limit)
    )
    return [str(upload_id) for upload_id in (await conn.execute(query)).scalars()]


# -- uploaded files -----------------------------------------------------------------------------


async def path_taken(conn: AsyncConnection, job_id: str, source_index: int, path: str) -> bool:
    """Whether a file of this job's source already has ``path`` (uploads keep unique names)."""
    query = sa.select(files.c.id).where(
        files.c.job_id == job_id, files.c.source_index == source_index, files.c.path == path
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def files_by_id(conn: AsyncConnection, file_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The file rows with these ids, in id order."""
    if not file_ids:
        return []
    query = sa.select(files).where(files.c.id.in_(list(file_ids))).order_by(files.c.id)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


__all__ = [
    "COMPLETE",
    "EXPIRED",
    "OPEN",
    "TERMINATED",
    "complete_upload",
    "end_upload",
    "expired_upload_ids",
    "files_by_id",
    "get_upload",
    "insert_upload",
    "path_taken",
    "set_upload_file",
    "set_upload_length",
    "set_upload_offset",
    "set_upload_sha256",
]
