"""Chunk writes: PostgreSQL takes them by COPY, SQLite by INSERT; both must store the same."""

from __future__ import annotations

import struct
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from ingestd.store import files as file_store
from ingestd.store.db import Database, is_unavailable
from ingestd.store.tables import chunks, files
from tests.queue.factory import make_job


async def _a_file(db: Database) -> tuple[str, str]:
    job_id = await make_job(db, 1)
    async with db.read() as conn:
        file_id = (await conn.execute(sa.select(files.c.id))).scalar_one()
    return job_id, file_id


def _records(rows: list[dict[str, Any]]) -> list[file_store.ChunkRecord]:
    """As the parser hands them over: in column order, the metadata as JSON text."""
    return [
        tuple(
            orjson.dumps(row[name]).decode() if name == "metadata" else row[name]
            for name in file_store.CHUNK_COLUMNS
        )
        for row in rows
    ]


def _rows(job_id: str, file_id: str, n: int) -> list[dict[str, Any]]:
    return [
        {
            "file_id": file_id,
            "job_id": job_id,
            "tenant": "t",
            "idx": i,
            "text": f"chunk {i}: naïve café — \u4e2d\u6587 \t tab\nnewline \\ backslash",
            "start": i * 10,
            "end": i * 10 + 9,
            "metadata": {"page": i, "title": "Ünïcode", "nested": {"list": [1, None, "x"]}},
            "embedder": "hash-64" if i % 2 else None,
            "dim": 2 if i % 2 else None,
            "vector": struct.pack("<2f", 0.5, -1.25) if i % 2 else None,
        }
        for i in range(n)
    ]


async def test_chunks_round_trip_every_column(db: Database) -> None:
    job_id, file_id = await _a_file(db)
    rows = _rows(job_id, file_id, 50)
    async with db.write() as conn:
        await file_store.insert_chunks(conn, _records(rows))
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(chunks).order_by(chunks.c.idx))).mappings().all()
    assert len(stored) == 50
    for want, got in zip(rows, stored, strict=True):
        assert {k: got[k] for k in want} == want
    assert len({row["id"] for row in stored}) == 50  # ids come from the database


async def test_chunks_are_part_of_the_transaction(db: Database) -> None:
    """A completion that fails after writing its chunks must leave none behind."""
    job_id, file_id = await _a_file(db)
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await file_store.insert_chunks(conn, _records(_rows(job_id, file_id, 5)))
            raise RuntimeError("the rest of the completion failed")
    async with db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(chunks))).scalar_one()
    assert count == 0


async def test_a_duplicate_chunk_is_refused(db: Database) -> None:
    """(file_id, idx) is unique: a file's chunks are never stored twice, COPY or not."""
    job_id, file_id = await _a_file(db)
    async with db.write() as conn:
        await file_store.insert_chunks(conn, _records(_rows(job_id, file_id, 3)))
    with pytest.raises(sa.exc.IntegrityError):
        async with db.write() as conn:
            await file_store.insert_chunks(conn, _records(_rows(job_id, file_id, 1)))


async def test_no_chunks_writes_nothing(db: Database) -> None:
    async with db.write() as conn:
        await file_store.insert_chunks(conn, [])


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # COPY is PostgreSQL's
async def test_a_connection_lost_mid_copy_reads_as_unavailable(db: Database) -> None:
    """The worker hands a file back (no attempt lost) when the database went away: a COPY that
    fails that way must say so like any other statement."""
    job_id, file_id = await _a_file(db)
    with pytest.raises(sa.exc.DBAPIError) as caught:
        async with db.write() as conn:
            pid = (await conn.execute(sa.select(sa.func.pg_backend_pid()))).scalar_one()
            async with db.read() as other:
                await other.execute(sa.select(sa.func.pg_terminate_backend(pid)))
            await file_store.insert_chunks(conn, _records(_rows(job_id, file_id, 3)))
    assert is_unavailable(caught.value)
    async with db.read() as conn:  # the pool hands out a working connection again
        count = (await conn.execute(sa.select(sa.func.count()).select_from(chunks))).scalar_one()
    assert count == 0
