"""A file's document and its original bytes, as stored: never re-parsed to be served.

The worker writes each completed file's document (``ingestd.document/1`` JSON) once into the
content-addressed blob store and names it on the file row (``document_key``); a duplicate skipped
against another file shares its original's. Reading one is a row lookup and a blob read; its
Markdown and text are rendered from it (``domain/rendering.py``).
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ingestd.blobs.base import BlobStore
from ingestd.domain.auth import Principal
from ingestd.domain.documents import SCHEMA, Document
from ingestd.domain.errors import Conflict, FileError, NoContent, NoDocument, NotFound
from ingestd.domain.rendering import to_markdown, to_text
from ingestd.store import documents as document_store
from ingestd.store import files as file_store
from ingestd.store.db import Database

# A file in one of these has not finished: its document comes when it completes.
_UNFINISHED = ("queued", "running", "needs_mapping")


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A file's row and its document's JSON as stored (without the file's own fields)."""

    file: dict[str, Any]
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The API's Document: ``schema``, the file's ``file_id``, ``name``, ``mime_type``,
        then ``pages``, ``elements`` and ``metadata`` as extracted."""
        return {
            "schema": self.data.get("schema", SCHEMA),
            "file_id": self.file["id"],
            "name": self.file["name"],
            "mime_type": self.file["mime_type"],
            "pages": self.data.get("pages", []),
            "elements": self.data.get("elements", []),
            "metadata": self.data.get("metadata", {}),
        }

    def document(self) -> Document:
        return Document.from_dict(self.data)

    def render(self, fmt: str) -> bytes:
        """``json`` (the API's Document), ``markdown`` or ``text``, as UTF-8 bytes."""
        if fmt == "json":
            return orjson.dumps(self.as_json())
        if fmt == "markdown":
            return to_markdown(self.document()).encode()
        return to_text(self.document()).encode()


async def load_document(
    db: Database, blobs: BlobStore, principal: Principal, file_id: str
) -> StoredDocument:
    """The file's stored document. ``404`` for another tenant's file or none; ``409`` while
    the file has not finished; ``404 no_document`` when there is none to serve, saying why."""
    async with db.read() as conn:
        row = await file_store.get_file(conn, file_id, principal.scope)
        if row is None:
            raise NotFound(f"no file {file_id}")
        key = await document_store.document_key_of(conn, row)
        pipeline = None if key else await document_store.job_pipeline(conn, row["job_id"])
    if key is None:
        raise _why_no_document(row, pipeline)
    return StoredDocument(row, orjson.loads(await read_blob(blobs, key)))


def _why_no_document(row: dict[str, Any], pipeline: str | None) -> Exception:
    status, file_id = row["status"], row["id"]
    if status in _UNFINISHED:
        return Conflict(f"file {file_id} is {status}: its document is kept when it completes")
    if pipeline == "store":
        return NoDocument(
            f"file {file_id} belongs to a `store` job, which keeps bytes only: "
            "nothing was extracted (GET …/content has the bytes)"
        )
    if status == "completed":
        return NoDocument(
            f"file {file_id} completed before documents were kept; retry it to extract it again"
        )
    return NoDocument(f"file {file_id} is {status}: it has no document")


async def read_blob(blobs: BlobStore, key: str) -> bytes:
    """A blob's bytes (a document: small next to its original), read in a thread."""

    def read() -> bytes:
        out = io.BytesIO()
        try:
            blobs.fetch(key, out)
        except FileError as error:  # named by a row, gone from the store
            raise NoDocument(
                f"the stored document is missing from the blob store: {error}"
            ) from None
        return out.getvalue()

    return await asyncio.to_thread(read)


@dataclass(frozen=True, slots=True)
class Original:
    """Where a file's original bytes are: ``path`` (a local blob, or a temporary copy of a
    remote one that the caller removes when ``temporary``)."""

    file: dict[str, Any]
    path: Path
    temporary: bool


async def open_original(
    db: Database, blobs: BlobStore, principal: Principal, file_id: str
) -> Original:
    """The file's original bytes, as kept in the blob store (uploads, and every file of a
    ``store`` job). ``404 no_content`` when the pipeline kept none: a directory, zip, URL or
    S3 file of an ``extract`` or ``full`` job is read at its source, never copied."""
    async with db.read() as conn:
        row = await file_store.get_file(conn, file_id, principal.scope)
    if row is None:
        raise NotFound(f"no file {file_id}")
    key = row["blob_key"]
    if not key:
        raise NoContent(
            f"file {file_id}'s bytes were not kept: its job read them from their source "
            "(keep them with an upload, or a `store` job)"
        )
    if blobs.is_local:
        path = Path(blobs.locate(key))
        if not await asyncio.to_thread(path.is_file):
            raise NoContent(f"file {file_id}'s bytes are no longer in the blob store")
        return Original(row, path, temporary=False)
    return Original(row, await asyncio.to_thread(_fetch_copy, blobs, key, file_id), True)


def _fetch_copy(blobs: BlobStore, key: str, file_id: str) -> Path:
    handle = tempfile.NamedTemporaryFile(dir=blobs.tmp_dir(), prefix="get-", delete=False)  # noqa: SIM115
    try:
        with handle:
            blobs.fetch(key, handle)  # type: ignore[arg-type]  # a binary file
    except FileError:
        Path(handle.name).unlink(missing_ok=True)
        raise NoContent(f"file {file_id}'s bytes are no longer in the blob store") from None
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Path(handle.name)
