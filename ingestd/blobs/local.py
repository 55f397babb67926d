"""Blobs in a local directory (the embedded default; a shared mount when scaled out).

Writes stream to a temporary file in the same directory while hashing, then rename into place,
so a crash never leaves a half-written blob under a real key and memory stays flat. Workers open
blobs in place (``is_local``): the local path never pays for a copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from ingestd.blobs.base import BlobInfo, check_key
from ingestd.domain.errors import FileError

CHUNK = 1024 * 1024  # bytes read or written at a time


class LocalBlobStore:
    is_local = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def describe(self) -> str:
        return str(self.root.resolve())

    def ensure(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        self.ensure()
        probe = self._tmp / ".ready"
        probe.write_bytes(b"ok")
        probe.unlink()

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
        if not target.exists():
            tmp = self.tmp_dir() / f"{sha256}.{os.getpid()}.part"
            shutil.copyfile(path, tmp)
            return self.adopt(tmp, sha256, tmp.stat().st_size)
        return BlobInfo(key=sha256, size=target.stat().st_size)

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

    def _commit(self, tmp: Path, key: str, size: int) -> BlobInfo:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink(missing_ok=True)  # same content already stored
        else:
            os.replace(tmp, final)
        return BlobInfo(key=key, size=size)


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


__all__ = ["BlobInfo", "LocalBlobStore", "spool_chunks"]
