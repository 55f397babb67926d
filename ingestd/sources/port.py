"""The source port: what the worker and the API need of any kind of source.

One adapter per source type (``upload``, ``directory``, ``zip``, ``url``, ``s3``, and any
connector an installed package adds: see ``registry.py`` and docs/sources.md). An adapter

- **checks** a job's source spec when the job is created, and returns the spec to keep;
- **lists** the spec's entries (one per file, each with a typed reference to its bytes);
- **materialises** one of its references into a local file the pipeline can open, for as long
  as the file is being processed (opened in place when it already is one: no copy);
- **describes** a stored spec for the API (no server paths, no secrets).

Listing and checking are synchronous (file system and SDK calls): the worker runs them in a
thread. Materialising is async: downloads stream without blocking the worker's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ingestd.blobs.base import BlobStore
from ingestd.config import Settings
from ingestd.domain.errors import FileError, Unavailable
from ingestd.domain.refs import FileRef
from ingestd.domain.work import SourceEntry

Progress = Callable[[int, int | None], None]  # (bytes received, bytes declared or None)


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What an adapter may use: the server's settings and, in a worker, its blob store (an API
    process only checks specs: it builds adapters without one)."""

    settings: Settings
    blobs: BlobStore | None = None

    def blob_store(self) -> BlobStore:
        if self.blobs is None:
            raise RuntimeError("this source context has no blob store (only a worker's has one)")
        return self.blobs


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What bounds one materialisation: the job's ``max_file_size`` and the time the file has
    left; ``on_progress`` hears how a download goes (the file's ``downloading`` step)."""

    max_bytes: int | None
    seconds_left: float
    on_progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file's bytes on local disk, for the pipeline to open. ``name`` is a better name for the
    file learnt on the way (a server's ``Content-Disposition``), if any."""

    path: Path
    name: str | None = None


class Source(Protocol):
    """An adapter of one source type, built with a :class:`SourceContext`. See the module
    docstring; ``registry.py`` finds adapters (classes) by type."""

    type: str  # the ``type`` of the job's source spec: "directory", "s3", "gdrive"…
    ref_kinds: tuple[str, ...]  # the kinds of reference it materialises (domain/refs.py)

    def __init__(self, context: SourceContext) -> None: ...

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        """The spec to store for a new job's source ``index``; ``BadRequest`` saying what is
        wrong (prefix the field with ``sources[index].``)."""
        ...

    @staticmethod
    def describe(spec: Mapping[str, Any]) -> dict[str, Any]:
        """The stored spec as the API shows it, without its ``type`` (no context needed: a
        job is shown by any process)."""
        ...

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        """Every file of the source, lazily; ``SourceError`` when the source as a whole fails.
        A file that cannot be taken is an entry with ``error`` (listed as failed), never
        silently left out."""
        ...

    def is_remote(self, ref: FileRef) -> bool:
        """Whether materialising ``ref`` downloads its bytes (the worker bounds how many
        downloads run at once)."""
        ...

    def materialise(
        self, ref: FileRef, limits: FetchLimits
    ) -> AbstractAsyncContextManager[LocalFile]:
        """The bytes of ``ref`` as a local file, removed (if it was a copy) on the way out.
        ``FileError`` when they cannot be had (``not_found``, ``too_large``, a retryable
        ``access_error``…)."""
        ...


class BaseSource:
    """What most adapters do the same way; a built-in adapter subclasses this (a connector may).

    It keeps the context, stores a spec as it came, shows it without its ``type``, and counts
    its files as remote (their bytes are downloaded before they are read)."""

    type: str = ""
    ref_kinds: tuple[str, ...] = ()

    def __init__(self, context: SourceContext) -> None:
        self.context = context

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        return spec

    @staticmethod
    def describe(spec: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in spec.items() if k != "type"}

    def is_remote(self, ref: FileRef) -> bool:
        return True


@contextlib.asynccontextmanager
async def downloaded(
    tmp_dir: Path, write: Callable[[BinaryIO], object], *, prefix: str = "fetch-"
) -> AsyncIterator[Path]:
    """Run the blocking ``write`` (it streams the bytes into the open file it is given) in a
    thread, into a new temporary file under ``tmp_dir``; yield its path and remove it after.
    An unreachable blob store is a retryable ``blob_unavailable``."""
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=prefix)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                await asyncio.to_thread(write, out)
            except Unavailable as exc:
                raise FileError("blob_unavailable", exc.detail, retryable=True) from None
        yield path
    finally:
        path.unlink(missing_ok=True)  # noqa: ASYNC240 - our own temp file, no waiting
