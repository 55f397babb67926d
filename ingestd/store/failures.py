"""Failed files, read for error analysis and picked out by a filter for a bulk retry.

Reads go through the ``(status, …)`` index on ``files``: failed files are a small part of all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.states import FileStatus
from ingestd.store.tables import files, job_sources


@dataclass(frozen=True, slots=True)
class FileFilter:
    """Which files a bulk action takes; None matches anything. ``statuses`` is never empty."""

    statuses: tuple[FileStatus, ...] = (FileStatus.FAILED,)
    error_code: str | None = None
    job_id: str | None = None
    mime_type: str | None = None
    source_type: str | None = None


_source_type = (
    sa.select(job_sources.c.type)
    .where(job_sources.c.job_id == files.c.job_id, job_sources.c.idx == files.c.source_index)
    .scalar_subquery()
)


def _where(query: Any, wanted: FileFilter, tenant: str | None) -> Any:
    query = query.where(files.c.status.in_([s.value for s in wanted.statuses]))
    if tenant is not None:
        query = query.where(files.c.tenant == tenant)
    if wanted.error_code is not None:
        query = query.where(files.c.error_code == wanted.error_code)
    if wanted.job_id is not None:
        query = query.where(files.c.job_id == wanted.job_id)
    if wanted.mime_type is not None:
        query = query.where(files.c.mime_type == wanted.mime_type)
    if wanted.source_type is not None:
        query = query.where(_source_type == wanted.source_type)
    return query


async def count_matching(conn: AsyncConnection, wanted: FileFilter, tenant: str | None) -> int:
    query = _where(sa.select(sa.func.count()).select_from(files), wanted, tenant)
    return int((await conn.execute(query)).scalar_one())


async def jobs_matching(conn: AsyncConnection, wanted: FileFilter, tenant: str | None) -> list[str]:
    """The jobs that have matching files, in id order (the order their locks are taken in)."""
    query = _where(sa.select(files.c.job_id).distinct(), wanted, tenant).order_by(files.c.job_id)
    return [str(j) for j in (await conn.execute(query)).scalars()]


async def requeue_matching(
    conn: AsyncConnection, wanted: FileFilter, tenant: str | None, job_id: str, *, now: float
) -> int:
    """Queue the job's matching files again, due now; returns how many. The caller recounts."""
    update = _where(files.update(), wanted, tenant).where(files.c.job_id == job_id)
    result = await conn.execute(
        update.values(status=FileStatus.QUEUED.value, run_after=now, completed_at=None, step=None)
    )
    return int(result.rowcount or 0)


def _bucket(conn: AsyncConnection, seconds: int) -> Any:
    """The start of the ``seconds``-long bucket a failure fell in (seconds since the epoch)."""
    ratio = files.c.completed_at / seconds
    whole = (
        sa.func.floor(ratio) if conn.dialect.name == "postgresql" else sa.cast(ratio, sa.Integer)
    )
    return (whole * seconds).label("bucket")


async def failure_groups(
    conn: AsyncConnection, *, tenant: str | None, since: float, bucket_seconds: int
) -> list[dict[str, Any]]:
    """Failed files since ``since`` counted by error code, type, source type, job and time
    bucket, with one example file id per group."""
    bucket = _bucket(conn, bucket_seconds)
    joined = files.join(
        job_sources,
        sa.and_(job_sources.c.job_id == files.c.job_id, job_sources.c.idx == files.c.source_index),
    )
    query = _where(
        sa.select(
            files.c.error_code,
            files.c.mime_type,
            job_sources.c.type.label("source_type"),
            files.c.job_id,
            bucket,
            sa.func.count().label("count"),
            sa.func.min(files.c.id).label("example"),
        ).select_from(joined),
        FileFilter(),
        tenant,
    ).where(files.c.completed_at >= since)
    query = query.group_by(
        files.c.error_code, files.c.mime_type, job_sources.c.type, files.c.job_id, bucket
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def messages_of(conn: AsyncConnection, file_ids: Sequence[str]) -> dict[str, str | None]:
    if not file_ids:
        return {}
    query = sa.select(files.c.id, files.c.error_message).where(files.c.id.in_(list(file_ids)))
    return {str(i): m for i, m in (await conn.execute(query)).all()}
