"""The stages of one file, as plain functions: run in a thread (inspect) or in the process pool
(parse + chunk, embed). They raise ``FileError`` for anything wrong with the file."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from ingestd.blobs.base import BlobStore
from ingestd.domain.chunks import TEXT, ChunkData, with_embedding
from ingestd.domain.content import content_key
from ingestd.domain.errors import FileError, Unavailable
from ingestd.domain.options import JobOptions
from ingestd.pipeline.chunk import chunk_elements
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
    pages: dict[str, int] | None = None  # {"total", "text_layer", "ocr"} (metrics: PAGES)


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
    )


def copy_to_blob(local_path: str, blobs: BlobStore, sha256: str) -> str:
    """Keep the bytes (the ``store`` pipeline): copy into the content-addressed store (a local
    copy, or a streaming multipart upload to S3). Runs in a thread."""
    try:
        return blobs.put_file(Path(local_path), sha256).key
    except Unavailable as exc:  # the object store is down: this file tries again later
        raise FileError("blob_unavailable", exc.detail, retryable=True) from None


def parse_and_chunk(
    local_path: str,
    mime_type: str,
    chunk_size: int,
    chunk_overlap: int,
    embedding: tuple[bool, str | None] = (False, None),
    include_notes: bool = False,
) -> ParsedFile:
    """Extract the document and cut its body into chunks (speaker notes too with
    ``include_notes``); with ``embedding = (True, name)`` also embed them, saving a second trip
    through the pool. Runs in a pool process."""
    document = extract_document(Path(local_path), mime_type)
    elements = document.elements
    chunks: list[ChunkData] = [
        (c.index, c.text, c.start, c.end, orjson.dumps(c.metadata).decode(), None, None, None)
        for c in chunk_elements(
            document.body(include_notes=include_notes), size=chunk_size, overlap=chunk_overlap
        )
    ]
    wanted, embedder_name = embedding
    if wanted and chunks:
        chunks = embed_chunks(chunks, embedder_name)
    return ParsedFile(elements=len(elements), chunks=chunks, pages=document.pages_by_source())


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
