"""Stats and the queue: what has been done, what is waiting, who is working."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ingestd.api.deps import Caller, DbDep, SettingsDep
from ingestd.api.schemas import ERRORS
from ingestd.config_parts import QueueSettings
from ingestd.domain.times import rfc3339
from ingestd.queue import registry
from ingestd.store import files as file_store
from ingestd.store import insight
from ingestd.store import jobs as job_store
from ingestd.store import usage as usage_store

router = APIRouter(prefix="/api/v1", tags=["insight"], responses=ERRORS)


class WorkerCounts(BaseModel):
    active: int
    gone: int
    running: int  # files in flight on active workers


class Stats(BaseModel):
    jobs: dict[str, Any]
    files: dict[str, Any]
    bytes_processed: int
    success_rate: float | None
    processing_ms: dict[str, float | None]
    workers: WorkerCounts
    pages: dict[str, int] = Field(
        description="pages of completed files: total, from their text layer, read by OCR"
    )


class WorkerView(BaseModel):
    id: str
    host: str
    pid: int
    started_at: str
    last_seen: str
    running: int  # files in flight at its last heartbeat; 0 once a gone worker's are returned
    status: Literal["active", "gone"]  # gone: silent for longer than the registry allows


class Queue(BaseModel):
    queued: int
    running: int
    workers: list[WorkerView]
    files_per_s: float
    bytes_per_s: float


def _p95(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])


def _gone_before(queue: QueueSettings, now: float) -> float:
    return now - registry.gone_after(
        heartbeat_seconds=queue.heartbeat_seconds, lease_seconds=queue.lease_seconds
    )


def _worker_views(rows: list[dict[str, Any]], gone_before: float) -> list[dict[str, Any]]:
    return [
        {
            **w,
            "started_at": rfc3339(w["started_at"]),
            "last_seen": rfc3339(w["last_seen"]),
            "status": registry.status_of(w, gone_before=gone_before),
        }
        for w in rows
    ]


@router.get("/stats", response_model=Stats, summary="Totals by status, source type and priority")
async def stats(db: DbDep, settings: SettingsDep, caller: Caller) -> Any:
    now = time.time()
    async with db.read() as conn:
        registered = _worker_views(
            await insight.registered_workers(conn), _gone_before(settings.queue, now)
        )
        by_status = await job_store.totals_by(conn, "status", caller.scope)
        by_priority = await job_store.totals_by(conn, "priority", caller.scope)
        by_source = await insight.jobs_by_source_type(conn, caller.scope)
        files_by_status = await file_store.count_by_status(conn, caller.scope)
        done = await insight.processed(conn, caller.scope)
        durations = await insight.recent_durations(conn, caller.scope)
        pages = await usage_store.pages_by_source(conn, caller.scope)
    completed, failed = files_by_status.get("completed", 0), files_by_status.get("failed", 0)
    return {
        "jobs": {
            "total": sum(by_status.values()),
            "by_status": by_status,
            "by_priority": by_priority,
            "by_source_type": by_source,
        },
        "files": {
            "total": sum(files_by_status.values()),
            "by_status": files_by_status,
            "processed": done["files"],
        },
        "bytes_processed": done["bytes"],
        "success_rate": round(completed / (completed + failed), 4) if completed + failed else None,
        "processing_ms": {
            "mean": round(sum(durations) / len(durations), 1) if durations else None,
            "p95": _p95(durations),
        },
        "workers": {
            "active": sum(w["status"] == "active" for w in registered),
            "gone": sum(w["status"] == "gone" for w in registered),
            "running": sum(w["running"] for w in registered if w["status"] == "active"),
        },
        "pages": pages,
    }


@router.get(
    "/queue", response_model=Queue, summary="Queued and running files, workers, recent rate"
)
async def queue(db: DbDep, settings: SettingsDep, caller: Caller) -> Any:
    now = time.time()
    async with db.read() as conn:
        queued, running = await insight.queue_counts(conn, caller.scope)
        registered = await insight.registered_workers(conn)
        files_done, bytes_done = await insight.recent_rate(conn, caller.scope, now - 60)
    return {
        "queued": queued,
        "running": running,
        "workers": _worker_views(registered, _gone_before(settings.queue, now)),
        "files_per_s": round(files_done / 60, 2),
        "bytes_per_s": round(bytes_done / 60, 1),
    }
