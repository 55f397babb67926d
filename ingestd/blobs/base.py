"""The blob-store port: content-addressed bytes (key = sha256 hex), wherever they live.

Two adapters: :class:`~ingestd.blobs.local.LocalBlobStore` (a directory: the embedded default,
or a shared mount when scaled out) and :class:`~ingestd.blobs.s3.S3BlobStore` (S3-compatible
object storage, behind the ``ingestd[s3]`` extra). Callers never need to know which: writes go
through ``write_chunks`` / ``adopt`` / ``put_file``, reads through ``fetch`` — except that a worker
opens a *local* blob in place (``is_local``) instead of copying it, so local mode costs nothing
extra.

Every method is synchronous (file and network I/O): async callers run them in a thread, or
inline for a local store where they are a rename away (:func:`run_blob_io`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol, TypeVar

from ingestd.observe.metrics import BLOB_SECONDS

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str  # the sha256 hex digest
    size: int  # bytes


class StoredBlob(NamedTuple):
    """One blob as listed by :meth:`BlobStore.iter_blobs` (for the garbage collector)."""

    key: str  # the sha256 hex digest
    size: int  # bytes
    modified: float  # when it was last written or reused: seconds since the epoch (UTC)


class BlobStoreConfigError(Exception):
    """The blob store cannot be used as configured (bad ``blob_url``, missing extra)."""


def check_key(key: str) -> str:
    """A blob key is a lowercase sha256 hex digest; anything else is a bug or an attack."""
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobStore(Protocol):
    """Where blob bytes live. Keys are sha256 hex digests, so a write of the same bytes twice
    stores them once and every write is idempotent (a crash mid-way is redone, never corrupts)."""

    # A local directory this process owns: the blobs themselves (local store), or only the
    # staging area for partial writes, tus partial uploads and fetched copies (remote store).
    root: Path
    # True when blobs are files a worker can open in place: no fetch, no copy.
    is_local: bool
    # A write that finds its blob already stored makes it young again (its ``modified`` time
    # becomes now) when it is older than this many seconds, so that the garbage collector,
    # which deletes only blobs older than its grace period, cannot take a blob that a file row
    # is about to name. 0 = always (a local ``utime``); S3 pays a server-side copy, so it
    # refreshes only blobs that are at least this old. The grace period must exceed it.
    refresh_after: float

    def describe(self) -> str:
        """Where the blobs are, for humans (no secrets): a path or ``s3://bucket/prefix``."""
        ...

    def ensure(self) -> None:
        """Create the local directories this store needs."""
        ...

    def tmp_dir(self) -> Path:
        """A local directory for temporary files that may later be ``adopt``-ed."""
        ...

    def check(self) -> None:
        """Raise if the store cannot be written to now (readiness)."""
        ...

    def exists(self, key: str) -> bool: ...

    def locate(self, key: str) -> str:
        """Where this blob is, as text: its path in a local store (a worker opens it there)."""
        ...

    def write_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> BlobInfo:
        """Store the bytes of ``chunks`` while hashing them; ``FileError("too_large")`` past
        ``limit`` bytes (nothing is stored then)."""
        ...

    def write_file(self, source: BinaryIO, *, limit: int | None = None) -> BlobInfo:
        """Copy an open binary stream into the store."""
        ...

    def adopt(self, tmp_path: Path, sha256: str, size: int) -> BlobInfo:
        """Take an already hashed file written under ``tmp_dir()`` (it is consumed)."""
        ...

    def put_file(self, path: Path, sha256: str) -> BlobInfo:
        """Copy a file that must stay where it is (a source file) into the store."""
        ...

    def fetch(self, key: str, out: BinaryIO) -> None:
        """Write the blob's bytes into ``out`` (an open local file), streaming;
        ``FileError("not_found")`` when the store has no such blob."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob unconditionally (nothing happens when it is missing)."""
        ...

    def iter_blobs(self, older_than: float) -> Iterator[StoredBlob]:
        """Every stored blob last written or reused before ``older_than`` (seconds since the
        epoch), in no particular order; other files in the store (staging, partial uploads)
        are never listed. Lazily: a store of millions of blobs is never held in memory."""
        ...

    def delete_stale(self, key: str, older_than: float) -> int | None:
        """Delete the blob if it is still older than ``older_than``, and return its size.
        ``None`` (nothing deleted) when it is missing — another sweeper took it — or was
        written or reused since it was listed. Safe to call from several processes at once."""
        ...


async def run_blob_io(blobs: BlobStore, fn: Callable[..., T], /, *args: object) -> T:
    """Run a blob-store call from async code: inline for a local store (a rename or a stat, as
    before there was a port), in a thread for a remote one (network round trips)."""
    with BLOB_SECONDS.labels(getattr(fn, "__name__", "call")).time():
        if blobs.is_local:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)
