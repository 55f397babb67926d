"""tus 1.0 resumable uploads: create, append, report, terminate, expire — without HTTP.

Where the truth lives
    The bytes go to a partial file ``<blob root>/uploads/<id>.part``; the row in ``uploads`` keeps
    the offset, length, metadata and expiry. When nobody is writing, the partial file's size is
    the truth: a request that takes the lock reconciles the row with it (a server killed mid-PATCH
    keeps every byte that reached the page cache). The row's offset is refreshed with each
    progress event, at most every ``tus_progress_seconds`` per upload: a PATCH that ends sooner
    after the last one leaves the row behind (the bytes and this process's hash cache know
    better), unless it completes the upload or ends early. This process then knows the row lags
    and does not rewrite it when it next takes the lock; any other process does.

One writer at a time, across processes
    A PATCH (and DELETE, and the reconciling HEAD) holds ``flock(LOCK_EX | LOCK_NB)`` on the
    partial file. A second writer gets 423 at once. The kernel drops the lock when the holder
    dies, so a killed server never leaves an upload stuck behind a stale lease.

The sha256 across restarts
    ``hashlib`` state cannot be stored, so each process caches ``(offset, hasher)`` per upload
    and continues when the next PATCH starts at that offset (the usual case: one client, one
    server). Otherwise — another process, a restart — the partial file is re-hashed once, in a
    thread. Re-hashing is simple and always correct; the cache makes it rare.

Finishing is redoable
    With every byte in, the digest is stored on the row first, then the partial file is renamed
    into the blob store, then one transaction inserts the job file and marks the upload complete
    (guarded by ``status = 'open'``). A crash between steps is finished by the next request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ingestd.blobs.base import BlobInfo, BlobStore, run_blob_io
from ingestd.config_parts import UploadSettings
from ingestd.domain.auth import Principal
from ingestd.domain.errors import (
    BadRequest,
    Conflict,
    IngestdError,
    NotFound,
    PayloadTooLarge,
)
from ingestd.domain.events import EventType
from ingestd.domain.ids import new_id
from ingestd.lifecycle import PeriodicService
from ingestd.services.uploads import (
    StoredFile,
    UploadLimit,
    check_upload_job,
    register_blobs,
    upload_limit,
)
from ingestd.store import uploads as upload_store
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.store.jobs import get_job
from ingestd.store.uploads import COMPLETE, EXPIRED, OPEN, TERMINATED
from ingestd.uploads.sink import HashingSink

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
)
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
HASH_CACHE = 256  # uploads whose running sha256 a process keeps
READ = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

log = logging.getLogger("ingestd.api")


class UnsupportedVersion(IngestdError):
    code = "tus_version_unsupported"
    status = 412
    title = "Unsupported tus version"


class Gone(IngestdError):
    code = "upload_gone"
    status = 410
    title = "Upload gone"


class Locked(IngestdError):
    code = "upload_locked"
    status = 423
    title = "Upload locked"


class ChecksumMismatch(IngestdError):
    code = "checksum_mismatch"
    status = 460
    title = "Checksum mismatch"


class OffsetMismatch(Conflict):
    code = "offset_mismatch"
    title = "Offset mismatch"


@dataclass(frozen=True, slots=True)
class Checksum:
    """An ``Upload-Checksum`` header: the algorithm and the expected digest of this PATCH body."""

    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> Checksum:
        algorithm, _, value = header.strip().partition(" ")
        if algorithm not in CHECKSUMS:
            raise BadRequest(f"checksum algorithm {algorithm!r} is not supported (sha1, sha256)")
        try:
            return cls(algorithm, base64.b64decode(value.strip(), validate=True))
        except binascii.Error:
            raise BadRequest("the Upload-Checksum value is not base64") from None


def parse_metadata(header: str | None) -> dict[str, str]:
    """``key base64value,key2 …`` → a dict; values are UTF-8 text."""
    result: dict[str, str] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition(" ")
        if not key:
            continue
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    return result


def encode_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class TusService:
    """Everything the routes ask of uploads; one per app."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: UploadSettings,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.root = blobs.root / "uploads"
        self._hashes: OrderedDict[str, tuple[int, Any]] = OrderedDict()
        self._saved_at: dict[str, float] = {}  # monotonic time of each upload's last row write

    @property
    def max_size(self) -> int:
        return self.settings.max_upload_size

    def partial(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    # -- create ---------------------------------------------------------------------------

    async def create(
        self, principal: Principal, *, length: int | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        principal.require_write()
        job_id = metadata.get("job_id")
        if not job_id:
            raise BadRequest("Upload-Metadata must carry `job_id`: the upload job to attach to")
        expected = metadata.get("sha256")
        if expected is not None and not _HEX64.match(expected.lower()):
            raise BadRequest("Upload-Metadata `sha256` must be 64 hex digits")
        job = await check_upload_job(self.db, principal, job_id)
        limit = upload_limit(job, self.max_size)
        if length is not None and length > limit.size:  # before any byte is sent
            raise limit.refusal(metadata.get("filename"), length)
        now = time.time()
        upload_id = new_id("upl")
        self.root.mkdir(parents=True, exist_ok=True)
        self.partial(upload_id).touch()
        extra = {k: v for k, v in metadata.items() if k not in ("job_id", "filename", "sha256")}
        row = {
            "id": upload_id,
            "tenant": principal.tenant,
            "job_id": job_id,
            "filename": metadata.get("filename") or "upload",
            "length": length,
            "offset": 0,
            "status": OPEN,
            "metadata": extra,
            "expected_sha256": expected.lower() if expected else None,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + self.settings.tus_expiry_seconds,
        }
        async with self.db.write() as conn:
            await upload_store.insert_upload(conn, row)
        return row

    # -- read -----------------------------------------------------------------------------

    async def get(self, principal: Principal, upload_id: str) -> dict[str, Any]:
        """The row, reconciled with the partial file when no one writes it."""
        row = await self._row(principal, upload_id)
        if row["status"] != OPEN:
            return row
        with contextlib.suppress(Locked, FileNotFoundError), self._locked(upload_id) as handle:
            row = await self._reconcile(row, handle)
        return row

    async def _row(self, principal: Principal, upload_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            found = await upload_store.get_upload(conn, upload_id, tenant=principal.scope)
        if found is None:
            raise NotFound(f"no upload {upload_id}")
        row = found
        if row["status"] in (TERMINATED, EXPIRED) or (
            row["status"] == OPEN and row["expires_at"] < time.time()
        ):
            raise Gone(f"upload {upload_id} is {row['status']} (or expired)")
        return row

    # -- append ---------------------------------------------------------------------------

    async def append(
        self,
        principal: Principal,
        upload_id: str,
        *,
        offset: int,
        body: AsyncIterator[bytes],
        checksum: Checksum | None = None,
        length: int | None = None,
        content_length: int | None = None,
    ) -> dict[str, Any]:
        """Append ``body`` at ``offset``: the PATCH (and creation-with-upload) of tus."""
        principal.require_write()
        row = await self._row(principal, upload_id)
        if row["status"] == COMPLETE:
            if offset == row["offset"] and not content_length:
                return row
            raise OffsetMismatch(f"the upload is complete at offset {row['offset']}")
        try:
            lock = self._locked(upload_id)
            handle = lock.__enter__()
        except FileNotFoundError:  # renamed into the blob store; the finish is pending
            return await self._finish(principal, row, None)
        try:
            row = await self._reconcile(row, handle)
            if row["sha256"]:
                return await self._finish(principal, row, None)
            if offset != row["offset"]:
                raise OffsetMismatch(
                    f"Upload-Offset {offset} does not match the server's {row['offset']}"
                )
            row = await self._set_length(row, length)
            limit = row["length"] if row["length"] is not None else (await self._limit(row)).size
            if content_length is not None and offset + content_length > limit:
                raise PayloadTooLarge(f"{offset + content_length} bytes would pass {limit}")
            hasher = await self._hasher(upload_id, handle, offset)
            row = await self._receive(row, handle, hasher, body, checksum, limit, content_length)
            if row["length"] is not None and row["offset"] == row["length"]:
                return await self._finish(principal, row, self._hashes.get(upload_id))
            return row
        finally:
            lock.__exit__(None, None, None)

    async def _receive(
        self,
        row: dict[str, Any],
        handle: IO[bytes],
        hasher: Any,
        body: AsyncIterator[bytes],
        checksum: Checksum | None,
        limit: int,
        content_length: int | None,
    ) -> dict[str, Any]:
        """Stream the body to the file; keep it (or, on a bad checksum, roll back).

        A body that ends before its ``Content-Length`` (the route ends it quietly when the
        client goes away) or with an error is a PATCH cut short: its row is always written."""
        start = row["offset"]
        base = hasher.copy()
        check = CHECKSUMS[checksum.algorithm]() if checksum else None
        sink = HashingSink(handle, [hasher] if check is None else [hasher, check], offset=start)
        progress = _Progress(self, row, self._saved_at.get(row["id"]))
        complete = False
        try:
            async for chunk in body:
                if start + sink.size + len(chunk) > limit:
                    raise PayloadTooLarge(f"the body goes past {limit} bytes")
                await sink.write(chunk)
                await progress.maybe(start + sink.size)
            complete = True
        except PayloadTooLarge:
            await sink.settle()
            await self._rollback(row, handle, base)
            raise
        except BaseException:
            # The client went away (ClientDisconnect) or we are stopping: keep what arrived.
            with contextlib.suppress(Exception):
                await sink.finish()
            if check is not None:  # a checksum covers the whole body: an unfinished one can't
                await self._rollback(row, handle, base)
                raise
            handle.flush()
            await self._save(row, start + sink.size, hasher, progress, early=True)
            raise
        await sink.finish()
        handle.flush()
        if check is not None and checksum is not None and check.digest() != checksum.digest:
            await self._rollback(row, handle, base)
            raise ChecksumMismatch(f"the body's {checksum.algorithm} does not match")
        short = not complete or (content_length is not None and sink.size < content_length)
        return await self._save(row, start + sink.size, hasher, progress, early=short)

    async def _rollback(self, row: dict[str, Any], handle: IO[bytes], base: Any) -> None:
        handle.flush()
        handle.truncate(row["offset"])
        self._remember(row["id"], row["offset"], base)

    async def _save(
        self, row: dict[str, Any], offset: int, hasher: Any, progress: _Progress, *, early: bool
    ) -> dict[str, Any]:
        """The PATCH's body is over: remember the hash; write the row and a final progress event
        if the upload is complete, the body ended early or the last write is old enough."""
        self._remember(row["id"], offset, hasher)
        if early or offset == row["length"] or progress.due():
            await progress.write(offset, final=True)
        if progress.saved:
            self._saved_at[row["id"]] = progress.last
        return {**row, "offset": offset, "expires_at": progress.expires_at}

    async def _set_length(self, row: dict[str, Any], length: int | None) -> dict[str, Any]:
        if length is None:
            return row
        if row["length"] is not None:
            if row["length"] != length:
                raise BadRequest("Upload-Length cannot change once set")
            return row
        limit = await self._limit(row)
        if length > limit.size:
            raise limit.refusal(row["filename"], length)
        if length < row["offset"]:
            raise BadRequest("Upload-Length is below the bytes already received")
        async with self.db.write() as conn:
            await upload_store.set_upload_length(conn, row["id"], length)
        return {**row, "length": length}

    async def _limit(self, row: dict[str, Any]) -> UploadLimit:
        """The upload's job's limit (read when an upload's length is deferred: a rare case)."""
        async with self.db.read() as conn:
            job = await get_job(conn, row["job_id"], None)
        return upload_limit(job or {}, self.max_size)

    async def max_size_for(self, upload_id: str) -> int:
        """What ``Tus-Max-Size`` says for this upload: its job's limit (the server's when the
        upload is unknown: ``OPTIONS`` needs no key and tells nothing else)."""
        async with self.db.read() as conn:
            row = await upload_store.get_upload(conn, upload_id, tenant=None)
            job = await get_job(conn, row["job_id"], None) if row is not None else None
        return upload_limit(job or {}, self.max_size).size

    async def _reconcile(self, row: dict[str, Any], handle: IO[bytes]) -> dict[str, Any]:
        """Under the lock: make the row's offset the size of the partial file."""
        size = os.fstat(handle.fileno()).st_size
        if row["length"] is not None and size > row["length"]:
            handle.truncate(row["length"])
            size = row["length"]
        if size == row["offset"]:
            return row
        cached = self._hashes.get(row["id"])
        if cached is not None and cached[0] == size:
            return {**row, "offset": size}  # our own PATCH left the row behind on purpose
        async with self.db.write() as conn:
            await upload_store.set_upload_offset(conn, row["id"], size)
        return {**row, "offset": size}

    async def _hasher(self, upload_id: str, handle: IO[bytes], offset: int) -> Any:
        cached = self._hashes.get(upload_id)
        if cached is not None and cached[0] == offset:
            return cached[1]
        return await asyncio.to_thread(_hash_prefix, handle.fileno(), offset)

    def _remember(self, upload_id: str, offset: int, hasher: Any) -> None:
        self._hashes[upload_id] = (offset, hasher)
        self._hashes.move_to_end(upload_id)
        while len(self._hashes) > HASH_CACHE:
            self._saved_at.pop(self._hashes.popitem(last=False)[0], None)

    def _forget(self, upload_id: str) -> None:
        self._hashes.pop(upload_id, None)
        self._saved_at.pop(upload_id, None)

    # -- finish ---------------------------------------------------------------------------

    async def _finish(
        self, principal: Principal, row: dict[str, Any], cached: tuple[int, Any] | None
    ) -> dict[str, Any]:
        """Every byte is in: check the whole-file sha256, adopt the blob, queue the job file."""
        upload_id = row["id"]
        partial = self.partial(upload_id)
        digest = row["sha256"]
        if digest is None:
            if cached is not None and cached[0] == row["offset"]:
                digest = cached[1].hexdigest()
            else:
                digest = (await asyncio.to_thread(_hash_file, partial, row["offset"])).hexdigest()
            if row["expected_sha256"] and row["expected_sha256"] != digest:
                await self._end(upload_id, TERMINATED)
                raise ChecksumMismatch(
                    f"the upload's sha256 is {digest}, not the {row['expected_sha256']} announced"
                )
            async with self.db.write() as conn:
                await upload_store.set_upload_sha256(conn, upload_id, digest)
        if partial.exists():
            # a rename (local store) or a streaming multipart upload (S3), then the partial goes
            blob = await run_blob_io(self.blobs, self.blobs.adopt, partial, digest, row["offset"])
        else:  # adopted before a crash: only the rows are left to write
            blob = BlobInfo(key=digest, size=row["offset"])
        self._forget(upload_id)
        stored = StoredFile(row["filename"], blob, {**row["metadata"], "upload_id": upload_id})
        async with self.db.write() as conn:
            if await upload_store.complete_upload(conn, upload_id, now=time.time()):
                owner = Principal(principal.key_id, row["tenant"], principal.role)
                files = await register_blobs(
                    self.db, self.blobs, owner, row["job_id"], [stored], seal=False, conn=conn
                )
                await upload_store.set_upload_file(conn, upload_id, files[0]["id"])
                row = {**row, "file_id": files[0]["id"]}
        self.db.signals.work_queued()
        return {**row, "status": COMPLETE, "sha256": digest}

    # -- terminate and expire -------------------------------------------------------------

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        principal.require_write()
        row = await self._row(principal, upload_id)
        if row["status"] == OPEN:
            with contextlib.suppress(FileNotFoundError), self._locked(upload_id):
                self.partial(upload_id).unlink(missing_ok=True)
        await self._end(upload_id, TERMINATED)

    async def _end(self, upload_id: str, status: str) -> None:
        self._forget(upload_id)
        self.partial(upload_id).unlink(missing_ok=True)
        async with self.db.write() as conn:
            await upload_store.end_upload(conn, upload_id, status, now=time.time())

    async def expire(self, *, now: float | None = None, batch: int = 200) -> int:
        """Remove expired unfinished uploads (their partial files); skip any being written."""
        now = time.time() if now is None else now
        async with self.db.read() as conn:
            ids = await upload_store.expired_upload_ids(conn, now=now, limit=batch)
        removed = 0
        for upload_id in ids:
            try:
                with self._locked(upload_id):
                    await self._end(upload_id, EXPIRED)
                    removed += 1
            except Locked:
                continue
            except FileNotFoundError:
                await self._end(upload_id, EXPIRED)
                removed += 1
        return removed

    # -- locking --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, upload_id: str) -> Iterator[IO[bytes]]:
        """The partial file, opened for writing under an exclusive, non-blocking flock."""
        handle = open(self.partial(upload_id), "r+b")  # noqa: SIM115 - closed below
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Locked(f"upload {upload_id} is being written by another request") from None
            yield handle
        finally:
            handle.close()  # closing drops the flock


class TusExpiry(PeriodicService):
    """Removes expired unfinished uploads every ``tus_cleanup_seconds`` (the first sweep at
    start: uploads that expired while no server ran)."""

    name = "tus-expiry"
    logger = log

    def __init__(self, service: TusService) -> None:
        super().__init__()
        self.service = service
        self.every = service.settings.tus_cleanup_seconds

    async def tick(self) -> None:
        removed = await self.service.expire()
        if removed:
            log.info("removed %d expired upload(s)", removed)


class _Progress:
    """``upload.progress`` events (with the row's offset) at most every ``interval`` s per upload,
    counting from the last one of the upload's previous PATCH in this process (``saved_at``)."""

    def __init__(self, service: TusService, row: dict[str, Any], saved_at: float | None) -> None:
        self.service = service
        self.row = row
        self.interval = service.settings.tus_progress_seconds
        self.started = time.monotonic()
        self.start_offset = row["offset"]
        self.last = self.started if saved_at is None else saved_at
        self.saved = saved_at is not None  # whether this process has written the row yet
        self.expires_at = row["expires_at"]

    def due(self) -> bool:
        return not self.saved or time.monotonic() - self.last >= self.interval

    async def maybe(self, offset: int) -> None:
        if time.monotonic() - self.last >= self.interval:
            await self.write(offset, final=False)

    async def write(self, offset: int, *, final: bool) -> None:
        now = time.monotonic()
        self.last = now
        self.saved = True
        elapsed = max(now - self.started, 1e-6)
        rate = (offset - self.start_offset) / elapsed
        length = self.row["length"]
        eta = (length - offset) / rate if length is not None and rate > 0 else None
        wall = time.time()
        self.expires_at = wall + self.service.settings.tus_expiry_seconds
        data = {
            "upload_id": self.row["id"],
            "offset": offset,
            "length": length,
            "bytes_per_second": round(rate, 1),
            "eta_seconds": round(eta, 3) if eta is not None else None,
            "final": final,
        }
        async with self.service.db.write() as conn:
            await upload_store.set_upload_offset(
                conn, self.row["id"], offset, expires_at=self.expires_at, now=wall
            )
            await append_event(
                conn,
                tenant=self.row["tenant"],
                type=EventType.UPLOAD_PROGRESS,
                job_id=self.row["job_id"],
                data=data,
            )


def _hash_file(path: Path, length: int) -> Any:
    with open(path, "rb") as handle:
        return _hash_prefix(handle.fileno(), length)


def _hash_prefix(fd: int, length: int) -> Any:
    """sha256 of the first ``length`` bytes of the open file ``fd`` (re-hash on resume)."""
    digest = hashlib.sha256()
    done = 0
    while done < length:
        block = os.pread(fd, min(READ * 8, length - done), done)
        if not block:
            break
        digest.update(block)
        done += len(block)
    return digest
