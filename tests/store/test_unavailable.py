"""``is_unavailable`` tells "the database is not there right now" (retry) from "this statement is
wrong" (do not), with the errors real drivers raise."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ingestd.store.db import Database, is_unavailable
from tests.e2e.conftest import free_port


async def test_a_server_that_does_not_answer_is_unavailable() -> None:
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        async with db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        assert is_unavailable(exc), repr(exc)
    else:
        raise AssertionError("connected to a port nobody listens on")
    finally:
        await db.close()


async def test_a_wrong_statement_is_not_unavailable(db: Database) -> None:
    try:
        async with db.read() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))
    except DBAPIError as exc:
        assert not is_unavailable(exc)
    else:
        raise AssertionError("the statement should have failed")


def test_the_cause_chain_is_followed_not_the_context() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed")
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = refused
    assert is_unavailable(wrapped)
    unrelated = ValueError("bad query")
    unrelated.__context__ = refused  # raised while handling a network error: not the reason
    assert not is_unavailable(unrelated)
