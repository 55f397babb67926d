"""A chunk as the parser hands it to the worker: one flat tuple, ready to be stored.

Hundreds of chunks come back from each document, through a pipe from the parser process and then
into the database: tuples in column order (with the metadata already JSON text) cost a fraction
of dicts to pickle, unpickle and turn into rows, and that cost lands on the worker's one event
loop. ``store.files.CHUNK_COLUMNS`` is the file's ids followed by these fields.
"""

from __future__ import annotations

from typing import Final

CHUNK_FIELDS = ("idx", "text", "start", "end", "metadata", "embedder", "dim", "vector")
TEXT: Final = 1  # CHUNK_FIELDS.index("text"), as a literal the type checker can follow
EMBEDDING: Final = 5  # CHUNK_FIELDS.index("embedder"): embedder, dim, vector are the last three
assert CHUNK_FIELDS[TEXT] == "text" and CHUNK_FIELDS[EMBEDDING] == "embedder"

# (idx, text, start, end, metadata as JSON text, embedder, dim, vector as float32 bytes)
ChunkData = tuple[int, str, int, int, str, str | None, int | None, bytes | None]


def with_embedding(chunk: ChunkData, embedder: str, dim: int, vector: bytes) -> ChunkData:
    """The same chunk with its vector."""
    return (*chunk[:EMBEDDING], embedder, dim, vector)  # type: ignore[return-value]
