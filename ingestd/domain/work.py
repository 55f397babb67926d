"""The units of work as the queue hands them out and takes them back: a claimed file and its
outcome, a claimed source. Plain records: the store builds them, the worker reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingestd.domain.chunks import ChunkData
from ingestd.domain.options import JobOptions
from ingestd.domain.refs import FileRef
from ingestd.domain.states import Pipeline


@dataclass(frozen=True, slots=True)
class ClaimedFile:
    """A file a worker holds under a lease: every write about it names ``lease_token``."""

    id: str
    job_id: str
    tenant: str
    source_index: int
    name: str
    path: str
    size: int
    mime_type: str | None
    sha256: str | None
    ref: FileRef | None  # where its bytes are; None only for a file listed as failed
    blob_key: str | None
    attempts: int
    lease_token: str
    pipeline: Pipeline
    options: JobOptions


@dataclass(slots=True)
class FileOutcome:
    """What processing a file produced, written when it completes."""

    mime_type: str | None
    sha256: str | None
    size: int
    blob_key: str | None = None
    # The extracted document's JSON in the blob store (its sha256), once stored.
    document_key: str | None = None
    elements: int = 0
    duration_ms: int = 0
    chunks: Sequence[ChunkData] = field(default_factory=list)
    # Its content as processed (domain/content.py), and whether the file holds its claim
    # (``skip_existing``): completing makes that claim ``completed``.
    content_key: str | None = None
    content_held: bool = False
    # What it cost and yielded, for usage (store/usage.py) and timings (store/timings.py):
    # pages by text source, vectors made, and per step ``{step: [wall_ms, cpu_ms]}``; the CPU
    # of the parser process is part of it (``parsing``, ``chunking``, ``embedding``).
    pages: int = 0
    ocr_pages: int = 0
    embeddings: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    # Tables that wait for a template mapping (docs/templates.md): ``{"table", "template_id",
    # "version"}`` each; any makes the file end ``needs_mapping``.
    needs_mapping: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClaimedSource:
    """A job's source that a worker lists into files, under a lease like a file's."""

    job_id: str
    index: int
    type: str
    spec: Mapping[str, Any]
    tenant: str
    priority_rank: int


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One file a source found.

    ``path`` is the display path (POSIX, relative to the source root or archive); ``ref`` says
    where the bytes are (see ``domain/refs.py``). An entry that was refused carries ``error`` =
    ``(code, message)`` and no ``ref``: it is still listed, as a failed file, never silently
    dropped.
    """

    name: str
    path: str
    size: int
    ref: FileRef | None
    error: tuple[str, str] | None = None
