"""Templates, their versions, the tables files showed, and the suggestions' memory.

Records and their errors are in ``store/records.py``; re-running the files that waited for a
mapping in ``requeue_waiting_files`` here (it moves their job's counters like a retry).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import EventType
from ingestd.domain.states import FileStatus, JobStatus
from ingestd.store import jobs as job_store
from ingestd.store.events import append_event
from ingestd.store.tables import (
    chunks,
    content_claims,
    file_tables,
    files,
    mapping_history,
    template_versions,
    templates,
)

NEEDS_MAPPING = "needs_mapping"
APPLIED = "applied"


# -- templates and versions -------------------------------------------------------------------


async def insert_template(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(templates.insert().values(**row))


async def insert_version(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(template_versions.insert().values(**row))


async def update_template(conn: AsyncConnection, template_id: str, **values: Any) -> None:
    await conn.execute(templates.update().where(templates.c.id == template_id).values(**values))


async def update_version(
    conn: AsyncConnection, template_id: str, version: int, **values: Any
) -> None:
    await conn.execute(
        template_versions.update()
        .where(
            template_versions.c.template_id == template_id, template_versions.c.version == version
        )
        .values(**values)
    )


async def delete_template(conn: AsyncConnection, template_id: str) -> None:
    await conn.execute(
        template_versions.delete().where(template_versions.c.template_id == template_id)
    )
    await conn.execute(templates.delete().where(templates.c.id == template_id))


async def get_template(
    conn: AsyncConnection, template_id: str, tenant: str | None
) -> dict[str, Any] | None:
    query = sa.select(templates).where(templates.c.id == template_id)
    if tenant is not None:
        query = query.where(templates.c.tenant == tenant)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def get_version(
    conn: AsyncConnection, template_id: str, version: int
) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                sa.select(template_versions).where(
                    template_versions.c.template_id == template_id,
                    template_versions.c.version == version,
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def list_versions(conn: AsyncConnection, template_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(template_versions)
        .where(template_versions.c.template_id == template_id)
        .order_by(template_versions.c.version)
    )
    return [dict(r) for r in rows.mappings()]


async def versions_of(
    conn: AsyncConnection, template_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not template_ids:
        return out
    rows = await conn.execute(
        sa.select(template_versions)
        .where(template_versions.c.template_id.in_(list(template_ids)))
        .order_by(template_versions.c.template_id, template_versions.c.version)
    )
    for r in rows.mappings():
        out[r["template_id"]].append(dict(r))
    return out


async def list_templates(
    conn: AsyncConnection,
    tenant: str | None,
    *,
    statuses: Sequence[str] = (),
    after: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Oldest first (ids sort by creation); ``after`` is the cursor."""
    query = sa.select(templates).order_by(templates.c.id).limit(limit)
    if tenant is not None:
        query = query.where(templates.c.tenant == tenant)
    if statuses:
        query = query.where(templates.c.status.in_(list(statuses)))
    if after:
        query = query.where(templates.c.id > after)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def usage(conn: AsyncConnection, template_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per template: files and rows its approved versions turned into records, valid rows,
    mean milliseconds per table, when it was last used."""
    if not template_ids:
        return {}
    ft = file_tables.c
    rows = await conn.execute(
        sa.select(
            ft.template_id,
            sa.func.count(sa.distinct(ft.file_id)),
            sa.func.coalesce(sa.func.sum(ft.rows), 0),
            sa.func.coalesce(sa.func.sum(ft.valid_rows), 0),
            sa.func.max(ft.created_at),
        )
        .where(ft.template_id.in_(list(template_ids)), ft.status == APPLIED)
        .group_by(ft.template_id)
    )
    return {
        tid: {"files": int(n), "rows": int(r), "valid_rows": int(v), "last_used_at": last}
        for tid, n, r, v, last in rows
    }


async def version_usage(conn: AsyncConnection, template_id: str) -> list[dict[str, Any]]:
    """Per version: the applied tables' counts, times and error counts (merged by the caller)."""
    ft = file_tables.c
    rows = await conn.execute(
        sa.select(
            ft.version,
            ft.file_id,
            ft.rows,
            ft.valid_rows,
            ft.duration_ms,
            ft.created_at,
            ft.error_counts,
        )
        .where(ft.template_id == template_id, ft.status == APPLIED)
        .order_by(ft.version)
    )
    return [dict(r) for r in rows.mappings()]


async def index_rows(
    conn: AsyncConnection, tenant: str
) -> list[tuple[str, int, str, list[dict[str, Any]]]]:
    """``(id, current version, status, columns)`` of the tenant's templates that can match
    (retired ones cannot)."""
    t, v = templates.c, template_versions.c
    rows = await conn.execute(
        sa.select(t.id, t.current_version, t.status, v.signature)
        .join(
            template_versions,
            sa.and_(v.template_id == t.id, v.version == t.current_version),
        )
        .where(t.tenant == tenant, t.status != "retired")
    )
    return [
        (tid, version, status, list((signature or {}).get("columns") or []))
        for tid, version, status, signature in rows
    ]


async def lock_layouts(conn: AsyncConnection, tenant: str) -> None:
    """Hold the tenant's layouts until this transaction ends: two workers that meet the same new
    layout at once must make one template of it, not two. PostgreSQL: a transaction-scoped
    advisory lock (the second waits, then reads the first's template); SQLite serialises its
    writers already."""
    if conn.dialect.name != "postgresql":
        return
    key = sa.func.hashtextextended(f"ingestd.templates:{tenant}", 0)
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def index_stamp(conn: AsyncConnection, tenant: str) -> tuple[int, float]:
    """Changes whenever the tenant's templates do (a cached match index is still good while it
    holds): how many there are and when the last changed."""
    count, last = (
        await conn.execute(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.max(templates.c.updated_at), 0.0)
            ).where(templates.c.tenant == tenant)
        )
    ).one()
    return int(count), float(last)


async def version_by_fingerprint(
    conn: AsyncConnection, tenant: str, fingerprint: str
) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                sa.select(template_versions)
                .where(
                    template_versions.c.tenant == tenant,
                    template_versions.c.fingerprint == fingerprint,
                )
                .order_by(template_versions.c.version.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def count_templates(conn: AsyncConnection, tenant: str) -> int:
    return int(
        (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(templates)
                .where(templates.c.tenant == tenant)
            )
        ).scalar_one()
    )


# -- the tables files showed -----------------------------------------------------------------


async def replace_file_tables(
    conn: AsyncConnection, file_id: str, rows: Sequence[dict[str, Any]]
) -> None:
    await conn.execute(file_tables.delete().where(file_tables.c.file_id == file_id))
    if rows:
        await conn.execute(file_tables.insert(), [dict(r, file_id=file_id) for r in rows])


async def update_file_table(conn: AsyncConnection, file_id: str, index: int, **values: Any) -> None:
    await conn.execute(
        file_tables.update()
        .where(file_tables.c.file_id == file_id, file_tables.c.table_index == index)
        .values(**values)
    )


async def tables_of_file(conn: AsyncConnection, file_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(file_tables)
        .where(file_tables.c.file_id == file_id)
        .order_by(file_tables.c.table_index)
    )
    return [dict(r) for r in rows.mappings()]


async def mapping_queue(
    conn: AsyncConnection, tenant: str | None, *, after: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Tables waiting for a mapping, of files still ``needs_mapping``, by file id."""
    ft = file_tables.c
    query = (
        sa.select(file_tables, files.c.name, files.c.path)
        .join(files, files.c.id == ft.file_id)
        .where(ft.status == NEEDS_MAPPING, files.c.status == FileStatus.NEEDS_MAPPING.value)
        .order_by(ft.file_id, ft.table_index)
        .limit(limit)
    )
    if tenant is not None:
        query = query.where(ft.tenant == tenant)
    if after:
        query = query.where(ft.file_id > after)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def files_waiting_on(conn: AsyncConnection, template_id: str) -> list[str]:
    ft = file_tables.c
    rows = await conn.execute(
        sa.select(ft.file_id)
        .distinct()
        .join(files, files.c.id == ft.file_id)
        .where(
            ft.template_id == template_id,
            ft.status == NEEDS_MAPPING,
            files.c.status == FileStatus.NEEDS_MAPPING.value,
        )
    )
    return [r[0] for r in rows]


async def requeue_waiting_files(
    conn: AsyncConnection, file_ids: Sequence[str], *, now: float, reason: dict[str, Any]
) -> int:
    """Run again the ``needs_mapping`` files among ``file_ids``: their chunks and content claims
    go (they are made again), they are queued now, and a job that had ended runs again."""
    if not file_ids:
        return 0
    rows = (
        await conn.execute(
            sa.select(files.c.id, files.c.job_id).where(
                files.c.id.in_(list(file_ids)), files.c.status == FileStatus.NEEDS_MAPPING.value
            )
        )
    ).all()
    ids = [r[0] for r in rows]
    if not ids:
        return 0
    job_ids = sorted({r[1] for r in rows})
    await job_store.lock_jobs(conn, job_ids)
    await conn.execute(chunks.delete().where(chunks.c.file_id.in_(ids)))
    await conn.execute(content_claims.delete().where(content_claims.c.file_id.in_(ids)))
    await conn.execute(
        files.update()
        .where(files.c.id.in_(ids))
        .values(
            status=FileStatus.QUEUED.value,
            run_after=now,
            completed_at=None,
            step=None,
            progress=0.0,
        )
    )
    for job_id in job_ids:
        await job_store.recount(conn, job_id)
        job = await job_store.get_job(conn, job_id, None, lock=True)
        if job is None or not JobStatus(job["status"]).is_terminal:
            continue
        status = JobStatus.RUNNING if job["started_at"] else JobStatus.QUEUED
        await job_store.update_job(
            conn, job_id, status=status.value, completed_at=None, error=None, updated_at=now
        )
        await append_event(
            conn,
            tenant=job["tenant"],
            type=EventType.JOB_UPDATED,
            job_id=job_id,
            data={"status": status.value, "action": "mapping_approved", **reason},
            at=now,
        )
    return len(ids)


async def waiting_count(conn: AsyncConnection, template_id: str) -> int:
    return len(await files_waiting_on(conn, template_id))


# -- what users mapped before ----------------------------------------------------------------


async def remember_mapping(
    conn: AsyncConnection, tenant: str, pairs: Sequence[tuple[str, str]], *, now: float
) -> None:
    """Count each ``(source key, field)`` once more."""
    h = mapping_history.c
    for key, field in pairs:
        result = await conn.execute(
            mapping_history.update()
            .where(h.tenant == tenant, h.source_key == key, h.field == field)
            .values(times=h.times + 1, updated_at=now)
        )
        if not result.rowcount:
            await conn.execute(
                mapping_history.insert().values(
                    tenant=tenant, source_key=key, field=field, times=1, updated_at=now
                )
            )


async def history(conn: AsyncConnection, tenant: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    rows = await conn.execute(
        sa.select(
            mapping_history.c.source_key, mapping_history.c.field, mapping_history.c.times
        ).where(mapping_history.c.tenant == tenant)
    )
    for key, field, times in rows:
        out[key][field] = int(times)
    return out


async def applied_files_of_job(conn: AsyncConnection, job_id: str) -> list[str]:
    rows = await conn.execute(
        sa.select(file_tables.c.file_id)
        .distinct()
        .where(file_tables.c.job_id == job_id, file_tables.c.status == APPLIED)
        .order_by(file_tables.c.file_id)
    )
    return [r[0] for r in rows]


async def job_quality(conn: AsyncConnection, job_id: str) -> dict[str, Any]:
    ft = file_tables.c
    rows, valid = (
        await conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(ft.rows), 0),
                sa.func.coalesce(sa.func.sum(ft.valid_rows), 0),
            ).where(ft.job_id == job_id, ft.status == APPLIED)
        )
    ).one()
    rows, valid = int(rows), int(valid)
    return {"rows": rows, "valid_rows": valid, "quality": round(valid / rows, 4) if rows else None}
