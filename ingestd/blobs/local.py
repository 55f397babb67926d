"""Blobs in a local directory (the embedded default; a shared mount when scaled out).

Writes stream to a temporary file in the same directory while hashing, then rename into place,
so a crash never leaves a half-written blob under a real key and memory stays flat.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingestd.domain.errors import FileError

CHUNK = 1024 * 1024  # bytes read or written at a time


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str  # the sha256 hex digest
    size: int  # bytes


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def ensure(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the blob with this key lives (it may not exist)."""
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def write_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> BlobInfo:
        """Store the bytes of ``chunks``; refuse (``too_large``) past ``limit`` bytes."""
        self.ensure()
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise FileError("too_large", f"more than {limit} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            return self._commit(Path(tmp_name), digest.hexdigest(), size)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def write_file(self, source: BinaryIO, *, limit: int | None = None) -> BlobInfo:
        """Copy an open binary stream into the store."""
        return self.write_chunks(iter(lambda: source.read(CHUNK), b""), limit=limit)

    def adopt(self, tmp_path: Path, sha256: str, size: int) -> BlobInfo:
        """Move an already hashed file (written under ``tmp_dir()``) into place."""
        return self._commit(tmp_path, sha256, size)

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
