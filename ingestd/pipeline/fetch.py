"""The fetch stage: make a claimed file's bytes a local file the other stages can open.

Most files already are one — a directory source's file, or a blob of a local (or shared-mount)
blob store — and are opened in place: no copy. Two kinds are not: a blob in a remote store
(an upload received by an API process on another machine) and an object of an ``s3`` source.
Those are downloaded, streaming, into a temporary file under the blob store's local staging
directory, and the file is removed when the work is done, whatever happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from ingestd.blobs.base import BlobStore
from ingestd.config import Settings
from ingestd.domain.errors import FileError, Unavailable
from ingestd.queue.claims import ClaimedFile
from ingestd.sources.s3 import S3ObjectRef, download_object, is_s3_uri, source_client

Download = Callable[[BinaryIO], object]


class Fetcher:
    def __init__(self, settings: Settings, blobs: BlobStore) -> None:
        self.settings = settings
        self.blobs = blobs

    def remote(self, claimed: ClaimedFile) -> Download | None:
        """How to download the file's bytes, or None when they can be opened in place."""
        if claimed.blob_key and not self.blobs.is_local:
            key = claimed.blob_key
            return lambda out: self.blobs.fetch(key, out)
        if is_s3_uri(claimed.local_path):
            assert claimed.local_path is not None
            ref = S3ObjectRef.parse(claimed.local_path)
            limit = claimed.options.get("max_file_size")
            client = source_client(ref.endpoint_url, self.settings.s3_region)
            return lambda out: download_object(client, ref, out, limit=limit)
        return None

    @contextlib.asynccontextmanager
    async def local_copy(
        self, claimed: ClaimedFile, download: Download
    ) -> AsyncIterator[ClaimedFile]:
        """Download into a temporary file and yield ``claimed`` pointing at it; the file is
        removed on the way out. Failures are ``FileError`` (an unreachable store: retryable)."""
        import asyncio

        fd, name = tempfile.mkstemp(dir=self.blobs.tmp_dir(), prefix="fetch-")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    await asyncio.to_thread(download, out)
                except Unavailable as exc:
                    raise FileError("blob_unavailable", exc.detail, retryable=True) from None
            yield dataclasses.replace(claimed, local_path=str(path))
        finally:
            path.unlink(missing_ok=True)  # noqa: ASYNC240 - our own temp file, no waiting


__all__ = ["Fetcher"]
