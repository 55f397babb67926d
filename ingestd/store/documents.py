"""What a document, an original or an export reads: a file's document key, the files of a job
in export order, their chunks with vectors, page by page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.states import FileStatus
from ingestd.store.tables import chunks, files, jobs

# A file whose output exists: its own (completed) or its original's (skipped as a duplicate).
WITH_OUTPUT = (FileStatus.COMPLETED.value, FileStatus.SKIPPED.value)

_EXPORT_FILE = (
    files.c.id,
    files.c.name,
    files.c.path,
    files.c.source_index,
    files.c.mime_type,
    files.c.sha256,
    files.c.status,
    files.c.document_key,
    files.c.duplicate_of,
)


async def document_key_of(conn: AsyncConnection, row: dict[str, Any]) -> str | None:
    """The blob key of a file's document: its own, or (a duplicate skipped against another
    file) its original's, which it shares."""
    if row.get("document_key"):
        return str(row["document_key"])
    if not row.get("duplicate_of"):
        return None
    key = await conn.scalar(
        sa.select(files.c.document_key).where(
            files.c.id == row["duplicate_of"], files.c.tenant == row["tenant"]
        )
    )
    return str(key) if key else None


async def job_pipeline(conn: AsyncConnection, job_id: str) -> str | None:
    return await conn.scalar(sa.select(jobs.c.pipeline).where(jobs.c.id == job_id))


async def export_files(
    conn: AsyncConnection, job_id: str, *, after_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """A page of the job's files that have output (completed, or skipped as a duplicate), in id
    order; ``chunks_of`` names the file whose chunks they are (the original for a duplicate)."""
    query = (
        sa.select(*_EXPORT_FILE)
        .where(files.c.job_id == job_id, files.c.status.in_(WITH_OUTPUT))
        .order_by(files.c.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(files.c.id > after_id)
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    for row in rows:
        row["chunks_of"] = row["duplicate_of"] if row["status"] != "completed" else row["id"]
    return rows


async def export_chunks(
    conn: AsyncConnection, file_id: str, *, after_index: int, limit: int
) -> list[dict[str, Any]]:
    """A page of a file's chunks in order, with their vectors (float32 bytes) when made."""
    query = (
        sa.select(
            chunks.c.idx,
            chunks.c.text,
            chunks.c.metadata,
            chunks.c.embedder,
            chunks.c.dim,
            chunks.c.vector,
        )
        .where(chunks.c.file_id == file_id, chunks.c.idx > after_index)
        .order_by(chunks.c.idx)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
