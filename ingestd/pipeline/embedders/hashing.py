"""The built-in embedder: signed feature hashing of words, word bigrams and char trigrams.

No model and no download: a text becomes a sparse bag of features — lowercased unicode words
(``\\w+``), adjacent word pairs, and the character trigrams of each word (``<wo``, ``wor``,
``ord``, ``rd>``, so ``embedding`` and ``embeddings`` still share most of their mass) — each
hashed with a *stable* hash (CRC-32 plus a murmur3 finaliser, never Python's salted ``hash()``)
into ``dim`` buckets with a ±1 sign, weighted by sublinear term frequency ``1 + log(tf)`` and
L2-normalised. Texts that share words therefore score a higher cosine than unrelated ones, and
the same text gives the same bytes in every process, on every machine.

Per-token work (CRC-32 of the word and its trigrams) is done once per distinct token and cached;
everything per occurrence (bigrams, term counts, bucket sums) is vectorised with numpy.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from itertools import chain
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["HashEmbedder"]

Vectors = npt.NDArray[np.float32]
_U64 = npt.NDArray[np.uint64]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]

_WORD: Final = re.compile(r"\w+")
_MASK32: Final = 0xFFFFFFFF
_WORD_SEED: Final = 1  # CRC-32 start values keep words and trigrams in separate hash spaces
_TRIGRAM_SEED: Final = 2
_SIGN_SALT: Final = 0x5BD1E995
_PAIR_MULTIPLIER: Final = 0x9E3779B1
_MAX_TRIGRAM_WORD: Final = 24  # longer "words" (ids, base64) only count as whole words
_CACHE_LIMIT: Final = 100_000

W_WORD: Final = 1.0
W_BIGRAM: Final = 0.5
W_TRIGRAM: Final = 0.3

_TokenHashes = tuple[int, tuple[int, ...]]


def _fmix32(h: _U64) -> _U64:
    """murmur3's 32-bit finaliser on uint64 arrays holding 32-bit values: spreads the bits."""
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(_MASK32)
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(_MASK32)
    return h ^ (h >> np.uint64(16))


def _hash_token(token: str) -> _TokenHashes:
    """CRC-32 of the word and of its boundary-marked character trigrams."""
    word = zlib.crc32(token.encode("utf-8"), _WORD_SEED)
    if len(token) > _MAX_TRIGRAM_WORD:
        return word, ()
    marked = f"<{token}>"
    trigrams = tuple(
        zlib.crc32(marked[i : i + 3].encode("utf-8"), _TRIGRAM_SEED) for i in range(len(marked) - 2)
    )
    return word, trigrams


def _ragged_gather(starts: _I64, lengths: _I64) -> _I64:
    """Indices ``starts[k] .. starts[k] + lengths[k] - 1`` for every k, concatenated."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total, dtype=np.int64)


def _count_pairs(docs: _I64, values: _U64) -> tuple[_I64, _U64, _F64]:
    """Distinct ``(doc, value)`` pairs with their sublinear weight ``1 + log(count)``."""
    keys = (docs.astype(np.uint64) << np.uint64(32)) | values
    unique, counts = np.unique(keys, return_counts=True)
    return (
        (unique >> np.uint64(32)).astype(np.int64),
        unique & np.uint64(_MASK32),
        1.0 + np.log(counts.astype(np.float64)),
    )


class _TokenTables(NamedTuple):
    """Bucket and sign of every distinct token of a batch, and of its trigrams (flattened)."""

    word_bucket: _I64
    word_sign: _F64
    tri_bucket: _I64
    tri_sign: _F64
    tri_start: _I64
    tri_len: _I64


class HashEmbedder:
    """Feature-hashing embedder (``hash-<dim>``): fast, deterministic, dependency-free."""

    def __init__(self, dim: int = 384) -> None:
        if dim < 2:
            raise ValueError(f"dim must be >= 2, got {dim}")
        self.dim = dim
        self.name = f"hash-{dim}"
        # Chance collisions of hashed trigrams give unrelated texts cosines up to ~0.25, as high
        # as a real two-word match against a 1,000-character chunk: a hit needs a query word.
        self.min_similarity: float | None = None
        self._cache: dict[str, _TokenHashes] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` as float32 rows of unit length (zero rows for texts without words)."""
        n = len(texts)
        tokens = [_WORD.findall(text.lower()) for text in texts]
        flat = list(chain.from_iterable(tokens))
        if not flat:
            return np.zeros((n, self.dim), dtype=np.float32)
        vocab = {token: i for i, token in enumerate(dict.fromkeys(flat))}
        occurrences = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        docs = np.repeat(np.arange(n, dtype=np.int64), lengths)
        tables, word_hash = self._token_tables(list(vocab))
        parts = [
            *self._words_and_trigrams(docs, occurrences, tables),
            self._bigrams(docs, occurrences, word_hash),
        ]
        return self._project(n, parts)

    def _bucket_sign(self, hashes: _U64) -> tuple[_I64, _F64]:
        """Bucket ``hash % dim`` and a ±1 sign from an independent mix of the same hash."""
        buckets = (hashes % np.uint64(self.dim)).astype(np.int64)
        odd = (_fmix32(hashes ^ np.uint64(_SIGN_SALT)) & np.uint64(1)).astype(np.float64)
        return buckets, 1.0 - 2.0 * odd

    def _token_tables(self, vocab: list[str]) -> tuple[_TokenTables, _U64]:
        """Hash each distinct token (cached across calls) into buckets and signs."""
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        cache = self._cache
        words: list[int] = []
        trigrams: list[int] = []
        counts: list[int] = []
        for token in vocab:
            entry = cache.get(token)
            if entry is None:
                entry = cache[token] = _hash_token(token)
            words.append(entry[0])
            trigrams.extend(entry[1])
            counts.append(len(entry[1]))
        word_hash = np.array(words, dtype=np.uint64)
        tri_len = np.array(counts, dtype=np.int64)
        word_bucket, word_sign = self._bucket_sign(word_hash)
        tri_bucket, tri_sign = self._bucket_sign(np.array(trigrams, dtype=np.uint64))
        tables = _TokenTables(
            word_bucket, word_sign, tri_bucket, tri_sign, np.cumsum(tri_len) - tri_len, tri_len
        )
        return tables, word_hash

    @staticmethod
    def _words_and_trigrams(
        docs: _I64, occurrences: _I64, tables: _TokenTables
    ) -> list[tuple[_I64, _I64, _F64]]:
        """Word features (sublinear tf) and each distinct word's trigrams at the word's weight."""
        doc_of, token_of, tf = _count_pairs(docs, occurrences.astype(np.uint64))
        token = token_of.astype(np.int64)
        lengths = tables.tri_len[token]
        gathered = _ragged_gather(tables.tri_start[token], lengths)
        return [
            (doc_of, tables.word_bucket[token], tables.word_sign[token] * (W_WORD * tf)),
            (
                np.repeat(doc_of, lengths),
                tables.tri_bucket[gathered],
                tables.tri_sign[gathered] * np.repeat(W_TRIGRAM * tf, lengths),
            ),
        ]

    def _bigrams(self, docs: _I64, occurrences: _I64, word_hash: _U64) -> tuple[_I64, _I64, _F64]:
        """Adjacent word pairs within one text, hashed from their word hashes (order matters)."""
        same = docs[1:] == docs[:-1]
        left = word_hash[occurrences[:-1][same]]
        right = word_hash[occurrences[1:][same]]
        pair = _fmix32((left * np.uint64(_PAIR_MULTIPLIER) + right) & np.uint64(_MASK32))
        doc_of, hashes, tf = _count_pairs(docs[1:][same], pair)
        buckets, signs = self._bucket_sign(hashes)
        return doc_of, buckets, signs * (W_BIGRAM * tf)

    def _project(self, n: int, parts: list[tuple[_I64, _I64, _F64]]) -> Vectors:
        """Sum signed feature weights into ``dim`` buckets per text, then L2-normalise."""
        index = np.concatenate([doc * self.dim + bucket for doc, bucket, _ in parts])
        values = np.concatenate([value for _, _, value in parts])
        matrix = np.bincount(index, weights=values, minlength=n * self.dim).reshape(n, self.dim)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return matrix.astype(np.float32)
