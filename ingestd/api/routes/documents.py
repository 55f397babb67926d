"""Documents: a file's extracted document and its original bytes; a job's export."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from ingestd.api.deps import BlobsDep, Caller, DbDep
from ingestd.api.document_schemas import DocumentOut
from ingestd.api.schemas import ERRORS
from ingestd.domain.rendering import MEDIA_TYPES
from ingestd.services import documents as document_service
from ingestd.services import export as export_service

router = APIRouter(prefix="/api/v1", tags=["documents"], responses=ERRORS)

DocumentFormat = Literal["json", "markdown", "text"]
ExportFormat = Literal["jsonl", "markdown"]


@router.get(
    "/files/{file_id}/document",
    summary="A file's extracted document: JSON, Markdown or text",
    response_model=DocumentOut,
    responses={
        200: {
            "description": "The document (`format=json`: the Document schema; `markdown`, "
            "`text`: the rendering)",
            "content": {"text/markdown": {}, "text/plain": {}},
        },
        409: {"description": "The file has not completed yet"},
    },
)
async def get_document(
    file_id: str,
    db: DbDep,
    blobs: BlobsDep,
    caller: Caller,
    format: Annotated[DocumentFormat, Query(description="json, markdown or text")] = "json",
) -> Response:
    """The document kept when the file completed (never parsed again to be served): its
    elements in reading order with ids, kinds, levels, pages, boxes and section paths, tables
    as cells with spans, and per page where its text came from. A duplicate skipped against
    another file serves its original's. `404 no_document` when there is none, saying why
    (a `store` job, a failed file); `409` while the file has not completed."""
    stored = await document_service.load_document(db, blobs, caller, file_id)
    return Response(stored.render(format), media_type=MEDIA_TYPES[format])


@router.get(
    "/files/{file_id}/content",
    summary="A file's original bytes",
    response_class=FileResponse,
    responses={
        200: {"description": "The bytes", "content": {"application/octet-stream": {}}},
        206: {"description": "The range asked for (`Range: bytes=…`)"},
        304: {"description": "`If-None-Match` named the ETag"},
        404: {"description": "`code: no_content` when the pipeline kept no bytes"},
    },
)
async def get_content(
    file_id: str, request: Request, db: DbDep, blobs: BlobsDep, caller: Caller
) -> Response:
    """The original bytes, streamed, as kept in the blob store: `ETag` is the sha256, `Range`
    gives parts (`206`), `Content-Disposition` names the file. Uploads and every file of a
    `store` job keep their bytes; a directory, zip, URL or S3 file of an `extract` or `full`
    job is read at its source and not copied: `404` with `code: no_content`."""
    original = await document_service.open_original(db, blobs, caller, file_id)
    row = original.file
    etag = f'"{row["sha256"] or row["blob_key"]}"'
    cleanup = BackgroundTask(os.unlink, original.path) if original.temporary else None
    if etag in request.headers.get("if-none-match", ""):
        if cleanup is not None:
            await cleanup()
        return Response(status_code=304, headers={"etag": etag})
    return FileResponse(
        original.path,
        media_type=row["mime_type"] or "application/octet-stream",
        filename=row["name"],
        headers={"etag": etag, "cache-control": "private, max-age=0, must-revalidate"},
        background=cleanup,
    )


@router.get(
    "/jobs/{job_id}/export",
    summary="Export a job's chunks (JSON lines) or documents (a zip of Markdown)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`jsonl`: one chunk a line; `markdown`: a zip, one `.md` per file",
            "content": {"application/x-ndjson": {}, "application/zip": {}},
        }
    },
)
async def export_job(
    job_id: str,
    db: DbDep,
    blobs: BlobsDep,
    caller: Caller,
    format: Annotated[ExportFormat, Query(description="jsonl or markdown")] = "jsonl",
) -> Any:
    """Streamed in constant memory, whatever the job's size.

    - `jsonl`: one chunk per line: `file_id`, `path`, `name`, `sha256`, `index`, `text`,
      `metadata`, `element_ids`, and `embedder` with `vector` (floats) when the pipeline made one.
    - `markdown`: a zip with one `<source path>.md` per file (`papers/a.pdf` →
      `papers/a.pdf.md`), and a `README.md` listing the files that have no document.

    Files skipped as duplicates export their original's output under their own id and path."""
    job = await export_service.check_export(db, caller, job_id)
    if format == "jsonl":
        return StreamingResponse(
            export_service.export_jsonl(db, job_id),
            media_type="application/x-ndjson",
            headers={"content-disposition": f'attachment; filename="{job_id}.jsonl"'},
        )
    return StreamingResponse(
        export_service.export_markdown(db, blobs, job),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{job_id}-markdown.zip"'},
    )


__all__ = ["router"]
