"""How a claimed file ends, other than completed (``completion.py``): skipped, retried later,
failed, cancelled, or released.

Each outcome is one transaction that first checks the lease is still ours (``lease_token``), so a
worker that lost its lease (it stalled, its file was rescued and re-run elsewhere) writes nothing:
a file's chunks are stored exactly once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.errors import FileError
from ingestd.domain.events import EventType
from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile
from ingestd.store import content as content_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost, translated
from ingestd.store.events import append_event
from ingestd.store.finish import finish_job_if_done
from ingestd.store.tables import files, job_sources

_RELEASE = dict(lease_owner=None, lease_token=None, lease_expires_at=None)


async def _take(
    conn: AsyncConnection, claimed: ClaimedFile, now: float, *, holds: bool = True, **values: Any
) -> None:
    """Write ``values`` to the file while its lease is ours (else ``LeaseLost``), ending the
    lease; a file that may hold its content's claim (``holds``) gives it up too."""
    await job_store.lock_jobs(conn, [claimed.job_id])
    result = await conn.execute(
        files.update()
        .where(
            files.c.id == claimed.id,
            files.c.lease_token == claimed.lease_token,
            files.c.status == FileStatus.RUNNING.value,
        )
        .values(**values, **_RELEASE)
    )
    if result.rowcount != 1:
        raise LeaseLost(claimed.id)
    if holds:
        await content_store.release_content(conn, [claimed.id], now=now)


@translated
async def skip_file(
    db: Database,
    claimed: ClaimedFile,
    *,
    sha256: str,
    mime_type: str | None,
    size: int,
    duplicate_of: str,
    now: float,
) -> None:
    async with db.write() as conn:
        await _take(
            conn,
            claimed,
            now,
            holds=False,  # it lost the content to the file it duplicates
            duplicate_of=duplicate_of,
            status=FileStatus.SKIPPED.value,
            step=None,
            progress=1.0,
            sha256=sha256,
            mime_type=mime_type,
            size=size,
            completed_at=now,
            error_code=None,
            error_message=None,
        )
        await _account(conn, claimed, FileStatus.SKIPPED, size, claimed.size)
        await append_event(
            conn,
            tenant=claimed.tenant,
            type=EventType.FILE_SKIPPED,
            job_id=claimed.job_id,
            file_id=claimed.id,
            data={"name": claimed.name, "duplicate_of": duplicate_of},
            at=now,
        )
        await finish_job_if_done(conn, claimed.job_id, now)


@translated
async def fail_file(
    db: Database,
    claimed: ClaimedFile,
    error: FileError,
    *,
    now: float,
    retry_at: float | None,
    mime_type: str | None = None,
) -> FileStatus:
    """Queue another attempt at ``retry_at`` (the retry policy's answer), or with None fail."""
    retry = retry_at is not None
    status = FileStatus.QUEUED if retry else FileStatus.FAILED
    async with db.write() as conn:
        await _take(
            conn,
            claimed,
            now,
            status=status.value,
            step=None,
            error_code=error.code,
            error_message=error.message,
            run_after=retry_at if retry_at is not None else now,
            completed_at=None if retry else now,
            mime_type=mime_type if mime_type else files.c.mime_type,
        )
        await _account(conn, claimed, status, claimed.size, claimed.size)
        await append_event(
            conn,
            tenant=claimed.tenant,
            type=EventType.FILE_RETRYING if retry else EventType.FILE_FAILED,
            job_id=claimed.job_id,
            file_id=claimed.id,
            data={
                "name": claimed.name,
                "error": {"code": error.code, "message": error.message},
                "attempts": claimed.attempts,
                **({"retry_at": retry_at} if retry else {}),
            },
            at=now,
        )
        if not retry:
            await finish_job_if_done(conn, claimed.job_id, now)
    return status


@translated
async def cancel_file(db: Database, claimed: ClaimedFile, *, now: float) -> None:
    """Stop a file whose job was cancelled while it ran."""
    async with db.write() as conn:
        await _end(conn, claimed, FileStatus.CANCELLED, now, size=claimed.size)


@translated
async def release_file(db: Database, claimed: ClaimedFile, *, now: float) -> None:
    """Hand a file back untouched (graceful shutdown): the attempt does not count."""
    async with db.write() as conn:
        await _take(
            conn,
            claimed,
            now,
            status=FileStatus.QUEUED.value,
            step=None,
            attempts=files.c.attempts - 1,
        )
        await job_store.move_counter(
            conn, claimed.job_id, claimed.source_index, FileStatus.RUNNING, FileStatus.QUEUED
        )


@translated
async def wait_for_original(
    db: Database, claimed: ClaimedFile, original: str, *, now: float, recheck_at: float
) -> None:
    """Hand ``claimed`` back to the queue to wait for ``original``, which holds its content
    and is still being processed (``content.py``): claimable again as soon as the original ends,
    or at ``recheck_at`` at the latest. The attempt does not count."""
    async with db.write() as conn:
        await _take(
            conn,
            claimed,
            now,
            holds=False,  # the original holds the content
            status=FileStatus.QUEUED.value,
            step=None,
            attempts=files.c.attempts - 1,
            run_after=recheck_at,
            duplicate_of=original,
        )
        await job_store.move_counter(
            conn, claimed.job_id, claimed.source_index, FileStatus.RUNNING, FileStatus.QUEUED
        )


async def _end(
    conn: AsyncConnection, claimed: ClaimedFile, status: FileStatus, now: float, *, size: int
) -> None:
    try:
        await _take(conn, claimed, now, status=status.value, step=None, completed_at=now)
    except LeaseLost:
        return
    await _account(conn, claimed, status, size, claimed.size)


async def _account(
    conn: AsyncConnection, claimed: ClaimedFile, new: FileStatus, size: int, listed_size: int
) -> None:
    # The listed size may be stale (the file changed since listing): keep bytes_total honest.
    if size != listed_size:
        await job_store.update_source(
            conn,
            claimed.job_id,
            claimed.source_index,
            bytes_total=job_sources.c.bytes_total + (size - listed_size),
        )
    await job_store.move_counter(
        conn, claimed.job_id, claimed.source_index, FileStatus.RUNNING, new, size=size
    )
