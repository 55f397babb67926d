"""Rows into the API's Job and File shapes: what a reader sees of a job (its progress included)
and of a file. The routes, the CLI and the live events all read them from here."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ingestd.domain.progress import DONE, counts_progress, job_progress, sum_counters
from ingestd.domain.states import JobStatus
from ingestd.domain.times import rfc3339
from ingestd.store import jobs as job_store
from ingestd.store.db import Connection

WINDOW = 60.0  # seconds of recent completions that throughput is measured over

# How a stored source spec is shown: callers above the store pass the source registry's
# ``describe_source`` (each adapter decides what of its spec a reader sees); the store cannot
# import the sources, so its own fallback only drops what is never shown.
DescribeSource = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]


def plain_spec(source_type: str, spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A spec without its ``type`` and the server-side ``resolved_path``."""
    return {k: v for k, v in spec.items() if k not in ("type", "resolved_path")}


async def _window(
    conn: Connection, job: dict[str, Any], counters: dict[str, int], cancelled: int, now: float
) -> tuple[int, int, float]:
    """Bytes and files done recently (the last minute of a running job, the whole run of a
    stopped one), and over how many seconds."""
    started = job["started_at"]
    if started is None:
        return 0, 0, 0.0
    if stopped(job):
        end = job["completed_at"] or job["updated_at"]
        done = sum(counters[f"n_{s}"] for s in DONE)
        return max(counters["bytes_done"] - cancelled, 0), done, max(end - started, 1e-3)
    since = max(now - WINDOW, started)
    size, count = await job_store.ended_since(conn, job["id"], since)
    return size, count, max(now - since, 1e-3)


def stopped(job: dict[str, Any]) -> bool:
    return JobStatus(job["status"]).is_terminal or job["status"] == JobStatus.PAUSED


def _elapsed(job: dict[str, Any], now: float) -> float | None:
    if job["started_at"] is None:
        return None
    end = (job["completed_at"] or job["updated_at"]) if stopped(job) else now
    return float(end - job["started_at"])


async def job_view(
    conn: Connection,
    job: dict[str, Any],
    sources: list[dict[str, Any]],
    describe: DescribeSource = plain_spec,
) -> dict[str, Any]:
    counters = sum_counters(sources)
    # Cancelled files' bytes are read apart only for a job that has some.
    cancelled = await job_store.cancelled_bytes(conn, job["id"]) if counters["n_cancelled"] else {}
    now = time.time()
    window_bytes, window_files, window_seconds = await _window(
        conn, job, counters, sum(cancelled.values()), now
    )
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
            elapsed_seconds=_elapsed(job, now),
            cancelled_bytes=sum(cancelled.values()),
        ),
        "sources": [_source_view(s, cancelled.get(s["idx"], 0), describe) for s in sources],
        "error": job["error"],
    }


def _source_view(
    source: dict[str, Any], cancelled_bytes: int, describe: DescribeSource
) -> dict[str, Any]:
    return {
        "index": source["idx"],
        "type": source["type"],
        **describe(source["type"], source["spec"]),
        "state": source["state"],
        "error": source["error"],
        "progress": counts_progress(source, cancelled_bytes=cancelled_bytes),
    }


async def job_views(
    conn: Connection, rows: list[dict[str, Any]], describe: DescribeSource = plain_spec
) -> list[dict[str, Any]]:
    sources = await job_store.sources_of(conn, [r["id"] for r in rows])
    return [await job_view(conn, row, sources.get(row["id"], []), describe) for row in rows]


def _pages(total: int | None, ocr: int | None) -> dict[str, int] | None:
    """A completed file's pages by where their text came from; None for a file without pages."""
    if not total:
        return None
    return {"total": total, "text_layer": total - (ocr or 0), "ocr": ocr or 0}


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
        "duplicate_of": row["duplicate_of"],
        "progress": row["progress"],
        "attempts": row["attempts"],
        "error": error,
        "elements": row["elements"],
        "chunks": row["chunks"],
        "duration_ms": row["duration_ms"],
        "pages": _pages(row.get("pages"), row.get("ocr_pages")),
        "metadata": row["metadata"],
        "created_at": rfc3339(row["created_at"]),
        "started_at": rfc3339(row["started_at"]),
        "completed_at": rfc3339(row["completed_at"]),
    }
