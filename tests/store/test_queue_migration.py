"""Migration 0005 (queue indexes) goes down and up again on both dialects."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ingestd.store.migrate import alembic_config, upgrade


def _downgrade_to_0004(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, "0004")


def _file_indexes(connection: Connection) -> set[str]:
    return {str(ix["name"]) for ix in inspect(connection).get_indexes("files")}


async def test_0005_downgrades_and_upgrades(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_0004, database_url)
            before = await connection.run_sync(_file_indexes)
        assert "ix_files_claim_order" in before and "ix_files_job_claim_order" not in before
        await upgrade(database_url)
        async with engine.connect() as connection:
            after = await connection.run_sync(_file_indexes)
        assert {"ix_files_job_claim_order", "ix_files_status_lease_expires_at"} <= after
        assert "ix_files_claim_order" not in after
    finally:
        await engine.dispose()
