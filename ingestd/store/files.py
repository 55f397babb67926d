"""Files (the unit of work) and their chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.chunks import CHUNK_FIELDS
from ingestd.domain.states import FileStatus
from ingestd.store.dialect import insert_ignoring_duplicates
from ingestd.store.tables import chunks, files


async def insert_files(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Insert files, ignoring ones already listed (same job, source and path): a re-listing
    after a crash adds nothing twice. Returns the rows really inserted."""
    if not rows:
        return []
    statement = insert_ignoring_duplicates(conn, files).returning(
        files.c.id, files.c.source_index, files.c.size, files.c.status
    )
    keys = set().union(*(row.keys() for row in rows))
    uniform = [{key: row.get(key) for key in keys} for row in rows]
    result = await conn.execute(statement, uniform)  # one multi-row INSERT … RETURNING per batch
    return [dict(r) for r in result.mappings()]


def _scoped(query: Any, tenant: str | None) -> Any:
    return query if tenant is None else query.where(files.c.tenant == tenant)


async def get_file(
    conn: AsyncConnection, file_id: str, tenant: str | None
) -> dict[str, Any] | None:
    row = (
        (await conn.execute(_scoped(sa.select(files).where(files.c.id == file_id), tenant)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def list_files(
    conn: AsyncConnection,
    job_id: str,
    *,
    statuses: Sequence[str] = (),
    after_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = sa.select(files).where(files.c.job_id == job_id).order_by(files.c.id).limit(limit)
    if statuses:
        query = query.where(files.c.status.in_(list(statuses)))
    if after_id:
        query = query.where(files.c.id > after_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def running_files(conn: AsyncConnection, file_ids: Sequence[str]) -> set[str]:
    """Which of these files are still running (not ended, not re-queued)."""
    if not file_ids:
        return set()
    rows = await conn.execute(
        sa.select(files.c.id).where(
            files.c.id.in_(list(file_ids)), files.c.status == FileStatus.RUNNING.value
        )
    )
    return {row[0] for row in rows}


async def update_file(conn: AsyncConnection, file_id: str, **values: Any) -> None:
    await conn.execute(files.update().where(files.c.id == file_id).values(**values))


async def rename_file(conn: AsyncConnection, file_id: str, name: str) -> None:
    """A better name learnt while processing (a server's ``Content-Disposition``)."""
    await update_file(conn, file_id, name=name)


# A chunk row as ``insert_chunks`` takes it: the file's ids, then the parser's ``ChunkData``
# (metadata already JSON text). The id is the database's.
CHUNK_COLUMNS = ("file_id", "job_id", "tenant", *CHUNK_FIELDS)
ChunkRecord = tuple[Any, ...]

# SQLite: the tuples go to the driver's executemany as they are (the metadata JSON text is what
# a JSON column holds there). Half the CPU of a SQLAlchemy insert, which turns every row into a
# dict of bound parameters first.
_INSERT_CHUNKS_SQLITE = "INSERT INTO chunks ({}) VALUES ({})".format(
    ", ".join(f'"{name}"' for name in CHUNK_COLUMNS), ", ".join("?" for _ in CHUNK_COLUMNS)
)


async def insert_chunks(conn: AsyncConnection, records: Sequence[ChunkRecord]) -> None:
    """Insert chunks (tuples in ``CHUNK_COLUMNS`` order), in this connection's transaction.

    PostgreSQL: one binary ``COPY`` instead of multi-row INSERTs. COPY costs the worker a third
    of the CPU and the server less parsing and planning: this is the heaviest write a worker
    makes. The records go to the driver as they are: no pass over them here.
    """
    if not records:
        return
    if conn.dialect.name != "postgresql":
        await conn.exec_driver_sql(_INSERT_CHUNKS_SQLITE, list(records))
        return
    raw = await conn.get_raw_connection()  # the same session as ``conn``
    driver = raw.driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter begins its transaction at the first statement it runs;
        # a COPY sent before that would commit on its own.
        await conn.execute(sa.select(1))
    try:
        await driver.copy_records_to_table("chunks", records=records, columns=CHUNK_COLUMNS)
    except Exception as exc:
        raise await _as_sqlalchemy_error(conn, raw.dbapi_connection, exc) from exc


async def _as_sqlalchemy_error(conn: AsyncConnection, adapted: Any, exc: Exception) -> Exception:
    """The error SQLAlchemy would have raised for a statement of its own, so callers see one
    family (``IntegrityError``, ``DBAPIError.connection_invalidated`` …) whatever ran it.

    ``_handle_exception`` is the adapter's own asyncpg → DB-API translation (private, but the
    one SQLAlchemy runs for every statement: tests/store/test_chunks.py pins the behaviour).
    """
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    try:
        adapted._handle_exception(exc)
    except dbapi_error as translated:
        lost = conn.dialect.is_disconnect(translated, adapted, None)  # type: ignore[arg-type]
        if lost:
            await conn.invalidate(translated)
        return sa.exc.DBAPIError.instance(
            "COPY chunks", None, translated, dbapi_error, connection_invalidated=lost
        )
    except Exception as other:  # not a database error at all (a bad value for a column, say)
        return other
    return exc


async def delete_chunks(conn: AsyncConnection, file_id: str) -> None:
    await conn.execute(chunks.delete().where(chunks.c.file_id == file_id))


# What a reader sees of a chunk (its file's chunk list, a search hit).
CHUNK_VIEW = (
    chunks.c.idx,
    chunks.c.text,
    chunks.c.start,
    chunks.c.end,
    chunks.c.metadata,
    chunks.c.embedder,
)


async def list_chunks(
    conn: AsyncConnection, file_id: str, *, after_index: int = -1, limit: int = 50
) -> list[dict[str, Any]]:
    query = (
        sa.select(*CHUNK_VIEW)
        .where(chunks.c.file_id == file_id, chunks.c.idx > after_index)
        .order_by(chunks.c.idx)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def count_by_status(conn: AsyncConnection, tenant: str | None) -> dict[str, int]:
    query = _scoped(sa.select(files.c.status, sa.func.count()).group_by(files.c.status), tenant)
    return {str(k): int(v) for k, v in (await conn.execute(query)).all()}
