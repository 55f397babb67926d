"""``upload`` sources: files sent to the API (multipart or tus) become blobs, and the API lists
them itself as they arrive; this adapter only materialises their blobs (as ``zip``'s does)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from ingestd.domain.refs import BlobRef, FileRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.port import BaseSource, FetchLimits, LocalFile, downloaded


class BlobSource(BaseSource):
    """Files whose bytes are blobs of the blob store: a local (or shared-mount) store's are
    opened in place; a remote store's are downloaded, streaming, to a temporary file."""

    ref_kinds: tuple[str, ...] = ("blob",)

    def is_remote(self, ref: FileRef) -> bool:
        return not self.context.blob_store().is_local

    @contextlib.asynccontextmanager
    async def materialise(self, ref: FileRef, limits: FetchLimits) -> AsyncIterator[LocalFile]:
        if not isinstance(ref, BlobRef):
            raise TypeError(f"not a blob reference: {ref!r}")
        blobs = self.context.blob_store()
        if blobs.is_local:
            yield LocalFile(Path(blobs.locate(ref.key)))
            return
        async with downloaded(blobs.tmp_dir(), lambda out: blobs.fetch(ref.key, out)) as path:
            yield LocalFile(path)


class UploadSource(BlobSource):
    type = "upload"

    @staticmethod
    def describe(spec: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        return iter(())  # files arrive through the API, which lists them as they land
