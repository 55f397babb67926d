"""Where files' time went: per completed file, and summed per job and step.

Written in the transaction that completes the files (``completion.py``): one row per file in
``file_timings`` and one upsert per job and step in ``job_step_timings`` (in key order, after the
job locks: no deadlock between two completing transactions). A job's timings are then read from
a few rows, its queue wait from its files' claim times, its slowest files from an index.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.store.dialect import insert_for
from ingestd.store.tables import file_timings, files, job_step_timings

_SUMS = ("files", "wall_ms", "cpu_ms")


def _upsert(conn: AsyncConnection) -> Any:
    return _upsert_for(conn.dialect.name)


@functools.cache
def _upsert_for(dialect_name: str) -> Any:
    """Built once per dialect (every completion batch runs it)."""
    insert = insert_for(dialect_name, job_step_timings)
    table = job_step_timings.c
    return insert.on_conflict_do_update(
        index_elements=[table.job_id, table.step],
        set_={
            **{name: table[name] + insert.excluded[name] for name in _SUMS},
            "max_wall_ms": sa.case(
                (insert.excluded.max_wall_ms > table.max_wall_ms, insert.excluded.max_wall_ms),
                else_=table.max_wall_ms,
            ),
        },
    )


@functools.cache
def _file_upsert_for(dialect_name: str) -> Any:
    insert = insert_for(dialect_name, file_timings)
    return insert.on_conflict_do_update(
        index_elements=[file_timings.c.file_id],
        set_={"steps": insert.excluded.steps, "duration_ms": insert.excluded.duration_ms},
    )


async def record(conn: AsyncConnection, done: Iterable[tuple[ClaimedFile, FileOutcome]]) -> None:
    """The timings of files that completed."""
    per_file: list[dict[str, Any]] = []
    per_step: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for claimed, outcome in done:
        per_file.append(
            {
                "file_id": claimed.id,
                "job_id": claimed.job_id,
                "steps": outcome.timings,
                "duration_ms": outcome.duration_ms,
            }
        )
        for step, (wall_ms, cpu_ms) in outcome.timings.items():
            sums = per_step[(claimed.job_id, step)]
            sums[0] += 1
            sums[1] += round(wall_ms)
            sums[2] += round(cpu_ms)
            sums[3] = max(sums[3], round(wall_ms))
    if not per_file:
        return
    # a file processed again (reprocessing) keeps its latest timings
    await conn.execute(_file_upsert_for(conn.dialect.name), per_file)
    if per_step:
        params = [
            {"job_id": job, "step": step, "files": n, "wall_ms": w, "cpu_ms": c, "max_wall_ms": m}
            for (job, step), (n, w, c, m) in sorted(per_step.items())
        ]
        await conn.execute(_upsert(conn), params)


async def job_steps(conn: AsyncConnection, job_id: str) -> list[dict[str, Any]]:
    query = sa.select(job_step_timings).where(job_step_timings.c.job_id == job_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def queue_wait(conn: AsyncConnection, job_id: str) -> dict[str, float | int | None]:
    """How long the job's files waited from queued to their first claim (milliseconds)."""
    wait = files.c.started_at - files.c.created_at
    row = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.avg(wait), sa.func.max(wait)).where(
                files.c.job_id == job_id, files.c.started_at.is_not(None)
            )
        )
    ).one()
    count, mean, longest = row
    return {
        "files": int(count),
        "mean_ms": None if mean is None else round(float(mean) * 1000, 1),
        "max_ms": None if longest is None else round(float(longest) * 1000, 1),
    }


async def slowest_files(conn: AsyncConnection, job_id: str, limit: int) -> list[dict[str, Any]]:
    query = (
        sa.select(
            file_timings.c.file_id,
            file_timings.c.duration_ms,
            file_timings.c.steps,
            files.c.path,
            files.c.size,
            files.c.mime_type,
        )
        .join(files, files.c.id == file_timings.c.file_id)
        .where(file_timings.c.job_id == job_id)
        .order_by(file_timings.c.duration_ms.desc(), file_timings.c.file_id)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
