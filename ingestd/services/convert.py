"""One-call conversion: files and URLs in, their documents out.

A convert is an ordinary job (``labels: {"ingestd": "convert"}``) at ``urgent`` priority in the
caller's tenant, ``extract`` pipeline: the same queue, auth, limits, audit and duplicate handling
as any job. The request waits for the job to end, up to ``wait_seconds``; past that the caller
gets the job and its files to read later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ingestd.blobs.base import BlobStore
from ingestd.config import Settings
from ingestd.domain.auth import Principal
from ingestd.domain.errors import IngestdError, PayloadTooLarge, ValidationFailed
from ingestd.domain.options import JobOptions
from ingestd.domain.states import FileStatus, JobStatus
from ingestd.services import jobs as job_service
from ingestd.services.documents import load_document
from ingestd.services.uploads import StoredFile, register_blobs
from ingestd.store import files as file_store
from ingestd.store.db import Database

CONVERT_LABEL = {"ingestd": "convert"}
MAX_WAIT_SECONDS = 300.0
_ENDED = {JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value}
_POLL_FIRST, _POLL_MAX = 0.02, 0.25  # seconds between looks at the job while waiting


@dataclass(frozen=True, slots=True)
class ConvertRequest:
    files: list[StoredFile]
    urls: list[str]
    format: str
    chunks: bool
    wait_seconds: float
    options: dict[str, Any]


def check_limits(count: int, total_bytes: int, max_files: int, max_bytes: int) -> None:
    """Refuse a convert over the server's per-request limits, saying which and how to change."""
    if count == 0:
        raise ValidationFailed(
            "file: send at least one `file` part or a `urls` field",
            errors=[{"loc": ["body", "file"], "msg": "no file and no URL"}],
        )
    if count > max_files:
        raise ValidationFailed(
            f"file: {count} files and URLs in one convert; the server takes at most {max_files} "
            "(INGESTD_CONVERT_MAX_FILES). Send fewer, or create a job for a batch",
            errors=[{"loc": ["body", "file"], "msg": f"at most {max_files}"}],
        )
    if total_bytes > max_bytes:
        raise PayloadTooLarge(
            f"the files of this convert are {total_bytes} bytes in all; the server takes at most "
            f"{max_bytes} (INGESTD_CONVERT_MAX_BYTES). Nothing was stored: send fewer or smaller "
            "files, or create a job"
        )


async def start_convert(
    db: Database, settings: Settings, blobs: BlobStore, principal: Principal, req: ConvertRequest
) -> str:
    """Create the job and queue its files; returns the job id."""
    sources: list[dict[str, Any]] = []
    if req.files:
        sources.append({"type": "upload"})
    if req.urls:
        sources.append({"type": "url", "urls": req.urls})
    options = JobOptions.model_validate(req.options).model_dump(mode="json")
    body = {
        "name": _name(req),
        "priority": "urgent",
        "pipeline": "extract",
        "sources": sources,
        "options": options,
        "labels": CONVERT_LABEL,
        "start": True,
    }
    job_id = await job_service.create_job(db, settings, principal, body)
    if req.files:
        await register_blobs(db, blobs, principal, job_id, req.files, seal=True)
    return job_id


def _name(req: ConvertRequest) -> str:
    names = [f.filename or "upload" for f in req.files] + req.urls
    first = names[0]
    return f"convert {first}" + (f" (+{len(names) - 1})" if len(names) > 1 else "")


async def wait_for_job(
    db: Database, principal: Principal, job_id: str, seconds: float
) -> dict[str, Any]:
    """The job's row once it has ended, or as it is when ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    pause = _POLL_FIRST
    while True:
        async with db.read() as conn:
            job = await job_service.get_job_row(conn, principal, job_id)
        left = deadline - time.monotonic()
        if job["status"] in _ENDED or left <= 0:
            return job
        await asyncio.sleep(min(pause, left))
        pause = min(_POLL_MAX, pause * 1.5)


async def job_files(db: Database, job_id: str) -> list[dict[str, Any]]:
    async with db.read() as conn:
        return await file_store.list_files(conn, job_id, limit=10_000)


async def results(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    files: list[dict[str, Any]],
    req: ConvertRequest,
) -> list[dict[str, Any]]:
    """Each file's outcome: its document in the format asked (and its chunks), or its error."""
    out = []
    for row in files:
        item: dict[str, Any] = {"file_id": row["id"], "name": row["name"], "status": row["status"]}
        if row["status"] in (FileStatus.COMPLETED.value, FileStatus.SKIPPED.value):
            try:
                stored = await load_document(db, blobs, principal, row["id"])
            except IngestdError as error:
                item["error"] = {"code": error.code, "message": error.detail}
            else:
                item["document"] = (
                    stored.as_json() if req.format == "json" else stored.render(req.format).decode()
                )
                if req.chunks:
                    item["chunks"] = await _chunks(db, row)
        else:
            item["error"] = {
                "code": row["error_code"] or row["status"],
                "message": row["error_message"] or f"the file is {row['status']}",
            }
        out.append(item)
    return out


async def _chunks(db: Database, row: dict[str, Any]) -> list[dict[str, Any]]:
    source = row["id"] if row["status"] == FileStatus.COMPLETED.value else row["duplicate_of"]
    chunks: list[dict[str, Any]] = []
    after = -1
    async with db.read() as conn:
        while True:
            page = await file_store.list_chunks(conn, source, after_index=after, limit=500)
            chunks.extend(
                {"index": c["idx"], "text": c["text"], "metadata": c["metadata"]} for c in page
            )
            if len(page) < 500:
                return chunks
            after = page[-1]["idx"]


def pending(job_id: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``202`` body: where to read the job and each file's document later."""
    return {
        "job_id": job_id,
        "job": f"/api/v1/jobs/{job_id}",
        "files": [
            {
                "file_id": f["id"],
                "name": f["name"],
                "status": f["status"],
                "url": f"/api/v1/files/{f['id']}/document",
            }
            for f in files
        ],
    }
