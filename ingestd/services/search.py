"""Search: a tenant's (or one job's) chunks ranked for a query.

Two rankers share one result list:

- **vector** — chunks stored with a vector (``full`` pipeline) whose embedder is available in
  this process: the query is embedded with that same embedder and chunks are ranked by cosine
  similarity. Vectors are read in batches and scored with numpy; only the best ``k`` are kept
  (a heap), so memory does not grow with the number of chunks.
- **lexical** — every other chunk (``extract`` pipeline, or a vector from an embedder that is not
  available here, e.g. ``minilm`` without the ``embeddings`` extra): BM25 over the query's words,
  case-insensitive. The database first drops every chunk that contains none of the query terms;
  for the rest, only the id, the term counts and the length are kept (never the text), because
  BM25's IDF needs every candidate's counts before any score is final.

Both scores lie in [0, 1] so the two kinds of hit can be merged into one ranking: a cosine below
zero counts as no match, and a BM25 score is divided by the most that query could score (every
term present many times in a short chunk). Hits with a score of zero are not returned.

**What counts as a hit.** A hit must contain something of the query, or be close enough in
meaning: a lexical hit contains a query word by construction (case-insensitive, as a substring:
``cat`` finds ``category``); a vector hit counts when its text contains a query word too, or when
its cosine reaches its embedder's ``min_similarity`` (0.4 for ``minilm``). The built-in
``hash-384`` embedder has none — its similarity is lexical in nature, and chance collisions of
hashed trigrams give unrelated texts small positive cosines — so its hits always need a query
word. A query of words that occur nowhere therefore finds nothing, instead of the least
unrelated chunks.

A search reads at most ``MAX_SCANNED_CHUNKS`` chunks: the newest of its scope. The result says
``truncated`` when older chunks were left out; filter by ``job_id`` to search an older job in
full. Embedding the query and scoring run in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.auth import Principal
from ingestd.domain.errors import NotFound, ValidationFailed
from ingestd.domain.ids import has_prefix
from ingestd.pipeline.embed import bytes_to_vector, get_embedder
from ingestd.store import search as search_store
from ingestd.store.db import Database
from ingestd.store.search import TextRow, VectorRow, Window

log = logging.getLogger("ingestd.search")

MAX_SCANNED_CHUNKS: Final = 50_000  # the newest chunks of the scope that one search reads
MAX_QUERY_LENGTH: Final = 1_000  # characters
MAX_K: Final = 100
MAX_QUERY_TERMS: Final = 16  # words of the query the lexical ranker looks for (each is a LIKE)
VECTOR_BATCH: Final = 1_000  # rows per fetch: ~1.5 MB of 384-dim float32 vectors
TEXT_BATCH: Final = 500  # rows per fetch: chunks are 1,000 characters by default
BM25_K1: Final = 1.2  # term-frequency saturation
BM25_B: Final = 0.75  # length normalisation

Mode = Literal["vector", "lexical", "hybrid"]
Match = Literal["vector", "lexical"]
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]

_WORD: Final = re.compile(r"\w+")  # the hash embedder's notion of a word, too


@dataclass(frozen=True, slots=True)
class Hit:
    score: float
    chunk_id: int
    match: Match


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    mode: Mode
    truncated: bool
    items: list[dict[str, Any]]


class TopK:
    """The ``k`` best hits offered so far, in a min-heap: O(k) memory whatever is offered."""

    def __init__(self, k: int) -> None:
        self.k = k
        self._heap: list[tuple[float, int, Match]] = []

    def offer(self, ids: Ints, scores: Floats, match: Match) -> None:
        for chunk_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
            if not score > 0:  # also drops NaN
                continue
            entry = (score, chunk_id, match)
            if len(self._heap) < self.k:
                heapq.heappush(self._heap, entry)
            elif entry > self._heap[0]:
                heapq.heapreplace(self._heap, entry)

    def best(self) -> list[Hit]:
        """Best first; equal scores favour the newer chunk (the higher id)."""
        return [Hit(s, i, m) for s, i, m in sorted(self._heap, reverse=True)]


def _best_of(ids: Ints, scores: Floats, k: int) -> tuple[Ints, Floats]:
    """The ``k`` highest-scoring of a batch (unordered): the heap then sees k rows, not all."""
    if len(scores) <= k:
        return ids, scores
    keep = np.argpartition(scores, -k)[-k:]
    return ids[keep], scores[keep]


# -- the query ---------------------------------------------------------------------------


def check_query(q: str) -> str:
    """The query without surrounding blanks; 422 when it is blank or too long."""
    text = q.strip()
    if not text:
        raise _invalid_q("q must not be blank")
    if len(q) > MAX_QUERY_LENGTH:
        raise _invalid_q(f"q must be at most {MAX_QUERY_LENGTH} characters")
    return text


def _invalid_q(message: str) -> ValidationFailed:
    error = {"loc": ["query", "q"], "msg": message, "type": "value_error"}
    return ValidationFailed(message, errors=[error])


def query_terms(text: str) -> list[str]:
    """The distinct lowercased words of the query, single letters dropped when it has longer
    ones (a one-letter LIKE matches nearly every chunk), at most ``MAX_QUERY_TERMS``."""
    words = list(dict.fromkeys(_WORD.findall(text.lower())))
    longer = [w for w in words if len(w) > 1]
    return (longer or words)[:MAX_QUERY_TERMS]


def like_patterns(terms: Sequence[str]) -> list[str]:
    """What the database looks for. Its case folding may cover ASCII only (SQLite's ``lower``,
    PostgreSQL under the C locale), so a term with other letters is also sent Capitalised and
    in CAPITALS: ``über`` finds ``Über`` and ``ÜBER`` as well."""
    patterns: dict[str, None] = {}
    for term in terms:
        variants = (term,) if term.isascii() else (term, term.capitalize(), term.upper())
        patterns.update(dict.fromkeys(variants))
    return list(patterns)


# -- vectors -----------------------------------------------------------------------------

_unavailable_reported: set[str] = set()


def _embed_query(name: str, text: str) -> QueryVector | None:
    """The query embedded by the embedder called ``name``; None when it cannot be used here (an
    extra not installed, a model that fails to load, a name this version does not know)."""
    try:
        embedder = get_embedder(name)
        vector: Floats = embedder.embed([text])[0].astype(np.float32)
    except Exception as exc:  # any failure means "rank these chunks by their words", never a 500
        if name not in _unavailable_reported:
            _unavailable_reported.add(name)
            log.warning(
                "embedder %r is not available (%s); its chunks are searched by words", name, exc
            )
        return None
    return QueryVector(vector, embedder.min_similarity)


async def _query_vectors(names: Sequence[str], text: str) -> dict[str, QueryVector]:
    """The query's vector for each usable embedder (loading a model is slow: in a thread)."""
    vectors: dict[str, QueryVector] = {}
    for name in names:
        vector = await asyncio.to_thread(_embed_query, name, text)
        if vector is not None:
            vectors[name] = vector
    return vectors


@dataclass(frozen=True, slots=True)
class QueryVector:
    """The query as one embedder sees it, and the cosine its vectors count from alone."""

    vector: Floats
    min_similarity: float | None


def _cosines(rows: Sequence[VectorRow], query: QueryVector) -> tuple[Ints, Floats]:
    """Cosine of each row's vector with the query, zero for a row that is no hit (no query word
    and below the embedder's ``min_similarity``); rows of another dimension are skipped (a
    vector the query's embedder did not make cannot be compared)."""
    dim = len(query.vector)
    usable = [r for r in rows if r[2] == dim and len(r[3]) == 4 * dim]
    matrix = np.empty((len(usable), dim), dtype=np.float32)
    for i, row in enumerate(usable):
        matrix[i] = bytes_to_vector(row[3], dim)
    # Stored vectors are unit length, but dividing by the norms keeps a stray one honest.
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query.vector))
    dots = matrix @ query.vector
    scores = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    evidence = np.fromiter((bool(r[4]) for r in usable), dtype=bool, count=len(usable))
    if query.min_similarity is not None:
        evidence |= scores >= query.min_similarity
    scores[~evidence] = 0.0
    return np.array([r[0] for r in usable], dtype=np.int64), scores.astype(np.float32)


def _score_vector_batch(
    rows: Sequence[VectorRow], queries: dict[str, QueryVector], k: int
) -> tuple[Ints, Floats]:
    """The batch's best ``k`` by cosine, each row against the query vector of its embedder."""
    by_embedder: dict[str, list[VectorRow]] = defaultdict(list)
    for row in rows:
        by_embedder[row[1]].append(row)
    parts = [_cosines(group, queries[name]) for name, group in by_embedder.items()]
    ids = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    return _best_of(ids, scores, k)


async def _rank_by_vectors(
    conn: AsyncConnection, win: Window, text: str, top: TopK
) -> tuple[list[str], int]:
    """Offer the window's comparable vectors to ``top``; returns the usable embedders and how
    many vectors were scored."""
    queries = await _query_vectors(await search_store.embedders_in(conn, win), text)
    if not queries:
        return [], 0
    scored = 0
    patterns = like_patterns(query_terms(text))
    batches = search_store.vector_rows(conn, win, list(queries), patterns, batch=VECTOR_BATCH)
    async with aclosing(batches):  # the cursor closes now even if scoring fails
        async for rows in batches:
            scored += len(rows)
            ids, scores = await asyncio.to_thread(_score_vector_batch, rows, queries, top.k)
            top.offer(ids, scores, "vector")
    return list(queries), scored


# -- words -------------------------------------------------------------------------------


@dataclass(slots=True)
class TermCounts:
    """Per candidate chunk: its id, how often each query term occurs, and its length in
    characters. Bounded by ``MAX_SCANNED_CHUNKS`` rows of ``len(terms)`` small numbers."""

    terms: list[str]
    ids: list[Ints] = field(default_factory=list)
    counts: list[Floats] = field(default_factory=list)
    lengths: list[Floats] = field(default_factory=list)

    def add(self, rows: Sequence[TextRow]) -> None:
        """Count the terms in a batch; a chunk that matched a pattern only inside a longer
        word (``cat`` in ``category``) has no term and is dropped here."""
        index = {term: i for i, term in enumerate(self.terms)}
        ids: list[int] = []
        counts: list[list[int]] = []
        lengths: list[int] = []
        for chunk_id, text in rows:
            found = Counter(w for w in _WORD.findall(text.lower()) if w in index)
            if not found:
                continue
            row = [0] * len(self.terms)
            for word, n in found.items():
                row[index[word]] = n
            ids.append(chunk_id)
            counts.append(row)
            lengths.append(len(text))
        if ids:
            self.ids.append(np.array(ids, dtype=np.int64))
            self.counts.append(np.array(counts, dtype=np.float32))
            self.lengths.append(np.array(lengths, dtype=np.float32))


def bm25(tally: TermCounts, corpus_size: int) -> tuple[Ints, Floats]:
    """Each candidate's BM25 score divided by the query's maximum, so in [0, 1].

    IDF is ``ln(1 + (N - df + .5) / (df + .5))`` over the ``corpus_size`` chunks ranked by
    words; the maximum is every term's IDF times ``k1 + 1`` (the limit of a term occurring
    ever more often). A query whose every term occurs once in a chunk of average length
    scores ``1 / (k1 + 1)`` ≈ 0.45.
    """
    if not tally.ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    ids = np.concatenate(tally.ids)
    tf = np.concatenate(tally.counts).astype(np.float64)
    lengths = np.concatenate(tally.lengths).astype(np.float64)
    n = max(corpus_size, len(ids))
    df = (tf > 0).sum(axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(float(lengths.mean()), 1.0))
    weights = tf * (BM25_K1 + 1) / (tf + norm[:, None])
    ceiling = float(idf.sum()) * (BM25_K1 + 1)
    scores = (weights @ idf) / ceiling if ceiling > 0 else np.zeros(len(ids))
    return ids, scores.astype(np.float32)


async def _rank_by_words(
    conn: AsyncConnection, win: Window, usable: Sequence[str], text: str, top: TopK
) -> int:
    """Offer the BM25 hits among chunks without a usable vector to ``top``; returns how many
    chunks were ranked this way (zero: the lexical ranker had nothing to search)."""
    corpus_size = await search_store.count_lexical(conn, win, usable)
    terms = query_terms(text)
    if corpus_size == 0 or not terms:
        return corpus_size
    tally = TermCounts(terms)
    patterns = like_patterns(terms)
    batches = search_store.lexical_rows(conn, win, usable, patterns, batch=TEXT_BATCH)
    async with aclosing(batches):
        async for rows in batches:
            await asyncio.to_thread(tally.add, rows)
    ids, scores = await asyncio.to_thread(bm25, tally, corpus_size)
    top.offer(*_best_of(ids, scores, top.k), "lexical")
    return corpus_size


# -- the search --------------------------------------------------------------------------


async def _check_job(conn: AsyncConnection, principal: Principal, job_id: str) -> None:
    """404 for an unknown job or another tenant's. A value that is no job id at all (a NUL
    byte, say, which PostgreSQL refuses) is unknown without asking the database."""
    plausible = has_prefix(job_id, "job") and job_id.isascii() and job_id[4:].isalnum()
    if not plausible or not await search_store.job_visible(conn, job_id, principal.scope):
        raise NotFound(f"no job {job_id}")


def _mode(vectors_scored: int, lexical_corpus: int) -> Mode:
    if vectors_scored and lexical_corpus:
        return "hybrid"
    return "vector" if vectors_scored else "lexical"


def _item(hit: Hit, row: dict[str, Any]) -> dict[str, Any]:
    metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
    page = metadata.get("page")
    return {
        "score": round(min(hit.score, 1.0), 6),  # float32 rounding can pass 1 by an ulp
        "match": hit.match,
        "job_id": row["job_id"],
        "file": {"id": row["file_id"], "name": row["file_name"], "path": row["file_path"]},
        "chunk": {
            "index": row["idx"],
            "text": row["text"],
            "metadata": metadata,
            "embedder": row["embedder"],
        },
        "position": {
            "start": row["start"],
            "end": row["end"],
            "page": page if isinstance(page, int) and not isinstance(page, bool) else None,
        },
    }


async def search_chunks(
    db: Database, principal: Principal, q: str, *, job_id: str | None = None, k: int = 10
) -> SearchResult:
    """The ``k`` chunks of the caller's tenant (or of ``job_id``) that best match ``q``.

    Raises ``ValidationFailed`` (422) for a blank or over-long query or a ``k`` outside
    1..``MAX_K``, and ``NotFound`` (404) for a job the caller cannot see.
    """
    text = check_query(q)
    if not 1 <= k <= MAX_K:
        raise ValidationFailed(f"k must be between 1 and {MAX_K}")
    async with db.read() as conn:
        if job_id is not None:
            await _check_job(conn, principal, job_id)
        win = await search_store.window(
            conn, tenant=principal.scope, job_id=job_id, cap=MAX_SCANNED_CHUNKS
        )
        if win is None:
            return SearchResult(text, "lexical", False, [])
        top = TopK(k)
        usable, vectors_scored = await _rank_by_vectors(conn, win, text, top)
        lexical_corpus = await _rank_by_words(conn, win, usable, text, top)
        best = top.best()
        rows = await search_store.hits(conn, [h.chunk_id for h in best])
    items = [_item(hit, rows[hit.chunk_id]) for hit in best if hit.chunk_id in rows]
    return SearchResult(text, _mode(vectors_scored, lexical_corpus), win.truncated, items)
