"""Apply the Alembic migrations (at start of ``serve``/``worker`` and by ``ingestd migrate``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``. Safe to call on every start."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several processes may start at once: one migrates, the others wait.
                await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7250001)")
            await connection.run_sync(_upgrade, url, revision)
    finally:
        await engine.dispose()


def upgrade_sync(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))


async def revisions(url: str) -> tuple[set[str], set[str]]:
    """(the revisions the database at ``url`` is at, the heads this code brings): equal when
    it is up to date. Raises what the driver raises when the database cannot be reached."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    finally:
        await engine.dispose()
    return current, heads
