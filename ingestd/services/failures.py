"""Error analysis (``GET /api/v1/errors``) and retrying every file that matches a filter
(``POST /api/v1/files/actions/retry``).

Failures are grouped by error code, detected type, source type and extractor; each group counts
its files per time bucket, names the jobs it hit and shows one example file with its message.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from ingestd.domain.auth import Principal
from ingestd.domain.errors import ValidationFailed
from ingestd.domain.events import EventType
from ingestd.domain.states import FileStatus, JobStatus
from ingestd.domain.times import rfc3339
from ingestd.pipeline.extractors import extractor_name
from ingestd.store import failures as failure_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.store.failures import FileFilter

DEFAULT_SINCE_SECONDS = 24 * 3600
MAX_BUCKETS = 2000  # per group: a week in 5-minute buckets
JOBS_PER_GROUP = 10
MAX_BUCKET_SECONDS = 31 * 86400  # a month
MAX_SINCE_SECONDS = 3660 * 86400  # about ten years back
RETRYABLE_STATUSES = (FileStatus.FAILED, FileStatus.CANCELLED)
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, name: str, *, maximum: int = MAX_SINCE_SECONDS) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` (or plain seconds) as seconds, from one to ``maximum``."""
    text = value.strip().lower()[:40]
    if text.isdigit():
        seconds = int(text)
    elif match := _DURATION.match(text):
        seconds = int(match[1]) * _UNIT[match[2]]
    else:
        raise ValidationFailed(f"{name}: {value!r} is not a duration such as 30s, 5m, 1h or 1d")
    if seconds < 1:
        raise ValidationFailed(f"{name}: must be at least one second")
    if seconds > maximum:
        raise ValidationFailed(f"{name}: {value!r} is longer than {maximum // 86400} days")
    return seconds


def parse_since(value: str | None, *, now: float) -> float:
    """An RFC 3339 time, or a duration back from now (``24h``); 24 hours ago without one."""
    if not value:
        return now - DEFAULT_SINCE_SECONDS
    if value[0].isdigit() and ("-" in value or "T" in value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(f"since: {value!r} is not an RFC 3339 time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return now - parse_duration(value, "since")


async def error_report(
    db: Database, principal: Principal, *, since: float, bucket_seconds: int
) -> dict[str, Any]:
    if (time.time() - since) / bucket_seconds > MAX_BUCKETS:
        raise ValidationFailed(
            f"bucket: {bucket_seconds} s buckets since then make more than {MAX_BUCKETS}; "
            "ask for larger buckets or a later since"
        )
    async with db.read() as conn:
        rows = await failure_store.failure_groups(
            conn, tenant=principal.scope, since=since, bucket_seconds=bucket_seconds
        )
        groups = _group(rows)
        messages = await failure_store.messages_of(conn, [g["example"] for g in groups.values()])
    items = sorted(groups.values(), key=lambda g: (-g["count"], g["code"] or ""))
    for item in items:
        item["example"] = {"file_id": item["example"], "message": messages.get(item["example"])}
        item["buckets"] = [
            {"start": rfc3339(start), "count": count}
            for start, count in sorted(item["buckets"].items())
        ]
        jobs = sorted(item["jobs"].items(), key=lambda j: (-j[1], j[0]))[:JOBS_PER_GROUP]
        item["jobs"] = [{"job_id": job_id, "count": count} for job_id, count in jobs]
    return {
        "since": rfc3339(since),
        "bucket_seconds": bucket_seconds,
        "total": sum(i["count"] for i in items),
        "items": items,
    }


def _group(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        extractor = extractor_name(row["mime_type"]) if row["mime_type"] else None
        key = (row["error_code"], row["mime_type"], row["source_type"], extractor)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "code": row["error_code"],
                "mime_type": row["mime_type"],
                "source_type": row["source_type"],
                "extractor": extractor,
                "count": 0,
                "buckets": defaultdict(int),
                "jobs": defaultdict(int),
                "example": row["example"],
            }
        group["count"] += row["count"]
        group["buckets"][float(row["bucket"])] += row["count"]
        group["jobs"][row["job_id"]] += row["count"]
        group["example"] = min(group["example"], row["example"])
    return groups


def file_filter(
    *,
    status: str | None = None,
    error_code: str | None = None,
    job_id: str | None = None,
    mime_type: str | None = None,
    source_type: str | None = None,
) -> FileFilter:
    """The filter of a bulk retry; ``status`` is ``failed`` (the default) or ``cancelled``."""
    statuses: tuple[FileStatus, ...] = (FileStatus.FAILED,)
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        allowed = {s.value for s in RETRYABLE_STATUSES}
        refused = [s for s in wanted if s not in allowed]
        if refused or not wanted:
            raise ValidationFailed(
                f"filter.status: {', '.join(refused) or 'nothing'} cannot be retried; "
                f"one of {', '.join(sorted(allowed))}"
            )
        statuses = tuple(FileStatus(s) for s in wanted)
    return FileFilter(
        statuses=statuses,
        error_code=error_code or None,
        job_id=job_id or None,
        mime_type=mime_type or None,
        source_type=source_type or None,
    )


async def retry_matching(
    db: Database, principal: Principal, wanted: FileFilter, *, dry_run: bool
) -> dict[str, int]:
    """Queue again every file of the caller's (every tenant's, for admins) that matches
    ``wanted``; a dry run only counts them. Jobs that had ended run again."""
    if dry_run:
        async with db.read() as conn:
            matched = await failure_store.count_matching(conn, wanted, principal.scope)
        return {"matched": matched, "retried": 0}
    principal.require_write()
    now = time.time()
    retried = 0
    async with db.write() as conn:
        job_ids = await failure_store.jobs_matching(conn, wanted, principal.scope)
        await job_store.lock_jobs(conn, job_ids)
        for job_id in job_ids:
            moved = await failure_store.requeue_matching(
                conn, wanted, principal.scope, job_id, now=now
            )
            if moved:
                retried += moved
                await job_store.recount(conn, job_id)
                await _reopen(conn, job_id, now)
    if retried:
        db.signals.work_queued()
    return {"matched": retried, "retried": retried}


async def _reopen(conn: Any, job_id: str, now: float) -> None:
    """A job that had ended runs again for its retried files (as a one-file retry does)."""
    job = await job_store.get_job(conn, job_id, None)
    if job is None or not JobStatus(job["status"]).is_terminal:
        return
    new = JobStatus.RUNNING if job["started_at"] else JobStatus.QUEUED
    await job_store.update_job(
        conn, job_id, status=new.value, completed_at=None, error=None, updated_at=now
    )
    await append_event(
        conn,
        tenant=job["tenant"],
        type=EventType.JOB_UPDATED,
        job_id=job_id,
        data={"status": new.value, "action": "retry"},
        at=now,
    )
