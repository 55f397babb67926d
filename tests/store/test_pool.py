"""The PostgreSQL pool without ``pool_pre_ping``: a connection that the server closed is
replaced at checkout, with no error for the caller (a restart ends every backend this way)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from ingestd.store.db import Database


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    db = Database(database_url, pool_size=1)
    other = Database(database_url, pool_size=1)
    try:
        async with db.read() as conn:
            first = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        async with other.write() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket
        async with db.read() as conn:
            second = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await db.close()
        await other.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_checkout_costs_no_round_trip(database_url: str) -> None:
    """A checkout sends nothing of its own before the caller's statements (``pool_pre_ping``
    sent BEGIN, a ping and ROLLBACK each time): the driver's query log sees only ours."""
    db = Database(database_url, pool_size=1)
    sent: list[str] = []
    try:
        async with db.read() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            raw.driver_connection.add_query_logger(lambda record: sent.append(record.query))
        for _ in range(3):
            async with db.read() as conn:  # the same pooled connection (pool_size=1)
                await conn.execute(sa.text("SELECT 1"))
        # Only each transaction's own BEGIN and COMMIT (the driver logs no prepared statements).
        assert sent == ["BEGIN;", "COMMIT;"] * 3, sent
    finally:
        await db.close()
