"""The stages of one file, as plain functions: run in a thread (inspect) or in the process pool
(parse + chunk, embed). They raise ``FileError`` for anything wrong with the file."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ingestd.blobs.base import BlobStore
from ingestd.domain.chunks import TEXT, ChunkData, with_embedding
from ingestd.domain.content import content_key
from ingestd.domain.documents import Chunk, Element
from ingestd.domain.errors import FileError, Unavailable
from ingestd.domain.options import JobOptions, OcrMode
from ingestd.domain.timings import StepTimes
from ingestd.pipeline.chunk import chunk_elements
from ingestd.pipeline.chunk_structure import chunk_by_units
from ingestd.pipeline.detect import detect_mime_type
from ingestd.pipeline.embedders import canonical_name
from ingestd.pipeline.extractors import EXTRACTOR_VERSION, can_extract, extract_document

HEAD_BYTES = 8192
READ_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Inspection:
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ParsedFile:
    elements: int
    chunks: list[ChunkData]
    pages: int = 0
    ocr_pages: int = 0
    # {step: [wall_ms, cpu_ms]} measured in the parser process: parsing, chunking, embedding.
    timings: dict[str, list[float]] = field(default_factory=dict)
    # The document as stored and served: ``ingestd.document/1`` JSON (docs/documents.md).
    document: bytes = b""


@dataclass(frozen=True, slots=True)
class Embedded:
    name: str
    dim: int
    vectors: list[bytes]
    timings: dict[str, list[float]] = field(default_factory=dict)


def inspect_file(
    local_path: str,
    name: str,
    *,
    max_file_size: int | None,
    allowed_types: Sequence[str],
    needs_extractor: bool,
) -> Inspection:
    """Access, detect by magic bytes, validate, and hash (streamed) one file."""
    try:
        handle = open(local_path, "rb")  # noqa: SIM115 - closed below, reads stream
    except FileNotFoundError:
        raise FileError(
            "not_found", "the file no longer exists at its source", retryable=False
        ) from None
    except OSError as exc:
        raise FileError(
            "access_error", f"cannot open the file: {exc.strerror}", retryable=True
        ) from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise FileError("empty_file", "the file is empty (0 bytes)")
        if max_file_size is not None and size > max_file_size:
            raise FileError(
                "too_large", f"the file is {size} bytes; the job allows at most {max_file_size}"
            )
        head = handle.read(HEAD_BYTES)
        mime_type = detect_mime_type(head, name)
        if needs_extractor and not can_extract(mime_type):
            raise FileError(
                "unsupported_type", f"no text can be extracted from {mime_type} content"
            )
        if allowed_types and not any(fnmatch.fnmatchcase(mime_type, t) for t in allowed_types):
            raise FileError(
                "type_not_allowed",
                f"type {mime_type} is not among the job's allowed types ({', '.join(allowed_types)})",
            )
        digest = hashlib.sha256(head)
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return Inspection(mime_type=mime_type, size=size, sha256=digest.hexdigest())


def content_key_of(sha256: str, pipeline: str, options: JobOptions) -> str:
    """The key of this content processed by this pipeline with these options, by the
    extractors of this version (``domain/content.py``)."""
    return content_key(
        sha256,
        pipeline,
        chunk_size=options.chunk_size,
        chunk_overlap=options.chunk_overlap,
        embedder=canonical_name(options.embedder),
        extractor_version=EXTRACTOR_VERSION,
        ocr=options.ocr,
        chunking=options.chunking,
        chunk_unit=options.chunk_unit,
        include_notes=options.include_notes,
    )


def copy_to_blob(local_path: str, blobs: BlobStore, sha256: str) -> str:
    """Keep the bytes (the ``store`` pipeline): copy into the content-addressed store (a local
    copy, or a streaming multipart upload to S3). Runs in a thread."""
    try:
        return blobs.put_file(Path(local_path), sha256).key
    except Unavailable as exc:  # the object store is down: this file tries again later
        raise FileError("blob_unavailable", exc.detail, retryable=True) from None


def store_document(document: bytes, blobs: BlobStore) -> str:
    """Keep the extracted document in the content-addressed store: the same document (a
    duplicate, a re-run) is one blob. Returns its key. Runs in a thread."""
    try:
        return blobs.write_chunks([document]).key
    except Unavailable as exc:  # the object store is down: this file tries again later
        raise FileError("blob_unavailable", exc.detail, retryable=True) from None


def parse_and_chunk(
    local_path: str,
    mime_type: str,
    chunk_size: int,
    chunk_overlap: int,
    embedding: tuple[bool, str | None] = (False, None),
    include_notes: bool = False,
    ocr: OcrMode = "auto",
    chunking: str = "size",
    chunk_unit: str = "chars",
) -> ParsedFile:
    """Extract the document and cut its body into chunks (speaker notes too with
    ``include_notes``); with ``embedding = (True, name)`` also embed them, saving a second trip
    through the pool. ``ocr`` is the job's ``options.ocr``. Runs in a pool process."""
    clock = StepTimes()  # this process's CPU, per step (usage and timings)
    with clock.process("parsing"):
        document = extract_document(Path(local_path), mime_type, ocr=ocr)
    elements = document.elements
    with clock.process("chunking"):
        chunks: list[ChunkData] = [
            (c.index, c.text, c.start, c.end, orjson.dumps(c.metadata).decode(), None, None, None)
            for c in cut(
                document.body(include_notes=include_notes),
                size=chunk_size,
                overlap=chunk_overlap,
                chunking=chunking,
                unit=chunk_unit,
            )
        ]
    wanted, embedder_name = embedding
    if wanted and chunks:
        with clock.process("embedding"):
            chunks = embed_chunks(chunks, embedder_name)
    pages = document.pages_by_source()
    return ParsedFile(
        elements=len(elements),
        chunks=chunks,
        pages=pages["total"],
        ocr_pages=pages["ocr"],
        timings=clock.as_dict(),
        document=orjson.dumps(document.to_dict()),
    )


def cut(
    elements: Sequence[Element], *, size: int, overlap: int, chunking: str, unit: str
) -> list[Chunk]:
    """The chunks of a document's body, by the job's ``chunking`` and ``chunk_unit``."""
    if chunking == "size" and unit == "chars":
        return chunk_elements(elements, size=size, overlap=overlap)
    try:
        return chunk_by_units(
            elements,
            size=size,
            overlap=overlap,
            unit="tokens" if unit == "tokens" else "chars",
            structure=chunking == "structure",
        )
    except ImportError as exc:  # a server without the tokens extra
        raise FileError("missing_extra", str(exc)) from None


def embed_chunks(chunks: Sequence[ChunkData], embedder_name: str | None) -> list[ChunkData]:
    """The chunks with their vectors."""
    name, dim, vectors = embed_texts([c[TEXT] for c in chunks], embedder_name)
    return [with_embedding(c, name, dim, v) for c, v in zip(chunks, vectors, strict=True)]


def embed_texts(texts: Sequence[str], embedder_name: str | None) -> tuple[str, int, list[bytes]]:
    """Vectors for chunk texts, as float32 bytes. Runs in a pool process."""
    # Here, not at the top: numpy and the embedders load in the parser processes that embed,
    # never in the worker's own process, which imports this module too.
    from ingestd.pipeline.embed import get_embedder, vector_to_bytes

    embedder = get_embedder(embedder_name)
    vectors = embedder.embed(list(texts))
    return embedder.name, embedder.dim, [vector_to_bytes(v) for v in vectors]


def embed_texts_timed(texts: Sequence[str], embedder_name: str | None) -> Embedded:
    """``embed_texts`` with the wall and CPU time it took in its pool process."""
    clock = StepTimes()
    with clock.process("embedding"):
        name, dim, vectors = embed_texts(texts, embedder_name)
    return Embedded(name=name, dim=dim, vectors=vectors, timings=clock.as_dict())
