"""Turn chunk texts into vectors, and vectors into bytes for storage.

Embedders are looked up by name — the name is stored next to every vector, so a store can tell
which vectors are comparable. ``get_embedder(None)`` gives the built-in ``hash-384`` (feature
hashing: no download, no extra dependency); ``"minilm"`` gives all-MiniLM-L6-v2 when the
``ingestd[embeddings]`` extra is installed. Instances are cached per process (loading a model is
slow and its weights are large), and the semantic one is imported only when first asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ingestd.pipeline.embedders import ALIASES, DEFAULT_EMBEDDER, MissingExtra, canonical_name
from ingestd.pipeline.embedders.hashing import HashEmbedder

__all__ = [
    "DEFAULT_EMBEDDER",
    "Embedder",
    "MissingExtra",
    "available_embedders",
    "bytes_to_vector",
    "get_embedder",
    "vector_to_bytes",
]

Vectors = npt.NDArray[np.float32]

_STORED_DTYPE = np.dtype("<f4")


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-length float32 vectors of a fixed ``dim``.

    ``embed`` returns shape ``(len(texts), dim)``, each row L2-normalised, or all zeros for a
    text with nothing to embed. ``name`` is stored with the vectors.

    ``min_similarity`` is the cosine from which a vector alone is evidence that a chunk answers
    a query; below it, search keeps the chunk only when its text contains a word of the query.
    ``None`` means never alone: the embedder's similarity is lexical in nature (feature hashing
    of words and trigrams), so unrelated texts still score small positive cosines by chance.
    """

    name: str
    dim: int
    min_similarity: float | None

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def _make_hash() -> Embedder:
    return HashEmbedder(384)


def _make_minilm() -> Embedder:
    """Import lazily: this is what pulls in torch, and only when the extra is installed."""
    from ingestd.pipeline.embedders.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


_FACTORIES: dict[str, Callable[[], Embedder]] = {
    DEFAULT_EMBEDDER: _make_hash,
    "minilm": _make_minilm,
}
_instances: dict[str, Embedder] = {}
_lock = threading.Lock()


def available_embedders() -> list[str]:
    """Every name ``get_embedder`` accepts (``minilm`` also needs the embeddings extra)."""
    return sorted([*_FACTORIES, *ALIASES])


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder called ``name`` (``None``/``"default"`` → ``hash-384``), one per process.

    Raises ``ValueError`` for an unknown name (listing the known ones) and for ``minilm`` when
    the ``ingestd[embeddings]`` extra is not installed (``MissingExtra``, a ``ValueError`` that
    says how to install it).
    """
    key = canonical_name(name)
    factory = _FACTORIES.get(key)
    if factory is None:
        known = ", ".join(available_embedders())
        raise ValueError(f"unknown embedder {name!r}; available: {known}")
    with _lock:
        instance = _instances.get(key)
        if instance is None:
            instance = _instances[key] = factory()
        return instance


def vector_to_bytes(v: npt.ArrayLike) -> bytes:
    """One vector as little-endian float32 bytes (``4 * dim`` of them), whatever the host."""
    return np.ascontiguousarray(v, dtype=_STORED_DTYPE).reshape(-1).tobytes()


def bytes_to_vector(b: bytes, dim: int) -> Vectors:
    """The inverse of ``vector_to_bytes``: a writable native float32 array of length ``dim``."""
    if len(b) != 4 * dim:
        raise ValueError(f"expected {4 * dim} bytes for a {dim}-dim vector, got {len(b)}")
    return np.frombuffer(b, dtype=_STORED_DTYPE).astype(np.float32)
