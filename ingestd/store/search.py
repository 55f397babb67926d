"""The queries behind search: which chunks a search reads, streamed in batches, and its hits.

A search reads a *window*: the newest chunks of its scope (a tenant, or one job), up to a cap,
as a range of chunk ids. Every query of one search uses the same range, so the cap holds for
the database's work as well as ours, and rows inserted while a search runs stay out of it.
No query here needs an index that ``tables.py`` does not already have: scope filters use
``(tenant, job_id)`` and the range uses the primary key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.files import CHUNK_VIEW
from ingestd.store.tables import chunks, files, jobs

# chunk id, embedder, dim, vector bytes, whether the text contains one of the query's words
VectorRow = tuple[int, str, int, bytes, bool]
TextRow = tuple[int, str]  # chunk id, text


@dataclass(frozen=True, slots=True)
class Window:
    """The chunks one search reads: ``tenant`` (None: every tenant), optionally one job, and
    the ids ``above < id <= up_to`` (``above`` None: from the oldest)."""

    tenant: str | None
    job_id: str | None
    up_to: int
    above: int | None

    @property
    def truncated(self) -> bool:
        """Whether older chunks of the scope were left out by the cap."""
        return self.above is not None


async def job_visible(conn: AsyncConnection, job_id: str, tenant: str | None) -> bool:
    """Whether this job exists for this tenant (any tenant when ``tenant`` is None)."""
    query = sa.select(jobs.c.id).where(jobs.c.id == job_id)
    if tenant is not None:
        query = query.where(jobs.c.tenant == tenant)
    return (await conn.execute(query)).first() is not None


def _scope(query: Any, tenant: str | None, job_id: str | None) -> Any:
    if tenant is not None:
        query = query.where(chunks.c.tenant == tenant)
    if job_id is not None:
        query = query.where(chunks.c.job_id == job_id)
    return query


async def window(
    conn: AsyncConnection, *, tenant: str | None, job_id: str | None, cap: int
) -> Window | None:
    """The newest ``cap`` chunks of the scope as an id range; None when the scope has none.

    One round trip: the newest id, and the id of the first chunk past the cap (the range
    starts above it). Both read ids only (the primary key or the ``(tenant, job_id)`` index),
    never texts or vectors.
    """
    newest = _scope(sa.select(sa.func.max(chunks.c.id)), tenant, job_id)
    past_cap = _scope(
        sa.select(chunks.c.id).order_by(chunks.c.id.desc()).offset(cap).limit(1), tenant, job_id
    )
    row = (
        await conn.execute(sa.select(newest.scalar_subquery(), past_cap.scalar_subquery()))
    ).one()
    if row[0] is None:
        return None
    return Window(tenant, job_id, up_to=int(row[0]), above=None if row[1] is None else int(row[1]))


def _within(query: Any, win: Window) -> Any:
    query = _scope(query, win.tenant, win.job_id).where(chunks.c.id <= win.up_to)
    return query if win.above is None else query.where(chunks.c.id > win.above)


async def embedders_in(conn: AsyncConnection, win: Window) -> list[str]:
    """The embedders named on the window's chunks that have a vector."""
    query = _within(
        sa.select(chunks.c.embedder)
        .where(chunks.c.vector.is_not(None), chunks.c.embedder.is_not(None))
        .distinct(),
        win,
    )
    return [str(name) for name in (await conn.execute(query)).scalars()]


async def _stream(conn: AsyncConnection, query: Any, batch: int) -> AsyncGenerator[list[Any], None]:
    """Rows of ``query`` in lists of ``batch``: a server-side cursor on PostgreSQL, so only one
    batch is ever in memory. Callers consume to the end (or close the generator)."""
    result = await conn.stream(query.execution_options(yield_per=batch))
    try:
        async for partition in result.partitions(batch):
            yield [tuple(row) for row in partition]
    finally:
        await result.close()


def vector_rows(
    conn: AsyncConnection,
    win: Window,
    embedders: Collection[str],
    patterns: Sequence[str],
    *,
    batch: int,
) -> AsyncGenerator[list[VectorRow], None]:
    """The window's vectors made by ``embedders``, in batches, each with whether its text
    contains one of ``patterns`` (the texts themselves stay in the database: they are not
    needed to rank, and are fetched for the hits only)."""
    has_word = (
        sa.case((_contains_any(conn, patterns), sa.true()), else_=sa.false())
        if patterns
        else sa.false()
    )
    query = _within(
        sa.select(
            chunks.c.id, chunks.c.embedder, chunks.c.dim, chunks.c.vector, has_word.label("w")
        ).where(chunks.c.vector.is_not(None), chunks.c.embedder.in_(list(embedders))),
        win,
    )
    return _stream(conn, query, batch)


def _without_usable_vector(usable: Collection[str]) -> Any:
    """Chunks to rank by their words: no vector, or one no embedder here can compare with."""
    if not usable:
        return sa.true()
    return sa.or_(
        chunks.c.vector.is_(None),
        chunks.c.embedder.is_(None),
        chunks.c.embedder.not_in(list(usable)),
    )


async def count_lexical(conn: AsyncConnection, win: Window, usable: Collection[str]) -> int:
    """How many of the window's chunks are ranked by their words (the corpus size for IDF)."""
    query = _within(
        sa.select(sa.func.count()).select_from(chunks).where(_without_usable_vector(usable)), win
    )
    return int((await conn.execute(query)).scalar_one())


def _contains_any(conn: AsyncConnection, patterns: Sequence[str]) -> Any:
    """Case-insensitive substring match of any pattern, taken literally.

    PostgreSQL: one ``~*`` over an alternation, which reads each text once; an ``ILIKE`` per
    pattern folds the text's case once per pattern and measured 3-4 times slower with six terms.
    SQLite has no regular expressions built in; its ``LIKE`` is the fast path there.
    """
    if conn.dialect.name == "postgresql":
        return chunks.c.text.regexp_match("|".join(map(re.escape, patterns)), flags="i")
    return sa.or_(*(chunks.c.text.icontains(p, autoescape=True) for p in patterns))


def lexical_rows(
    conn: AsyncConnection,
    win: Window,
    usable: Collection[str],
    patterns: Sequence[str],
    *,
    batch: int,
) -> AsyncGenerator[list[TextRow], None]:
    """The texts of the window's word-ranked chunks that contain one of ``patterns``, in
    batches: the database drops every chunk that shares no term with the query."""
    query = _within(
        sa.select(chunks.c.id, chunks.c.text).where(
            _without_usable_vector(usable), _contains_any(conn, patterns)
        ),
        win,
    )
    return _stream(conn, query, batch)


async def hits(conn: AsyncConnection, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The chunks with these ids, with their file's id, name and path, by chunk id."""
    if not chunk_ids:
        return {}
    query = (
        sa.select(
            chunks.c.id,
            chunks.c.job_id,
            chunks.c.file_id,
            *CHUNK_VIEW,
            files.c.name.label("file_name"),
            files.c.path.label("file_path"),
        )
        .join(files, files.c.id == chunks.c.file_id)
        .where(chunks.c.id.in_(list(chunk_ids)))
    )
    return {int(row["id"]): dict(row) for row in (await conn.execute(query)).mappings()}
