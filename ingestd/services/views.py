"""Rows into the API's Job and File shapes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.progress import counts_progress, job_progress, sum_counters
from ingestd.domain.states import JobStatus
from ingestd.sources.registry import describe_source
from ingestd.store import jobs as job_store
from ingestd.store.tables import files

WINDOW = 60.0  # seconds of recent completions that throughput is measured over


def rfc3339(value: float | None) -> str | None:
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


async def _window(
    conn: AsyncConnection, job: dict[str, Any], counters: dict[str, int], now: float
) -> tuple[int, int, float]:
    """Bytes and files ended recently, and over how many seconds."""
    started = job["started_at"]
    if started is None:
        return 0, 0, 0.0
    if JobStatus(job["status"]).is_terminal or job["status"] == JobStatus.PAUSED:
        end = job["completed_at"] or job["updated_at"]
        ended = sum(counters[f"n_{s}"] for s in ("completed", "failed", "skipped"))
        return counters["bytes_done"], ended, max(end - started, 1e-3)
    since = max(now - WINDOW, started)
    size, count = (
        await conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(files.c.size), 0), sa.func.count()).where(
                files.c.job_id == job["id"], files.c.completed_at >= since
            )
        )
    ).one()
    return int(size), int(count), max(now - since, 1e-3)


async def job_view(
    conn: AsyncConnection, job: dict[str, Any], sources: list[dict[str, Any]]
) -> dict[str, Any]:
    counters = sum_counters(sources)
    window_bytes, window_files, window_seconds = await _window(conn, job, counters, time.time())
    return {
        "id": job["id"],
        "tenant": job["tenant"],
        "name": job["name"],
        "description": job["description"],
        "status": job["status"],
        "priority": job["priority"],
        "pipeline": job["pipeline"],
        "options": job["options"],
        "labels": job["labels"],
        "sealed": job["sealed"],
        "webhook_url": job["webhook_url"],
        "created_at": rfc3339(job["created_at"]),
        "updated_at": rfc3339(job["updated_at"]),
        "started_at": rfc3339(job["started_at"]),
        "completed_at": rfc3339(job["completed_at"]),
        "run_at": rfc3339(job["run_at"]),
        "progress": job_progress(
            counters,
            window_bytes=window_bytes,
            window_files=window_files,
            window_seconds=window_seconds,
        ),
        "sources": [_source_view(s) for s in sources],
        "error": job["error"],
    }


def _source_view(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": source["idx"],
        "type": source["type"],
        **describe_source(source["type"], source["spec"]),
        "state": source["state"],
        "error": source["error"],
        "progress": counts_progress(source),
    }


async def job_views(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sources = await job_store.sources_of(conn, [r["id"] for r in rows])
    return [await job_view(conn, row, sources.get(row["id"], [])) for row in rows]


def file_view(row: dict[str, Any]) -> dict[str, Any]:
    error = (
        {"code": row["error_code"], "message": row["error_message"]} if row["error_code"] else None
    )
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "source_index": row["source_index"],
        "name": row["name"],
        "path": row["path"],
        "size": row["size"],
        "mime_type": row["mime_type"],
        "sha256": row["sha256"],
        "status": row["status"],
        "step": row["step"],
        "progress": row["progress"],
        "attempts": row["attempts"],
        "error": error,
        "elements": row["elements"],
        "chunks": row["chunks"],
        "duration_ms": row["duration_ms"],
        "duplicate_of": row["duplicate_of"],
        "metadata": row["metadata"],
        "created_at": rfc3339(row["created_at"]),
        "started_at": rfc3339(row["started_at"]),
        "completed_at": rfc3339(row["completed_at"]),
    }
