"""Files uploaded to a job: streamed into the blob store while hashed, then queued."""

from __future__ import annotations

import asyncio
import fnmatch
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ingestd.blobs.base import BlobInfo, BlobStore
from ingestd.domain.auth import Principal
from ingestd.domain.errors import Conflict, FileError, PayloadTooLarge, UnsupportedMediaType
from ingestd.domain.ids import new_id
from ingestd.domain.refs import BlobRef, ref_to_json
from ingestd.domain.states import FileStatus, JobAction, JobStatus, Priority
from ingestd.services.jobs import act, get_job_row
from ingestd.store import files as file_store
from ingestd.store import uploads as upload_store
from ingestd.store.db import Connection, Database
from ingestd.store.jobs import sources_of
from ingestd.store.listing import count_in

MAX_NAME = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class UploadLimit:
    """The most bytes one uploaded file of a job may have, and what sets it (for messages)."""

    size: int  # bytes
    set_by: str

    def refusal(self, name: str | None, size: int | None = None) -> PayloadTooLarge:
        """413 for a file over the limit, saying what to change."""
        over = f" ({size} bytes)" if size is not None else ""
        return PayloadTooLarge(
            f"{safe_name(name)!r}{over} is larger than {self.set_by} ({self.size} bytes); "
            "nothing was stored. Send a smaller file, or "
            + (
                "create the job with a larger options.max_file_size"
                if self.set_by == JOB_LIMIT
                else "raise INGESTD_MAX_UPLOAD_SIZE on the server"
            )
        )


JOB_LIMIT = "the job's max_file_size"
SERVER_LIMIT = "the server's upload limit (INGESTD_MAX_UPLOAD_SIZE)"


def upload_limit(job: dict[str, Any], server_max: int) -> UploadLimit:
    """The job's ``options.max_file_size`` where it is below the server's limit, else that."""
    job_max = (job.get("options") or {}).get("max_file_size")
    if job_max is not None and int(job_max) < server_max:
        return UploadLimit(int(job_max), JOB_LIMIT)
    return UploadLimit(server_max, SERVER_LIMIT)


@dataclass(frozen=True, slots=True)
class IncomingFile:
    filename: str | None
    stream: BinaryIO
    metadata: dict[str, Any]


def safe_name(raw: str | None) -> str:
    """A file name with no path parts, no control characters, of bounded length."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".") or "upload"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_NAME - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 16
            else name[:MAX_NAME]
        )
    return name


async def add_uploads(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    job_id: str,
    incoming: list[IncomingFile],
    *,
    max_size: int,
    seal: bool,
) -> list[dict[str, Any]]:
    await check_upload_job(db, principal, job_id)
    stored = []
    for item in incoming:
        try:
            blob = await asyncio.to_thread(blobs.write_file, item.stream, limit=max_size)
        except FileError:
            raise PayloadTooLarge(
                f"{safe_name(item.filename)!r} is larger than the {max_size}-byte upload limit"
            ) from None
        stored.append(StoredFile(item.filename, blob, item.metadata))
    return await register_blobs(db, blobs, principal, job_id, stored, seal=seal)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Bytes already in the blob store (streamed there by multipart or tus), not yet a file."""

    filename: str | None
    blob: BlobInfo
    metadata: dict[str, Any]


async def check_upload_job(db: Database, principal: Principal, job_id: str) -> dict[str, Any]:
    """Refuse early (404 / 409) when ``job_id`` cannot take uploaded files; returns the job."""
    principal.require_write()
    async with db.read() as conn:
        job = await get_job_row(conn, principal, job_id)
        await _upload_source(conn, job)
    return job


def refuse_disallowed_types(job: dict[str, Any], parts: list[tuple[str | None, Path]]) -> None:
    """415 for an upload whose content (by magic bytes, not its name) the job does not allow,
    before anything is stored: the sender learns at once instead of finding a failed file later."""
    from ingestd.pipeline.detect import detect_mime_type

    allowed: list[str] = (job.get("options") or {}).get("allowed_types") or []
    if not allowed:
        return
    for filename, path in parts:
        with open(path, "rb") as handle:
            head = handle.read(8192)
        mime_type = detect_mime_type(head, filename or "")
        if not any(fnmatch.fnmatchcase(mime_type, pattern) for pattern in allowed):
            raise UnsupportedMediaType(
                f"{safe_name(filename)!r} is {mime_type}; the job allows only {', '.join(allowed)}"
            )


async def register_blobs(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    job_id: str,
    stored: list[StoredFile],
    *,
    seal: bool,
    conn: Connection | None = None,
) -> list[dict[str, Any]]:
    """Make stored blobs files of the job, queued at once (the workers are woken). With ``conn``
    this runs inside the caller's transaction (tus marks its upload complete in the same one),
    and the caller calls ``db.signals.work_queued()`` after it commits; ``seal`` needs none."""
    if conn is None:
        async with db.write() as own:
            result = await _register(own, blobs, principal, job_id, stored)
        db.signals.work_queued()
    else:  # the caller signals once its transaction has committed
        result = await _register(conn, blobs, principal, job_id, stored)
    if seal:
        await act(db, principal, job_id, JobAction.SEAL)
    return result


async def _register(
    conn: Connection,
    blobs: BlobStore,
    principal: Principal,
    job_id: str,
    stored: list[StoredFile],
) -> list[dict[str, Any]]:
    now = time.time()
    job = await get_job_row(conn, principal, job_id, lock=True)
    source_index = await _upload_source(conn, job)
    names = await _unique_names(conn, job_id, source_index, [safe_name(s.filename) for s in stored])
    rows = [
        {
            "id": new_id("file"),
            "job_id": job_id,
            "tenant": job["tenant"],
            "source_index": source_index,
            "name": name,
            "path": name,
            "size": item.blob.size,
            "sha256": item.blob.key,
            "status": FileStatus.QUEUED.value,
            "priority_rank": Priority(job["priority"]).rank,
            "run_after": now,
            "ref": ref_to_json(BlobRef(item.blob.key)),
            "blob_key": item.blob.key,
            "metadata": {**item.metadata, "original_name": item.filename},
            "created_at": now,
        }
        for item, name in zip(stored, names, strict=True)
    ]
    inserted = await file_store.insert_files(conn, rows)
    await count_in(conn, job_id, inserted)
    return await upload_store.files_by_id(conn, [r["id"] for r in inserted])


async def _upload_source(conn: Connection, job: dict[str, Any]) -> int:
    if JobStatus(job["status"]).is_terminal:
        raise Conflict(f"the job is {job['status']} and takes no more files")
    if job["sealed"]:
        raise Conflict("the job is sealed and takes no more files")
    for source in (await sources_of(conn, [job["id"]])).get(job["id"], []):
        if source["type"] == "upload":
            return int(source["idx"])
    raise Conflict('the job has no upload source; create it with {"type": "upload"}')


async def _unique_names(
    conn: Connection, job_id: str, source_index: int, names: list[str]
) -> list[str]:
    """Two uploads with one name both stay: later ones become ``name (2).ext``…"""
    chosen: list[str] = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not stem:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate in chosen or await upload_store.path_taken(
            conn, job_id, source_index, candidate
        ):
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        chosen.append(candidate)
    return chosen
