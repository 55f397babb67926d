"""What makes two files the same work: their bytes, and everything that shapes their output.

With ``skip_existing`` a tenant's file is processed only if no other file with the same
:func:`content_key` was (or is being) processed: the key is the sha256 of the bytes together
with the pipeline and, where they matter, the chunking options, the embedder and the version of
the extractors. The same file sent again with another ``chunk_size`` is new work; the same file
sent to the ``store`` pipeline twice is not, whatever its chunking options say.

>>> a = content_key("ab" * 32, "full", chunk_size=1000, chunk_overlap=200, embedder="hash-384",
...                 extractor_version=1)
>>> a == content_key("ab" * 32, "full", chunk_size=500, chunk_overlap=200, embedder="hash-384",
...                  extractor_version=1)
False
>>> content_key("ab" * 32, "store", chunk_size=1000, chunk_overlap=200, embedder=None,
...             extractor_version=1) == content_key("ab" * 32, "store", chunk_size=50,
...             chunk_overlap=0, embedder="minilm", extractor_version=2)
True
"""

from __future__ import annotations

import hashlib
import json

KEY_FORMAT = 1  # bump when the shape below changes (stored keys then no longer match)


def content_key(
    sha256: str,
    pipeline: str,
    *,
    chunk_size: int,
    chunk_overlap: int,
    embedder: str | None,
    extractor_version: int,
    ocr: str = "auto",
    chunking: str = "size",
    chunk_unit: str = "chars",
    include_notes: bool = False,
) -> str:
    """A 64-hex-digit key for this content processed this way (see the module docstring).
    ``embedder`` is the embedder's resolved name (``hash-384`` for the default)."""
    shape: dict[str, object] = {"format": KEY_FORMAT, "sha256": sha256, "pipeline": pipeline}
    if pipeline != "store":  # the store pipeline keeps the bytes: nothing else shapes them
        shape.update(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap, extractor=extractor_version
        )
        if ocr != "auto":  # auto leaves the key of content ingested before the option as it was
            shape["ocr"] = ocr
        # Named only when not the defaults, so the keys of content processed before these
        # options existed stay the same.
        if chunking != "size":
            shape["chunking"] = chunking
        if chunk_unit != "chars":
            shape["chunk_unit"] = chunk_unit
        if include_notes:  # speaker notes in the chunks (PPTX)
            shape["include_notes"] = True
    if pipeline == "full":  # only the full pipeline embeds
        shape["embedder"] = embedder
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
