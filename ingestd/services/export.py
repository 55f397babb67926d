"""A job's output, streamed: every chunk as a JSON line, or every document as Markdown in a zip.

Both walk the job's files in id order and their chunks in index order a page at a time, each
page in its own short read transaction, and hand out bytes as they go: memory stays flat
whatever the size of the job (``bench/export.py`` measures a 100,000-chunk job). A file skipped
as a duplicate exports its original's output under its own id and path.
"""

from __future__ import annotations

import io
import posixpath
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson

from ingestd.blobs.base import BlobStore
from ingestd.domain.auth import Principal
from ingestd.domain.documents import Document
from ingestd.domain.rendering import to_markdown
from ingestd.services.documents import read_blob
from ingestd.services.jobs import get_job_row
from ingestd.store import documents as document_store
from ingestd.store.db import Database

EXPORT_FORMATS = ("jsonl", "markdown")
FILES_PAGE = 200
CHUNKS_PAGE = 500


async def check_export(db: Database, principal: Principal, job_id: str) -> dict[str, Any]:
    """The job (``404`` for another tenant's), checked before the response starts streaming."""
    async with db.read() as conn:
        return await get_job_row(conn, principal, job_id)


async def _files(db: Database, job_id: str) -> AsyncIterator[dict[str, Any]]:
    after: str | None = None
    while True:
        async with db.read() as conn:
            page = await document_store.export_files(conn, job_id, after_id=after, limit=FILES_PAGE)
        for row in page:
            yield row
        if len(page) < FILES_PAGE:
            return
        after = page[-1]["id"]


async def export_jsonl(db: Database, job_id: str) -> AsyncIterator[bytes]:
    """One line per chunk: ``file_id``, ``path``, ``sha256``, ``index``, ``text``,
    ``metadata`` (``element_ids`` among it), ``element_ids``, and ``vector`` (with
    ``embedder``) when the pipeline made one."""
    async for file in _files(db, job_id):
        source = file["chunks_of"]
        if source is None:
            continue
        after = -1
        while True:
            async with db.read() as conn:
                page = await document_store.export_chunks(
                    conn, source, after_index=after, limit=CHUNKS_PAGE
                )
            if page:
                yield b"".join(_line(file, chunk) for chunk in page)
            if len(page) < CHUNKS_PAGE:
                break
            after = page[-1]["idx"]


def _line(file: dict[str, Any], chunk: dict[str, Any]) -> bytes:
    metadata = chunk["metadata"]
    if isinstance(metadata, str | bytes):  # SQLite hands JSON text back as text on some paths
        metadata = orjson.loads(metadata)
    record: dict[str, Any] = {
        "file_id": file["id"],
        "path": file["path"],
        "name": file["name"],
        "sha256": file["sha256"],
        "index": chunk["idx"],
        "text": chunk["text"],
        "metadata": metadata,
        "element_ids": (metadata or {}).get("element_ids", []),
    }
    if chunk["vector"] is not None:
        record["embedder"] = chunk["embedder"]
        record["vector"] = np.frombuffer(chunk["vector"], dtype="<f4").tolist()
    return orjson.dumps(record) + b"\n"


class _Drain(io.RawIOBase):
    """An unseekable sink that ``zipfile`` writes into and the response drains as it goes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self._buffer)
        self._buffer.clear()
        return out


async def export_markdown(
    db: Database, blobs: BlobStore, job: dict[str, Any]
) -> AsyncIterator[bytes]:
    """A zip, streamed: one ``<source path>.md`` per file with a document (``report.pdf`` →
    ``report.pdf.md``, folders kept), and ``README.md`` listing files without one."""
    sink = _Drain()
    used: set[str] = set()
    missing: list[str] = []
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        async for file in _files(db, job["id"]):
            async with db.read() as conn:
                key = await document_store.document_key_of(conn, {**file, "tenant": job["tenant"]})
            if key is None:
                missing.append(file["path"])
                continue
            data = orjson.loads(await read_blob(blobs, key))
            markdown = to_markdown(Document.from_dict(data))
            archive.writestr(_entry(_member_name(file, used)), markdown)
            yield sink.take()
        if missing:
            note = "Files of this job without a document:\n\n" + "".join(
                f"- {path}\n" for path in missing
            )
            archive.writestr(_entry(_unique("README.md", used)), note)
    yield sink.take()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _member_name(file: dict[str, Any], used: set[str]) -> str:
    """The file's source path, made safe for a zip (relative, no ``..``), plus ``.md``."""
    path = str(file["path"] or file["name"]).replace("\\", "/")
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p and p != ".."]
    return _unique("/".join(parts or [file["id"]]) + ".md", used)


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem} ({n}).{ext}" if dot else f"{name} ({n})"
    used.add(candidate)
    return candidate
