"""Return work whose owner went silent: expired file leases, files of workers that stopped
heartbeating (or stopped without releasing them), and stalled source listings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ingestd.domain.events import EventType
from ingestd.domain.options import JobOptions
from ingestd.domain.retry import out_of_attempts
from ingestd.domain.states import FileStatus
from ingestd.store import content as content_store
from ingestd.store import jobs as job_store
from ingestd.store import workers as worker_store
from ingestd.store.db import Database
from ingestd.store.errors import translated
from ingestd.store.events import append_event
from ingestd.store.finish import finish_job_if_done
from ingestd.store.tables import files, job_sources, jobs


@translated
async def rescue_expired_leases(
    db: Database,
    *,
    now: float,
    gone_before: float | None = None,
    forget_before: float | None = None,
    limit: int = 500,
) -> int:
    """Re-queue files whose lease expired (their worker died or stalled) or whose worker is gone
    (silent since ``gone_before``, or stopped); fail those out of attempts, so a file that kills
    its worker every time cannot loop forever. Also forgets workers last seen before
    ``forget_before``, and hands stalled source listings back."""
    lost = files.c.lease_expires_at < now
    if gone_before is not None:
        lost = sa.or_(lost, files.c.lease_owner.in_(worker_store.silent_workers(gone_before)))
    async with db.write() as conn:
        rows = (
            (
                await conn.execute(
                    sa.select(
                        files.c.id,
                        files.c.job_id,
                        files.c.tenant,
                        files.c.source_index,
                        files.c.size,
                        files.c.attempts,
                        files.c.name,
                        jobs.c.options,
                        jobs.c.status.label("job_status"),
                    )
                    .join(jobs, jobs.c.id == files.c.job_id)
                    .where(files.c.status == FileStatus.RUNNING.value, lost)
                    .order_by(files.c.id)
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
        # All the jobs at once and in id order, like every other writer: no deadlocks.
        await job_store.lock_jobs(conn, [row["job_id"] for row in rows])
        rescued = 0
        for row in rows:
            rescued += await _rescue_one(conn, dict(row), now, lost)
        if gone_before is not None:
            await worker_store.mark_emptied(conn, gone_before=gone_before)
        if forget_before is not None:
            await worker_store.forget_workers(conn, before=forget_before)
        await conn.execute(
            job_sources.update()
            .where(job_sources.c.state == "listing", job_sources.c.lease_expires_at < now)
            .values(state="pending", lease_owner=None, lease_expires_at=None)
        )
    return rescued


async def _rescue_one(conn: Any, row: dict[str, Any], now: float, lost: Any) -> int:
    spent = out_of_attempts(row["attempts"], JobOptions.from_stored(row["options"]).max_retries)
    status = FileStatus.FAILED if spent else FileStatus.QUEUED
    if row["job_status"] == "cancelled":  # nobody will run it again
        status, spent = FileStatus.CANCELLED, False
    message = f"the worker processing this file stopped responding ({row['attempts']} attempt(s))"
    result = await conn.execute(
        files.update()
        .where(
            files.c.id == row["id"],
            files.c.status == FileStatus.RUNNING.value,
            lost,  # not re-claimed since we looked
        )
        .values(
            status=status.value,
            step=None,
            lease_owner=None,
            lease_token=None,
            lease_expires_at=None,
            run_after=now,
            error_code="worker_lost",
            error_message=message,
            completed_at=None if status is FileStatus.QUEUED else now,
        )
    )
    if result.rowcount != 1:
        return 0
    await content_store.release_content(conn, [row["id"]], now=now)
    await job_store.move_counter(
        conn, row["job_id"], row["source_index"], FileStatus.RUNNING, status, size=row["size"]
    )
    if spent:
        await append_event(
            conn,
            tenant=row["tenant"],
            type=EventType.FILE_FAILED,
            job_id=row["job_id"],
            file_id=row["id"],
            data={"name": row["name"], "error": {"code": "worker_lost", "message": message}},
            at=now,
        )
        await finish_job_if_done(conn, row["job_id"], now)
    return 1
