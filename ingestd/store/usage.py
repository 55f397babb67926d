"""Usage per tenant, day and pipeline: counters added to as work happens, read by range.

A job adds one to ``jobs`` when it is created (``add_job``, from ``jobs.insert_job``); a completed
file adds itself, its bytes, pages, chunks, vectors and parser CPU seconds in the transaction that
completes it (``add_completed``, from ``completion.py``). Reading a month is reading ~30 rows per
tenant and pipeline: nothing counts files.

Rows are upserted in key order, after the job locks a transaction takes, so two transactions that
add to the same rows wait for each other and never deadlock (PostgreSQL).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.store.dialect import insert_for
from ingestd.store.tables import usage_daily

COUNTERS = (
    "jobs",
    "files",
    "bytes",
    "pages",
    "chunks",
    "embeddings",
    "ocr_pages",
    "cpu_seconds",
)
GROUPS = ("day", "tenant", "pipeline")


def day_of(at: float) -> str:
    """The UTC day of a time, as usage keeps it: ``2026-12-06``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def _upsert(conn: AsyncConnection) -> Any:
    return _upsert_for(conn.dialect.name)


@functools.cache
def _upsert_for(dialect_name: str) -> Any:
    """Built once per dialect: building it is most of the cost of running it (every
    completion batch runs it)."""
    insert = insert_for(dialect_name, usage_daily)
    return insert.on_conflict_do_update(
        index_elements=[usage_daily.c.tenant, usage_daily.c.day, usage_daily.c.pipeline],
        set_={name: usage_daily.c[name] + insert.excluded[name] for name in COUNTERS},
    )


async def _add(conn: AsyncConnection, rows: dict[tuple[str, str, str], dict[str, float]]) -> None:
    if not rows:
        return
    params = [
        {"tenant": t, "day": d, "pipeline": p, **{n: values.get(n, 0) for n in COUNTERS}}
        for (t, d, p), values in sorted(rows.items())  # key order: see the module docstring
    ]
    await conn.execute(_upsert(conn), params)


async def add_job(conn: AsyncConnection, *, tenant: str, pipeline: str, at: float) -> None:
    """One job created."""
    await _add(conn, {(tenant, day_of(at), pipeline): {"jobs": 1}})


async def add_completed(
    conn: AsyncConnection, done: Iterable[tuple[ClaimedFile, FileOutcome]], *, at: float
) -> None:
    """Files completed at ``at``: each adds itself and what it yielded and cost."""
    rows: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    day = day_of(at)
    for claimed, outcome in done:
        row = rows[(claimed.tenant, day, claimed.pipeline.value)]
        row["files"] += 1
        row["bytes"] += outcome.size
        row["pages"] += outcome.pages
        row["chunks"] += len(outcome.chunks)
        row["embeddings"] += outcome.embeddings
        row["ocr_pages"] += outcome.ocr_pages
        row["cpu_seconds"] += sum(cpu for _, cpu in outcome.timings.values()) / 1000
    await _add(conn, rows)


async def usage_between(
    conn: AsyncConnection,
    *,
    first_day: str,
    last_day: str,
    group_by: Sequence[str],
    tenant: str | None,
) -> list[dict[str, Any]]:
    """Counters summed over ``first_day..last_day`` (inclusive), one row per group; ``tenant``
    None reads every tenant's."""
    keys = [usage_daily.c[g] for g in group_by]
    totals = [sa.func.sum(usage_daily.c[n]).label(n) for n in COUNTERS]
    query = (
        sa.select(*keys, *totals)
        .where(usage_daily.c.day >= first_day, usage_daily.c.day <= last_day)
        .group_by(*keys)
        .order_by(*keys)
    )
    if tenant is not None:
        query = query.where(usage_daily.c.tenant == tenant)
    rows = []
    for row in (await conn.execute(query)).mappings():
        item = {g: row[g] for g in group_by}
        for name in COUNTERS:
            value = row[name] or 0
            item[name] = round(float(value), 3) if name == "cpu_seconds" else int(value)
        rows.append(item)
    return rows


async def pages_by_source(conn: AsyncConnection, tenant: str | None) -> dict[str, int]:
    """Pages of completed files, in all, from their text layer and by OCR (``tenant`` None:
    every tenant's). Read from the usage counters: a few rows per tenant and day."""
    query = sa.select(
        sa.func.coalesce(sa.func.sum(usage_daily.c.pages), 0),
        sa.func.coalesce(sa.func.sum(usage_daily.c.ocr_pages), 0),
    )
    if tenant is not None:
        query = query.where(usage_daily.c.tenant == tenant)
    total, ocr = (await conn.execute(query)).one()
    return {"total": int(total), "text_layer": int(total) - int(ocr), "ocr": int(ocr)}
