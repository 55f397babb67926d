"""Creating jobs and controlling them: state changes are rows, never signals."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ingestd.config import Settings
from ingestd.domain.auth import Principal
from ingestd.domain.errors import (
    BadRequest,
    Conflict,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from ingestd.domain.events import EventType
from ingestd.domain.ids import new_id
from ingestd.domain.states import FileStatus, JobAction, JobStatus, Priority, next_status
from ingestd.pipeline.embedders.minilm import is_installed as minilm_installed
from ingestd.pipeline.tokens import TOKENS_EXTRA
from ingestd.pipeline.tokens import is_installed as tokens_installed
from ingestd.preflight import EMBEDDINGS
from ingestd.sources.port import SourceContext
from ingestd.sources.registry import Sources
from ingestd.store import files as file_store
from ingestd.store import idempotency as idempotency_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Connection, Database
from ingestd.store.events import append_event
from ingestd.store.finish import finish_job_if_done
from ingestd.webhooks.safety import refuse_unsafe_url

NO_CAP = 1_000_000  # max_workers stored for "no per-job cap"
RETRY_FAILED = (FileStatus.FAILED,)  # what a retry re-queues by default
RETRY_ALL = (FileStatus.FAILED, FileStatus.CANCELLED)  # with {"failed_only": false}


def resolve_sources(settings: Settings, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check every source before the job exists, each by its adapter (paths must resolve under
    the source roots, URLs must be http(s), an S3 endpoint must be one the server allows…);
    returns the specs to store. A refusal is a 422 naming the source (``sources[1].path: …``)."""
    try:
        return Sources(SourceContext(settings)).check(sources)
    except BadRequest as exc:  # the sources' own checks: a value refused, so a 422
        raise ValidationFailed(exc.detail, errors=exc.errors or _errors(exc.detail)) from None


def _errors(detail: str) -> list[dict[str, Any]]:
    """``sources[1].path: outside the roots`` → its ``errors`` entry (``loc`` and ``msg``)."""
    where, _, reason = detail.partition(": ")
    loc: list[Any] = ["body"]
    for part in where.replace("]", "").replace("[", ".").split("."):
        loc.append(int(part) if part.isdigit() else part)
    return [{"loc": loc, "msg": reason or detail, "type": "source"}]


async def create_job(
    db: Database,
    settings: Settings,
    principal: Principal,
    body: dict[str, Any],
    *,
    idempotency: idempotency_store.IdempotencyKey | None = None,
) -> str:
    """Create the job; with ``idempotency``, raise ``Replayed`` naming the job that key made."""
    principal.require_write()
    if body.get("webhook_url"):  # refused now, not at every delivery attempt
        refuse_unsafe_url(body["webhook_url"], settings.webhooks, field="webhook_url")
    _refuse_missing_embedder(body.get("options") or {})
    _refuse_missing_tokenizer(body.get("options") or {})
    sources = resolve_sources(settings, body["sources"])
    now = time.time()
    has_upload = any(s["type"] == "upload" for s in sources)
    status = JobStatus.QUEUED if body.get("start", True) else JobStatus.PENDING
    options = body["options"]
    job = {
        "id": new_id("job"),
        "tenant": principal.tenant,
        "name": body.get("name") or _default_name(sources),
        "description": body.get("description"),
        "status": status.value,
        "priority": body.get("priority", Priority.NORMAL),
        "pipeline": body.get("pipeline", "full"),
        "options": options,
        "labels": body.get("labels") or {},
        "sealed": not has_upload,
        "max_workers": options.get("max_workers") or NO_CAP,
        "webhook_url": body.get("webhook_url"),
        "run_at": body.get("run_at"),
        "created_at": now,
        "updated_at": now,
    }
    rows = [
        {
            "idx": i,
            "type": s["type"],
            "spec": s,
            "state": "open" if s["type"] == "upload" else "pending",
        }
        for i, s in enumerate(sources)
    ]
    async with db.write() as conn:
        if idempotency is not None:
            await idempotency_store.claim(conn, principal.tenant, idempotency, job["id"], now)
        await job_store.insert_job(conn, job, rows)
        await append_event(
            conn,
            tenant=principal.tenant,
            type=EventType.JOB_CREATED,
            job_id=job["id"],
            data={"status": status.value, "name": job["name"]},
            at=now,
        )
    if status is JobStatus.QUEUED:
        db.signals.work_queued()
    return str(job["id"])


def _refuse_missing_embedder(options: dict[str, Any]) -> None:
    """A job that asks for an embedder whose extra this server lacks is refused at once (422),
    not failed file by file later."""
    if options.get("embedder") == "minilm" and not minilm_installed():
        message = f"{EMBEDDINGS.missing()} on the server"
        raise ValidationFailed(
            f"options.embedder: {message}",
            errors=[{"loc": ["body", "options", "embedder"], "msg": message, "type": "extra"}],
        )


def _refuse_missing_tokenizer(options: dict[str, Any]) -> None:
    """``chunk_unit: "tokens"`` needs the tokens extra on the server: a 422 naming it."""
    if options.get("chunk_unit") == "tokens" and not tokens_installed():
        message = f"counting tokens needs `{TOKENS_EXTRA}` on the server"
        raise ValidationFailed(
            f"options.chunk_unit: {message}",
            errors=[{"loc": ["body", "options", "chunk_unit"], "msg": message, "type": "extra"}],
        )


def _default_name(sources: list[dict[str, Any]]) -> str:
    first = sources[0]
    if first.get("path"):
        return Path(str(first["path"]).replace("\\", "/")).name or str(first["path"])
    return f"{first['type']} job"


async def get_job_row(
    conn: Connection, principal: Principal, job_id: str, *, lock: bool = False
) -> dict[str, Any]:
    job = await job_store.get_job(conn, job_id, principal.scope, lock=lock)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


async def act(
    db: Database, principal: Principal, job_id: str, action: JobAction, *, failed_only: bool = True
) -> JobStatus:
    """Apply a job action; raises ``InvalidTransition`` (409) naming the current status."""
    principal.require_write()
    now = time.time()
    async with db.write() as conn:
        job = await get_job_row(conn, principal, job_id, lock=True)
        current = JobStatus(job["status"])
        new = next_status(
            current, action, started=job["started_at"] is not None, sealed=job["sealed"]
        )
        values: dict[str, Any] = {"status": new.value, "updated_at": now}
        if action is JobAction.CANCEL:
            await job_store.cancel_queued_files(conn, job_id, now=now)
            values["completed_at"] = now
        elif action is JobAction.RETRY:
            statuses = RETRY_FAILED if failed_only else RETRY_ALL
            if not await job_store.requeue_files(conn, job_id, statuses, now=now) and (
                current.is_terminal
            ):
                raise Conflict(f"the job is {current.value} and has no files to retry")
            values.update(completed_at=None, error=None)
            await job_store.reopen_failed_sources(conn, job_id)
        elif action is JobAction.SEAL:
            values["sealed"] = True
            await job_store.seal_upload_sources(conn, job_id)
        await job_store.update_job(conn, job_id, **values)
        if new is not current or action is JobAction.RETRY:
            event = EventType.JOB_CANCELLED if new is JobStatus.CANCELLED else EventType.JOB_UPDATED
            await append_event(
                conn,
                tenant=job["tenant"],
                type=event,
                job_id=job_id,
                data={"status": new.value, "action": action.value},
                at=now,
            )
        await finish_job_if_done(conn, job_id, now)
        final = await job_store.get_job(conn, job_id, None)
    assert final is not None
    if action is JobAction.CANCEL:
        db.signals.job_cancelled(job_id)
    db.signals.work_queued()  # started, resumed, retried — or a cap freed: a claim may succeed
    return JobStatus(final["status"])


async def get_file_row(db: Database, principal: Principal, file_id: str) -> dict[str, Any]:
    """The caller's file (any tenant's for admins), or ``NotFound``."""
    async with db.read() as conn:
        row = await file_store.get_file(conn, file_id, principal.scope)
    if row is None:
        raise NotFound(f"no file {file_id}")
    return row


async def retry_file(db: Database, principal: Principal, file_id: str) -> dict[str, Any]:
    principal.require_write()
    now = time.time()
    async with db.write() as conn:
        row = await file_store.get_file(conn, file_id, principal.scope)
        if row is None:
            raise NotFound(f"no file {file_id}")
        await job_store.lock_jobs(conn, [row["job_id"]])
        if row["status"] not in (FileStatus.FAILED.value, FileStatus.CANCELLED.value):
            raise InvalidTransition("file", row["status"], "retry")
        await file_store.update_file(
            conn,
            file_id,
            status=FileStatus.QUEUED.value,
            run_after=now,
            completed_at=None,
            step=None,
        )
        await job_store.move_counter(
            conn,
            row["job_id"],
            row["source_index"],
            FileStatus(row["status"]),
            FileStatus.QUEUED,
            size=row["size"],
        )
        job = await job_store.get_job(conn, row["job_id"], None, lock=True)
        assert job is not None
        if JobStatus(job["status"]).is_terminal:
            new = JobStatus.RUNNING if job["started_at"] else JobStatus.QUEUED
            await job_store.update_job(
                conn, job["id"], status=new.value, completed_at=None, error=None, updated_at=now
            )
            await append_event(
                conn,
                tenant=job["tenant"],
                type=EventType.JOB_UPDATED,
                job_id=job["id"],
                data={"status": new.value, "action": "retry"},
                at=now,
            )
        fresh = await file_store.get_file(conn, file_id, None)
    assert fresh is not None
    db.signals.work_queued()
    return fresh


async def delete_job(db: Database, principal: Principal, job_id: str) -> None:
    """Cancel if needed, then remove the job, its files and chunks."""
    principal.require_write()
    async with db.write() as conn:
        job = await get_job_row(conn, principal, job_id, lock=True)
        await job_store.delete_job(conn, job_id)
        # The job's webhook_url goes with the event: the row that held it is deleted with it.
        data = {"webhook_url": job["webhook_url"]} if job["webhook_url"] else {}
        await append_event(
            conn, tenant=job["tenant"], type=EventType.JOB_DELETED, job_id=job_id, data=data
        )
    db.signals.job_cancelled(job_id)
