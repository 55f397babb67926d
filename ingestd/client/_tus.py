"""Resumable uploads over tus 1.0, on the SDK's own httpx client (so ``transport=``, the key,
timeouts and retries apply to them too).

A file goes up in chunks of ``chunk_size`` bytes, each with an ``Upload-Checksum`` (sha256) the
server verifies. Where an upload stands is kept in an :class:`UploadStore` (a small JSON file of
fingerprint → upload URL, as tuspy does): a run that was killed, or a connection that dropped,
continues from the server's offset instead of from zero.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ingestd.client._errors import (
    APIError,
    ConflictError,
    ConnectError,
    RequestTimeout,
    UnavailableError,
    UploadError,
)
from ingestd.client._http import Http
from ingestd.client._walk import LocalFile

TUS_VERSION = "1.0.0"
ENDPOINT = "/api/v1/uploads"
DEFAULT_CHUNK = 32 * 1024 * 1024  # bytes per PATCH: each has a fixed cost of a few ms
PIECE = 256 * 1024  # bytes handed to the connection at a time (upload progress granularity)
STORE_DAYS = 7  # entries older than this are dropped (the server expires uploads after 24 h)
CHUNK_RETRIES = 8  # attempts at one chunk, re-reading the server's offset in between


class UploadStore:
    """Where resumable uploads stand, by fingerprint (server, job, file path, size, mtime).

    >>> store = UploadStore("/tmp/ingestd-uploads.json")   # or UploadStore.default()

    The default lives in ``$INGESTD_UPLOAD_STORE``, else ``~/.cache/ingestd/uploads.json``. It
    is written atomically; an unreadable file is treated as empty.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> UploadStore:
        configured = os.environ.get("INGESTD_UPLOAD_STORE")
        if configured:
            return cls(configured)
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(cache) / "ingestd" / "uploads.json")

    def get(self, fingerprint: str) -> str | None:
        entry = self._read().get(fingerprint)
        url = entry.get("url") if isinstance(entry, dict) else None
        return url if isinstance(url, str) else None

    def set(self, fingerprint: str, url: str) -> None:
        with self._lock:
            entries = self._read()
            entries[fingerprint] = {"url": url, "at": time.time()}
            self._write(entries)

    def get_all(self) -> dict[str, str]:
        """Every stored upload URL, by fingerprint."""
        return {k: v["url"] for k, v in self._read().items() if isinstance(v, dict) and "url" in v}

    def remove(self, fingerprint: str) -> None:
        with self._lock:
            entries = self._read()
            if entries.pop(fingerprint, None) is not None:
                self._write(entries)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        cutoff = time.time() - STORE_DAYS * 86400
        kept = {
            k: v
            for k, v in entries.items()
            if isinstance(v, dict) and float(v.get("at") or 0) >= cutoff
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".uploads-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(kept, out)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def fingerprint(base_url: str, job_id: str, file: LocalFile) -> str:
    key = f"{base_url}|{job_id}|{file.path.resolve()}|{file.size}|{file.mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()


def encode_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class TusUpload:
    """Sends one file by tus; ``on_offset`` hears how many of its bytes are out."""

    def __init__(
        self,
        http: Http,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        checksum: bool = True,
        store: UploadStore | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.http = http
        self.chunk_size = chunk_size
        self.checksum = checksum
        self.store = store

    async def send(
        self,
        file: LocalFile,
        *,
        job_id: str,
        metadata: dict[str, str],
        on_offset: Callable[[int], None],
    ) -> int:
        """Upload ``file`` to the job; returns the offset it resumed from (0 for a new one)."""
        key = fingerprint(self.http.base_url, job_id, file)
        url, offset = await self._resume(key, file)
        resumed_from = offset
        if url is None:
            url = await self._create(file, job_id, metadata)
            if self.store is not None:
                self.store.set(key, url)
        on_offset(offset)
        await self._send_chunks(url, file, offset, on_offset)
        if self.store is not None:
            self.store.remove(key)
        return resumed_from

    async def _resume(self, key: str, file: LocalFile) -> tuple[str | None, int]:
        url = self.store.get(key) if self.store is not None else None
        if url is None:
            return None, 0
        offset = await self._offset(url, file.size)
        if offset is None:  # expired, finished or changed: start again
            if self.store is not None:
                self.store.remove(key)
            return None, 0
        return url, offset

    async def _create(self, file: LocalFile, job_id: str, metadata: dict[str, str]) -> str:
        fields = {"job_id": job_id, "filename": file.path.name, **metadata}
        response = await self.http.request(
            "POST",
            ENDPOINT,
            headers={
                "Tus-Resumable": TUS_VERSION,
                "Upload-Length": str(file.size),
                "Upload-Metadata": encode_metadata(fields),
            },
        )
        location: str | None = response.headers.get("location")
        if not location:
            raise UploadError("the server created the upload but sent no Location")
        return location

    async def _offset(self, url: str, size: int) -> int | None:
        """The server's offset for ``url``; ``None`` when the upload is gone or not this file."""
        try:
            response = await self.http.request("HEAD", url, headers={"Tus-Resumable": TUS_VERSION})
        except APIError as exc:
            if exc.status in (403, 404, 410):
                return None
            raise
        length = response.headers.get("upload-length")
        if length is not None and int(length) != size:
            return None
        return int(response.headers.get("upload-offset") or 0)

    async def _send_chunks(
        self, url: str, file: LocalFile, offset: int, on_offset: Callable[[int], None]
    ) -> None:
        failures = 0
        with file.path.open("rb") as handle:
            while offset < file.size:
                handle.seek(offset)
                chunk = handle.read(min(self.chunk_size, file.size - offset))
                if not chunk:
                    raise UploadError(f"{file.path} shrank while it was being sent")
                try:
                    offset = await self._patch(url, offset, chunk, on_offset)
                    failures = 0
                except (ConnectError, RequestTimeout, UnavailableError, ConflictError) as exc:
                    failures += 1
                    if failures >= CHUNK_RETRIES:
                        raise
                    await self.http.sleep(self.http.retry.delay(failures - 1))
                    server = await self._offset(url, file.size)
                    if server is None:
                        raise UploadError(f"the upload of {file.path} is gone ({exc})") from exc
                    offset = server
                    on_offset(offset)
                except APIError as exc:
                    if exc.status != 460 or failures >= CHUNK_RETRIES:  # 460: checksum mismatch
                        raise
                    failures += 1

    async def _patch(
        self, url: str, offset: int, chunk: bytes, on_offset: Callable[[int], None]
    ) -> int:
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(chunk)),
        }
        if self.checksum:
            digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            headers["Upload-Checksum"] = f"sha256 {digest}"

        async def body() -> AsyncIterator[bytes]:
            view = memoryview(chunk)
            for start in range(0, len(chunk), PIECE):
                yield bytes(view[start : start + PIECE])
                on_offset(offset + min(start + PIECE, len(chunk)))

        response = await self.http.request(
            "PATCH", url, headers=headers, content=body(), retry=False
        )
        return int(response.headers.get("upload-offset") or offset + len(chunk))
