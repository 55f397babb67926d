"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, R2, …), behind ``ingestd[s3]``.

boto3 is the client: it is what operators already configure (``AWS_*`` variables, profiles,
instance roles), and its transfer manager does streaming multipart uploads — a file is read in
parts, a few in flight, never whole in memory. boto3 is synchronous and its clients are
thread-safe: callers run these methods in threads (:func:`ingestd.blobs.base.run_blob_io`).

Objects are keyed ``<prefix><k[:2]>/<k[2:4]>/<k>`` by sha256, like the local layout. New bytes
are written to a local staging file while hashed (the key is only known at the end), then
uploaded; an object that already exists is not uploaded again, but when it is older than
``refresh_after`` it is copied onto itself (server-side), which makes its ``LastModified`` now:
that is its age for the garbage collector (:mod:`ingestd.services.blob_gc`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ingestd.blobs.base import BlobInfo, BlobStoreConfigError, StoredBlob, check_key
from ingestd.domain.errors import FileError, Unavailable

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from mypy_boto3_s3 import S3Client

READ_CHUNK = 1024 * 1024  # bytes per read of a downloaded object
PART_SIZE = 8 * 1024 * 1024  # multipart part size (s3transfer grows it past 10,000 parts)
PARALLEL_PARTS = 4  # parts in flight per upload: bounds memory to ~PART_SIZE * this
NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_LAYOUT = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
# A reused object is refreshed (a server-side copy: seconds for gigabytes) only when older than
# this, so dedup hits on recent blobs cost one HEAD; the collector's grace must exceed it.
REFRESH_AFTER = 3600.0  # seconds
COPY_IN_ONE = 5 * 1024**3  # bytes: S3's limit for one CopyObject; larger ones copy in parts
COPY_PART_SIZE = 512 * 1024 * 1024
EXTRA_HINT = "install the extra on every server and worker: pip install 'ingestd[s3]'"


class BlobStoreUnavailable(Unavailable):
    """The object store could not be reached, or refused us (503 at the API; files retry)."""


def require_boto3() -> Any:
    """The boto3 module, or a clear error naming the extra to install."""
    try:
        import boto3
    except ImportError:
        raise BlobStoreConfigError(
            f"S3 storage needs boto3, which is not installed; {EXTRA_HINT}"
        ) from None
    return boto3


def check_bucket(name: str) -> str:
    """S3 bucket naming rules (3-63 chars, lowercase letters, digits, dots, hyphens)."""
    if not _BUCKET.match(name) or ".." in name:
        raise ValueError(
            f"{name!r} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')"
        )
    return name


@dataclass(frozen=True, slots=True)
class S3Config:
    """How to reach an S3-compatible service. Credentials left ``None`` come from boto3's
    standard chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, instance roles)."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    addressing_style: str | None = None  # "path" or "virtual"; default: path with an endpoint


_session: Any = None
_session_lock = threading.Lock()


def make_client(config: S3Config) -> S3Client:
    """A thread-safe S3 client for ``config``."""
    boto3 = require_boto3()
    from botocore.config import Config

    style = config.addressing_style or ("path" if config.endpoint_url else "auto")
    s3_options: Any = {"addressing_style": style}
    options = Config(
        s3=s3_options,
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        # boto3 >= 1.36 adds CRC checksums to every upload; many S3-compatible servers reject
        # them. Integrity is ours anyway: every blob is re-hashed (sha256) when it is processed.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _session_lock:  # boto3 sessions are not thread-safe; one loads the models once
        global _session
        if _session is None:
            _session = boto3.session.Session()
        session = _session
        client: S3Client = session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            aws_session_token=config.session_token,
            config=options,
        )
    return client


def transfer_config() -> TransferConfig:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=PARALLEL_PARTS,
        io_chunksize=READ_CHUNK,
    )


def copy_config() -> TransferConfig:
    """Server-side copies: one request up to S3's limit, big parts past it (no bytes travel
    through us, so part size costs no memory)."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=COPY_IN_ONE,
        multipart_chunksize=COPY_PART_SIZE,
        max_concurrency=PARALLEL_PARTS,
    )


def error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError (``NoSuchKey``, ``404``, …), else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) or None
    return None


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """botocore errors become ``BlobStoreUnavailable`` naming the operation (no stack traces,
    no credentials in messages); our own errors pass through."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise BlobStoreUnavailable(f"{what}: the object store answered {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise BlobStoreUnavailable(f"{what}: {exc}") from exc
    except Boto3Error as exc:  # the transfer manager's own (S3UploadFailedError, …)
        raise BlobStoreUnavailable(f"{what}: {_cause(exc)}") from exc


def _cause(exc: BaseException) -> str:
    """What broke a transfer, without its message (which names local paths): the S3 error code
    of the ClientError underneath, else the exception's type."""
    seen: BaseException | None = exc
    while seen is not None:
        code = error_code(seen)
        if code:
            return f"the object store answered {code}"
        seen = seen.__cause__ or seen.__context__
    match = re.search(r"An error occurred \((\w+)\)", str(exc))
    return f"the object store answered {match.group(1)}" if match else type(exc).__name__


class S3BlobStore:
    is_local = False
    refresh_after = REFRESH_AFTER

    def __init__(
        self,
        bucket: str,
        prefix: str,
        config: S3Config,
        staging: Path,
        *,
        client: S3Client | None = None,
    ) -> None:
        self.bucket = check_bucket(bucket)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.config = config
        self.root = staging
        self._tmp = staging / "tmp"
        self._client = client or make_client(config)
        self._transfer = transfer_config()
        self._copy = copy_config()

    def describe(self) -> str:
        where = f" at {self.config.endpoint_url}" if self.config.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def ensure(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def tmp_dir(self) -> Path:
        self.ensure()
        return self._tmp

    def check(self) -> None:
        self.ensure()
        with translated(f"checking bucket {self.bucket}"):
            self._client.head_bucket(Bucket=self.bucket)

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}{key[:2]}/{key[2:4]}/{key}"

    def locate(self, key: str) -> str:
        # Never opened as a path: workers fetch by blob_key when the store is not local.
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def _head(self, key: str) -> StoredBlob | None:
        from botocore.exceptions import ClientError

        with translated(f"looking up blob {key}"):
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=self.object_key(key))
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND:
                    return None
                raise
        return StoredBlob(key, int(head["ContentLength"]), head["LastModified"].timestamp())

    def write_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> BlobInfo:
        from ingestd.blobs.local import spool_chunks

        tmp, blob = spool_chunks(chunks, self.tmp_dir(), limit=limit)
        try:
            return self.adopt(tmp, blob.key, blob.size)
        finally:
            tmp.unlink(missing_ok=True)

    def write_file(self, source: BinaryIO, *, limit: int | None = None) -> BlobInfo:
        return self.write_chunks(iter(lambda: source.read(READ_CHUNK), b""), limit=limit)

    def adopt(self, tmp_path: Path, sha256: str, size: int) -> BlobInfo:
        self._upload(tmp_path, sha256)
        tmp_path.unlink(missing_ok=True)  # only once the object is safely stored
        return BlobInfo(key=sha256, size=size)

    def put_file(self, path: Path, sha256: str) -> BlobInfo:
        self._upload(path, sha256)
        return BlobInfo(key=sha256, size=path.stat().st_size)

    def _upload(self, path: Path, key: str) -> None:
        stored = self._head(key)
        if stored is not None and (  # same content already stored: young, or made young
            time.time() - stored.modified <= self.refresh_after or self._refresh(key)
        ):
            return
        with translated(f"storing blob {key}"):
            self._client.upload_file(
                str(path), self.bucket, self.object_key(key), Config=self._transfer
            )

    def _refresh(self, key: str) -> bool:
        """Copy the object onto itself so its ``LastModified`` is now (a reuse: the collector
        must not take it before the file row naming it commits); False when it is gone."""
        from botocore.exceptions import ClientError

        object_key = self.object_key(key)
        with translated(f"refreshing blob {key}"):
            try:
                # S3 refuses a self-copy that changes nothing: new metadata makes it legal.
                self._client.copy(
                    {"Bucket": self.bucket, "Key": object_key},
                    self.bucket,
                    object_key,
                    ExtraArgs={
                        "MetadataDirective": "REPLACE",
                        "Metadata": {"ingestd-reused-at": str(int(time.time()))},
                    },
                    Config=self._copy,
                )
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND:
                    return False  # a collector took it meanwhile: the caller uploads it
                raise
        return True

    def fetch(self, key: str, out: BinaryIO) -> None:
        from botocore.exceptions import ClientError

        with translated(f"reading blob {key}"):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self.object_key(key))
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND:
                    raise FileError(
                        "not_found", f"blob {key} is missing from {self.describe()}"
                    ) from None
                raise
            body = response["Body"]
            try:
                for chunk in body.iter_chunks(READ_CHUNK):
                    out.write(chunk)
            finally:
                body.close()

    def delete(self, key: str) -> None:
        with translated(f"deleting blob {key}"):
            self._client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def iter_blobs(self, older_than: float) -> Iterator[StoredBlob]:
        """Objects under the prefix in the blob layout with ``LastModified`` before
        ``older_than``, a page (1,000 keys) at a time; any other key is left alone."""
        paginator = self._client.get_paginator("list_objects_v2")
        with translated(f"listing blobs in {self.describe()}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    match = _LAYOUT.match(item["Key"][len(self.prefix) :])
                    if match is None or match.group(3)[:4] != match.group(1) + match.group(2):
                        continue
                    modified = item["LastModified"].timestamp()
                    if modified < older_than:
                        yield StoredBlob(match.group(3), int(item["Size"]), modified)

    def delete_stale(self, key: str, older_than: float) -> int | None:
        """HEAD, then DELETE if still older than ``older_than``. S3 has no conditional delete
        on age, so a reuse that refreshes the object between the two requests (milliseconds)
        is not seen; see docs/storage.md for why that window is acceptable."""
        stored = self._head(key)
        if stored is None or stored.modified >= older_than:
            return None
        self.delete(key)
        return stored.size


__all__ = [
    "BlobStoreUnavailable",
    "S3BlobStore",
    "S3Config",
    "check_bucket",
    "make_client",
    "require_boto3",
]
