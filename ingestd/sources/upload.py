"""``upload`` sources: files sent to the API (multipart or tus) become blobs, and the API lists
them itself as they arrive; this adapter only materialises their blobs (shared with ``zip``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from ingestd.blobs.base import BlobStore
from ingestd.domain.refs import BlobRef, FileRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.port import FetchLimits, LocalFile, SourceContext, downloaded


@contextlib.asynccontextmanager
async def materialise_blob(blobs: BlobStore, ref: FileRef) -> AsyncIterator[LocalFile]:
    """A blob of a local (or shared-mount) store is opened in place; one in a remote store is
    downloaded, streaming, to a temporary file that is removed after."""
    if not isinstance(ref, BlobRef):
        raise TypeError(f"not a blob reference: {ref!r}")
    if blobs.is_local:
        yield LocalFile(Path(blobs.locate(ref.key)))
        return
    async with downloaded(blobs.tmp_dir(), lambda out: blobs.fetch(ref.key, out)) as path:
        yield LocalFile(path)


class UploadSource:
    type = "upload"
    ref_kinds: tuple[str, ...] = ("blob",)

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        return spec

    @staticmethod
    def describe(spec: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        return iter(())  # files arrive through the API, which lists them as they land

    def is_remote(self, ref: FileRef) -> bool:
        return not self.context.blob_store().is_local

    def materialise(
        self, ref: FileRef, limits: FetchLimits
    ) -> contextlib.AbstractAsyncContextManager[LocalFile]:
        return materialise_blob(self.context.blob_store(), ref)
