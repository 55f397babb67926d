"""Jobs: create, list, read, control, delete, upload files to, list files of."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response

from ingestd.api.deps import BlobsDep, Caller, DbDep, SettingsDep, Writer
from ingestd.api.schemas import (
    ERRORS,
    BulkAction,
    BulkResult,
    File,
    Job,
    JobCreate,
    Page,
    RetryBody,
)
from ingestd.blobs.base import run_blob_io
from ingestd.domain.errors import IngestdError, ValidationFailed
from ingestd.domain.states import JobAction
from ingestd.services import jobs as job_service
from ingestd.services.uploads import (
    StoredFile,
    check_upload_job,
    refuse_disallowed_types,
    register_blobs,
    upload_limit,
)
from ingestd.sources.registry import describe_source
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.idempotency import IdempotencyKey, Replayed
from ingestd.store.views import file_view, job_view, job_views
from ingestd.uploads.multipart import parse_form

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
After = Annotated[str | None, Query(description="cursor from the previous page's `next`")]


async def _one(db: DbDep, caller: Any, job_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        job = await job_service.get_job_row(conn, caller, job_id)
        sources = await job_store.sources_of(conn, [job_id])
        return await job_view(conn, job, sources.get(job_id, []), describe_source)


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="retry-safe creation: the same key (per tenant, 24 h) answers `200` with the "
        "job its first request created; with a different body it is `409`",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=Job,
    summary="Create a job",
    responses={200: {"model": Job, "description": "The job this Idempotency-Key created"}},
)
async def create_job(
    body: JobCreate,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    caller: Writer,
    idempotency_key: IdempotencyHeader = None,
) -> Any:
    data = body.model_dump(mode="json")
    key = None if idempotency_key is None else IdempotencyKey.of(idempotency_key, data)
    data["run_at"] = body.run_at.timestamp() if body.run_at else None
    try:
        job_id = await job_service.create_job(db, settings, caller, data, idempotency=key)
    except Replayed as replay:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
        return await _one(db, caller, replay.job_id)
    return await _one(db, caller, job_id)


@router.get("", response_model=Page[Job], summary="List jobs, newest first")
async def list_jobs(
    db: DbDep,
    caller: Caller,
    status: Annotated[str | None, Query(description="comma-separated, e.g. running,paused")] = None,
    label: Annotated[list[str] | None, Query(description="key:value, repeatable")] = None,
    limit: Limit = 50,
    after: After = None,
) -> Any:
    labels = {}
    for item in label or []:
        key, sep, value = item.partition(":")
        if not sep:
            raise ValidationFailed(
                f"label: {item!r} must look like key:value",
                errors=[{"loc": ["query", "label"], "msg": "must look like key:value"}],
            )
        labels[key] = value
    statuses = [s for s in (status or "").split(",") if s]
    async with db.read() as conn:
        rows = await job_store.list_jobs(
            conn, caller.scope, statuses=statuses, labels=labels, before_id=after, limit=limit + 1
        )
        items = await job_views(conn, rows[:limit], describe_source)
    return {"items": items, "next": rows[limit - 1]["id"] if len(rows) > limit else None}


@router.get("/{job_id}", response_model=Job, summary="Get a job")
async def get_job(job_id: str, db: DbDep, caller: Caller) -> Any:
    return await _one(db, caller, job_id)


@router.post(
    "/actions/{action}", response_model=Page[BulkResult], summary="Apply an action to many jobs"
)
async def bulk_action(action: JobAction, body: BulkAction, db: DbDep, caller: Writer) -> Any:
    results = []
    for job_id in body.job_ids:
        try:
            status = await job_service.act(db, caller, job_id, action, failed_only=body.failed_only)
            results.append({"job_id": job_id, "ok": True, "status": status})
        except IngestdError as exc:
            results.append(
                {
                    "job_id": job_id,
                    "ok": False,
                    "error": {"code": exc.code, "status": exc.status, "detail": exc.detail},
                }
            )
    return {"items": results, "next": None}


@router.post(
    "/{job_id}/actions/{action}",
    response_model=Job,
    summary="Start, pause, resume, cancel, retry or seal a job",
)
async def job_action(
    job_id: str,
    action: JobAction,
    db: DbDep,
    caller: Writer,
    body: RetryBody | None = None,
) -> Any:
    await job_service.act(
        db, caller, job_id, action, failed_only=body.failed_only if body else True
    )
    return await _one(db, caller, job_id)


@router.delete(
    "/{job_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a job, its files and chunks",
)
async def delete_job(job_id: str, db: DbDep, caller: Writer) -> Response:
    await job_service.delete_job(db, caller, job_id)
    return Response(status_code=204)


@router.post(
    "/{job_id}/files",
    status_code=201,
    response_model=Page[File],
    summary="Upload files to an upload job",
)
async def upload_files(
    job_id: str, request: Request, db: DbDep, settings: SettingsDep, blobs: BlobsDep, caller: Writer
) -> Any:
    """Multipart form: one or many `file` parts, an optional `metadata` JSON part (an object for
    every file, or a list with one object per file), and `seal=true` on the last upload.

    The body is parsed as it streams in: each file goes to disk while hashed, never whole in
    memory, and a file over the size limit (the job's `options.max_file_size`, or the server's
    `INGESTD_MAX_UPLOAD_SIZE` if lower) is refused with 413 as soon as it crosses it: the rest of
    the body is not read and nothing of the request is kept."""
    job = await check_upload_job(db, caller, job_id)
    limit = upload_limit(job, settings.uploads.max_upload_size)
    form = await parse_form(
        request.headers.get("content-type", ""),
        request.stream(),
        blobs.tmp_dir(),
        max_size=limit.size,
        max_files=settings.uploads.max_files_per_request,
        too_large=limit.refusal,
    )
    try:
        seal = form.fields.get("seal", "false").lower() in ("1", "true", "yes")
        if not form.files and not seal:
            raise ValidationFailed(
                "file: required (no `file` parts in the form)",
                errors=[{"loc": ["body", "file"], "msg": "field required"}],
            )
        metadata = _metadata(form.fields.get("metadata"), len(form.files))
        refuse_disallowed_types(job, [(part.filename, part.path) for part in form.files])
        stored = [
            # a rename (local store) or a streaming multipart upload in a thread (S3)
            StoredFile(
                part.filename,
                await run_blob_io(blobs, blobs.adopt, part.path, part.sha256, part.size),
                meta,
            )
            for part, meta in zip(form.files, metadata, strict=True)
        ]
    finally:
        form.discard()  # whatever was not adopted
    rows = await register_blobs(db, blobs, caller, job_id, stored, seal=seal)
    return {"items": [file_view(r) for r in rows], "next": None}


def _metadata(raw: Any, count: int) -> list[dict[str, Any]]:
    if raw is None:
        return [{} for _ in range(count)]
    text = raw if isinstance(raw, str) else ""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValidationFailed("metadata: not valid JSON") from None
    if isinstance(value, dict):
        return [dict(value) for _ in range(count)]
    if isinstance(value, list) and len(value) == count and all(isinstance(v, dict) for v in value):
        return value
    raise ValidationFailed("metadata: must be a JSON object, or a list with one object per file")


@router.get("/{job_id}/files", response_model=Page[File], summary="List a job's files")
async def list_job_files(
    job_id: str,
    db: DbDep,
    caller: Caller,
    status: Annotated[str | None, Query(description="comma-separated file statuses")] = None,
    limit: Limit = 50,
    after: After = None,
) -> Any:
    statuses = [s for s in (status or "").split(",") if s]
    async with db.read() as conn:
        await job_service.get_job_row(conn, caller, job_id)
        rows = await file_store.list_files(
            conn, job_id, statuses=statuses, after_id=after, limit=limit + 1
        )
    items = [file_view(r) for r in rows[:limit]]
    return {"items": items, "next": rows[limit - 1]["id"] if len(rows) > limit else None}


__all__ = ["router"]
