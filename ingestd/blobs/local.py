"""Blobs in a local directory (the embedded default; a shared mount when scaled out).

Writes stream to a temporary file in the same directory while hashing, then rename into place,
so a crash never leaves a half-written blob under a real key and memory stays flat. Workers open
blobs in place (``is_local``): the local path never pays for a copy.

A blob's mtime is its age for the garbage collector (:mod:`ingestd.services.blob_gc`): a write
that finds its blob stored already sets it to now (``utime``), and the collector deletes a blob
by first renaming it aside and checking its mtime again, so a write racing the delete either
refreshed the blob before the rename (the collector sees it young and puts it back) or finds
it gone and stores it anew.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ingestd.blobs.base import BlobInfo, StoredBlob, check_key
from ingestd.domain.errors import FileError

CHUNK = 1024 * 1024  # bytes read or written at a time
_HEX2 = re.compile(r"^[0-9a-f]{2}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")
_SET_ASIDE = re.compile(r"^([0-9a-f]{64})\.gc-[0-9a-f]+$")
# A blob set aside by a collector that then died (between its rename and its decision) is put
# back by the next listing once it has been aside this long (seconds; a decision takes µs).
SET_ASIDE_RECOVERY = 600.0


class LocalBlobStore:
    is_local = True
    refresh_after = 0.0  # a utime costs nothing: every reuse refreshes

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def describe(self) -> str:
        return str(self.root.resolve())

    def ensure(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        self.ensure()
        probe = self._tmp / f".ready-{os.getpid()}"
        payload = os.urandom(16)
        probe.write_bytes(payload)  # write, read back, delete (the storage monitor's probe)
        try:
            if probe.read_bytes() != payload:
                raise OSError(errno.EIO, "the probe read back differs from what was written")
        finally:
            probe.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """Where the blob with this key lives (it may not exist)."""
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def locate(self, key: str) -> str:
        return str(self.path(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def write_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> BlobInfo:
        """Store the bytes of ``chunks``; refuse (``too_large``) past ``limit`` bytes."""
        tmp, blob = spool_chunks(chunks, self.tmp_dir(), limit=limit)
        try:
            return self._commit(tmp, blob.key, blob.size)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write_file(self, source: BinaryIO, *, limit: int | None = None) -> BlobInfo:
        """Copy an open binary stream into the store."""
        return self.write_chunks(iter(lambda: source.read(CHUNK), b""), limit=limit)

    def adopt(self, tmp_path: Path, sha256: str, size: int) -> BlobInfo:
        """Move an already hashed file (written under ``tmp_dir()``) into place."""
        return self._commit(tmp_path, sha256, size)

    def put_file(self, path: Path, sha256: str) -> BlobInfo:
        """Copy a source file in (the ``store`` pipeline), unless the same bytes are stored."""
        target = self.path(sha256)
        if _refresh(target):
            return BlobInfo(key=sha256, size=target.stat().st_size)
        tmp = self.tmp_dir() / f"{sha256}.{os.getpid()}.part"
        shutil.copyfile(path, tmp)
        return self.adopt(tmp, sha256, tmp.stat().st_size)

    def fetch(self, key: str, out: BinaryIO) -> None:
        try:
            with open(self.path(key), "rb") as source:
                shutil.copyfileobj(source, out, CHUNK)
        except FileNotFoundError:
            raise FileError(
                "not_found", f"blob {key} is missing from {self.describe()}", retryable=False
            ) from None

    def tmp_dir(self) -> Path:
        self.ensure()
        return self._tmp

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def iter_blobs(self, older_than: float) -> Iterator[StoredBlob]:
        """Blobs under ``ab/cd/`` with an mtime before ``older_than``; ``tmp/`` and
        ``uploads/`` (staging, tus partials) are never looked at. Puts back blobs that a dead
        collector left set aside (see :meth:`delete_stale`)."""
        for top in _subdirs(self.root):
            for mid in _subdirs(top):
                yield from self._blobs_in(mid, older_than)

    def _blobs_in(self, folder: Path, older_than: float) -> Iterator[StoredBlob]:
        prefix = folder.parent.name + folder.name
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if not _KEY.match(entry.name):
                self._recover(folder, entry.name)
                continue
            if not entry.name.startswith(prefix):
                continue  # not where the layout would put it: not ours
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted meanwhile (another collector)
            if stat.st_mtime < older_than:
                yield StoredBlob(entry.name, stat.st_size, stat.st_mtime)

    def delete_stale(self, key: str, older_than: float) -> int | None:
        """Delete the blob if its mtime is still before ``older_than``; returns its size.

        The blob is renamed aside first (atomic), then its mtime is read again: a writer that
        refreshed it (``utime``) before the rename shows up now, and the blob is put back; a
        writer that comes after the rename finds no blob and stores the bytes anew. So a blob
        whose reuse began before the sweep looked is never lost."""
        final = self.path(key)
        try:
            if final.stat().st_mtime >= older_than:
                return None
            aside = final.with_name(f"{key}.gc-{secrets.token_hex(6)}")
            os.rename(final, aside)
        except FileNotFoundError:
            return None  # gone already: another collector, or a plain delete
        stat = aside.stat()
        if stat.st_mtime >= older_than:
            os.replace(aside, final)  # reused meanwhile; the same bytes if it was rewritten too
            return None
        aside.unlink()
        return stat.st_size

    def _recover(self, folder: Path, name: str) -> None:
        match = _SET_ASIDE.match(name)
        if match is None:
            return
        aside = folder / name
        with contextlib.suppress(FileNotFoundError):  # its collector finished meanwhile
            if time.time() - aside.stat().st_ctime < SET_ASIDE_RECOVERY:
                return  # a live collector is deciding about it right now
            # Young again: it may replace a copy a writer just stored, whose age must not go
            # back; an unused one only waits one more grace period.
            os.utime(aside)
            os.replace(aside, folder / match.group(1))

    def _commit(self, tmp: Path, key: str, size: int) -> BlobInfo:
        final = self.path(key)
        if _refresh(final):
            tmp.unlink(missing_ok=True)  # same content already stored
            return BlobInfo(key=key, size=size)
        final.parent.mkdir(parents=True, exist_ok=True)
        # A tus partial may have been written long ago: its age starts now, not at its last byte.
        os.utime(tmp)
        os.replace(tmp, final)
        return BlobInfo(key=key, size=size)


def _refresh(path: Path) -> bool:
    """Mark a stored blob as just used (its mtime is its age for the collector): True when it
    exists. Set-and-test in one call, so a collector renaming it aside at the same moment
    either sees the new mtime after its rename or makes this fail (and the caller stores it)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def _subdirs(folder: Path) -> list[Path]:
    """The two-hex-digit directories of the blob layout (``ab/``, then ``ab/cd/``)."""
    try:
        return sorted(
            Path(e.path) for e in os.scandir(folder) if _HEX2.match(e.name) and e.is_dir()
        )
    except FileNotFoundError:
        return []


def spool_chunks(
    chunks: Iterable[bytes], tmp_dir: Path, *, limit: int | None = None
) -> tuple[Path, BlobInfo]:
    """Write ``chunks`` to a new temporary file in ``tmp_dir`` while hashing them; the caller
    adopts or removes it. Past ``limit`` bytes: ``FileError("too_large")``, nothing left behind."""
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise FileError("too_large", f"more than {limit} bytes")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Path(tmp_name), BlobInfo(key=digest.hexdigest(), size=size)


__all__ = ["BlobInfo", "LocalBlobStore", "StoredBlob", "spool_chunks"]
