"""Decide when a job has ended, and say so once: in the transaction of the change that ended it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import EventType
from ingestd.domain.states import JobStatus, final_job_status
from ingestd.store import jobs as job_store
from ingestd.store.events import append_event
from ingestd.store.tables import job_sources

_OPEN_SOURCE_STATES = ("pending", "listing", "open")


async def finish_job_if_done(conn: AsyncConnection, job_id: str, now: float) -> JobStatus | None:
    """If every file of a sealed, fully listed job has ended, set its final status.

    Called in the same transaction as the change that may have ended it. Returns the new status.
    """
    job = await job_store.get_job(conn, job_id, None, lock=True)
    if job is None or job["status"] not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return None
    sources = (
        (await conn.execute(sa.select(job_sources).where(job_sources.c.job_id == job_id)))
        .mappings()
        .all()
    )
    if any(s["state"] in _OPEN_SOURCE_STATES for s in sources):
        return None
    if any(s["n_queued"] or s["n_running"] for s in sources):
        return None
    failed = sum(s["n_failed"] for s in sources) + sum(s["state"] == "failed" for s in sources)
    cancelled = sum(s["n_cancelled"] for s in sources)
    status = final_job_status(failed=failed, cancelled=cancelled)
    error = _job_error(sources, failed) if status is JobStatus.FAILED else None
    await job_store.update_job(
        conn, job_id, status=status.value, completed_at=now, updated_at=now, error=error
    )
    data: dict[str, Any] = {"status": status.value, "error": error}
    # Files waiting for a template mapping do not hold their job open (docs/templates.md): the
    # job ends and says how many wait; an approved mapping re-runs them and reopens it.
    waiting = sum(s.get("n_needs_mapping", 0) for s in sources)
    if waiting:
        data["needs_mapping"] = waiting
    await append_event(
        conn,
        tenant=job["tenant"],
        type=EventType.job_ended(status.value),
        job_id=job_id,
        data=data,
        at=now,
    )
    return status


def _job_error(sources: Any, failed: int) -> dict[str, Any]:
    broken = [
        {"source_index": s["idx"], **(s["error"] or {})} for s in sources if s["state"] == "failed"
    ]
    files_failed = sum(s["n_failed"] for s in sources)
    message = f"{files_failed} file(s) failed"
    if broken:
        message += f"; {len(broken)} source(s) failed"
    return {"code": "files_failed", "message": message, "sources": broken}
