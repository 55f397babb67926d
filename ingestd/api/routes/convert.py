"""Convert: files and URLs in, their documents out, in one call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ingestd.api.deps import BlobsDep, DbDep, SettingsDep, Writer
from ingestd.api.document_schemas import ConvertDone, ConvertPending
from ingestd.api.schemas import ERRORS, JobOptions
from ingestd.blobs.base import run_blob_io
from ingestd.domain.errors import PayloadTooLarge, ValidationFailed
from ingestd.domain.rendering import FORMATS
from ingestd.services import convert as convert_service
from ingestd.services.uploads import StoredFile
from ingestd.uploads.multipart import parse_form

router = APIRouter(prefix="/api/v1", tags=["documents"], responses=ERRORS)

FORM_SLACK = 64 * 1024  # multipart headers and text fields on top of the files' bytes


@router.post(
    "/convert",
    summary="Convert files or URLs to documents, in one call",
    response_model=ConvertDone,
    responses={
        202: {"model": ConvertPending, "description": "Not done within `wait_seconds`"},
        413: {"description": "Over the per-request bytes (INGESTD_CONVERT_MAX_BYTES)"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                            "urls": {"type": "string", "description": "a JSON list of URLs"},
                            "format": {"type": "string", "enum": list(FORMATS), "default": "json"},
                            "chunks": {"type": "boolean", "default": False},
                            "wait_seconds": {"type": "number", "default": 60},
                            "options": {
                                "type": "string",
                                "description": "job options as JSON (chunking, chunk_size…)",
                            },
                        },
                    }
                }
            }
        }
    },
)
async def convert(
    request: Request, db: DbDep, settings: SettingsDep, blobs: BlobsDep, caller: Writer
) -> Any:
    """Multipart `file` parts and/or a `urls` field (a JSON list); fields `format` (`json`,
    `markdown`, `text`), `chunks` (`true` adds each file's chunks), `wait_seconds` (default 60,
    at most 300) and `options` (job options as JSON).

    Runs as an ordinary job (label `ingestd: convert`) at `urgent` priority in the caller's
    tenant, `extract` pipeline: the same queue, limits, audit and duplicate handling as any job.
    `200 {"items": [{file_id, name, status, document | error, chunks?}]}` once every file has
    ended; `202 {"job_id", "job", "files"}` when they have not within `wait_seconds`. At most
    `INGESTD_CONVERT_MAX_FILES` files and URLs (20) and `INGESTD_CONVERT_MAX_BYTES` bytes
    (100 MiB) per request."""
    limits = settings.uploads
    max_bytes = limits.convert_max_bytes
    form = await parse_form(
        request.headers.get("content-type", ""),
        _capped(request.stream(), max_bytes + FORM_SLACK, max_bytes),
        blobs.tmp_dir(),
        max_size=min(max_bytes, limits.max_upload_size),
        too_large=lambda name: _too_large(max_bytes, limits.max_upload_size, name),
        # the convert's own count is checked below (a 422 naming it); the byte cap bounds the rest
        max_files=limits.max_files_per_request,
    )
    try:
        req_fields = _fields(form.fields)
        urls = _urls(form.fields.get("urls"))
        convert_service.check_limits(
            len(form.files) + len(urls),
            sum(part.size for part in form.files),
            limits.convert_max_files,
            max_bytes,
        )
        stored = [
            StoredFile(
                part.filename,
                await run_blob_io(blobs, blobs.adopt, part.path, part.sha256, part.size),
                {},
            )
            for part in form.files
        ]
    finally:
        form.discard()
    req = convert_service.ConvertRequest(files=stored, urls=urls, **req_fields)
    job_id = await convert_service.start_convert(db, settings, blobs, caller, req)
    job = await convert_service.wait_for_job(db, caller, job_id, req.wait_seconds)
    files = await convert_service.job_files(db, job_id)
    if job["status"] not in ("completed", "failed", "cancelled"):
        return JSONResponse(convert_service.pending(job_id, files), status_code=202)
    items = await convert_service.results(db, blobs, caller, files, req)
    # As built (a document's nulls kept), not re-validated through the response model.
    return Response(orjson.dumps({"items": items}), media_type="application/json")


async def _capped(body: AsyncIterator[bytes], cap: int, max_bytes: int) -> AsyncIterator[bytes]:
    """The body, refused (413) as soon as it passes ``cap`` bytes: nothing more is read."""
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > cap:
            raise PayloadTooLarge(
                f"the convert request passed {max_bytes} bytes of files "
                "(INGESTD_CONVERT_MAX_BYTES); nothing was stored. Send fewer or smaller files"
            )
        yield chunk


def _too_large(max_bytes: int, max_upload: int, name: str | None) -> PayloadTooLarge:
    if max_upload < max_bytes:
        limit = f"{max_upload} bytes a file (INGESTD_MAX_UPLOAD_SIZE)"
    else:
        limit = f"{max_bytes} bytes in all (INGESTD_CONVERT_MAX_BYTES)"
    return PayloadTooLarge(
        f"{name or 'a file'!r} is larger than a convert takes, {limit}; nothing was stored. "
        "Send a smaller file, or create a job"
    )


def _fields(fields: dict[str, str]) -> dict[str, Any]:
    fmt = fields.get("format", "json")
    if fmt not in FORMATS:
        raise _refused("format", f"must be one of {', '.join(FORMATS)}, not {fmt!r}")
    chunks = fields.get("chunks", "false").lower()
    if chunks not in ("true", "false", "1", "0", "yes", "no"):
        raise _refused("chunks", f"must be true or false, not {chunks!r}")
    try:
        wait = float(fields.get("wait_seconds", "60"))
    except ValueError:
        raise _refused("wait_seconds", "must be a number of seconds") from None
    if not 0 <= wait <= convert_service.MAX_WAIT_SECONDS:
        raise _refused(
            "wait_seconds", f"must be between 0 and {convert_service.MAX_WAIT_SECONDS:g}"
        )
    options = _json(fields.get("options"), "options", dict) if fields.get("options") else {}
    _check_options(options)
    return {
        "format": fmt,
        "chunks": chunks in ("true", "1", "yes"),
        "wait_seconds": wait,
        "options": options,
    }


def _check_options(options: dict[str, Any]) -> None:
    try:
        JobOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _refused(f"options.{where}" if where else "options", first["msg"]) from None


def _urls(raw: str | None) -> list[str]:
    if not raw:
        return []
    urls = _json(raw, "urls", list)
    if not all(isinstance(u, str) and u for u in urls):
        raise _refused("urls", "must be a JSON list of URL strings")
    return list(urls)


def _json(raw: str | None, field: str, kind: type) -> Any:
    try:
        value = orjson.loads(raw or "")
    except orjson.JSONDecodeError:
        raise _refused(field, "not valid JSON") from None
    if not isinstance(value, kind):
        raise _refused(field, f"must be a JSON {'object' if kind is dict else 'list'}")
    return value


def _refused(field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {reason}", errors=[{"loc": ["body", field], "msg": reason, "type": "value"}]
    )


__all__ = ["router"]
