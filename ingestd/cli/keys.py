"""``ingestd keys``: manage API keys directly in the database (run where the server runs)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ingestd.cli.options import DatabaseUrl, DataDir, settings_from
from ingestd.domain.auth import Principal, Role
from ingestd.domain.times import rfc3339
from ingestd.services import keys as key_service
from ingestd.store import keys as key_store
from ingestd.store.db import Database
from ingestd.store.migrate import upgrade

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
out = Console()


async def _db(data_dir: object, database_url: object) -> Database:
    settings = settings_from(data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.resolved_database_url)
    return Database(settings.resolved_database_url)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    role: Annotated[Role, typer.Option(help="admin, member or viewer")] = Role.MEMBER,
    tenant: Annotated[str, typer.Option(help="the tenant the key acts in")] = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it (it is shown only now)."""

    async def run() -> str:
        db = await _db(data_dir, database_url)
        try:
            _row, plain = await key_service.create_key(db, name=name, role=role, tenant=tenant)
        finally:
            await db.close()
        return plain

    plain = asyncio.run(run())
    typer.echo(plain)
    typer.echo(f"# {role.value} key for tenant {tenant!r}: export INGESTD_KEY={plain}", err=True)


@app.command("list")
def list_keys(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List keys that are not revoked."""

    async def run() -> list[dict[str, Any]]:
        db = await _db(data_dir, database_url)
        try:
            async with db.read() as conn:
                return await key_store.list_keys(conn, None)
        finally:
            await db.close()

    table = Table("id", "name", "role", "tenant", "prefix", "created", "last used")
    for row in asyncio.run(run()):
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            str(row["role"]),
            str(row["tenant"]),
            f"{row['prefix']}…",
            rfc3339(row["created_at"]),
            rfc3339(row["last_used_at"]) or "never",
        )
    out.print(table)


@app.command("revoke")
def revoke(key_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Revoke a key by id (key_…)."""

    async def run() -> None:
        db = await _db(data_dir, database_url)
        try:
            await key_service.revoke(db, Principal("cli", "default", Role.ADMIN), key_id)
        finally:
            await db.close()

    try:
        asyncio.run(run())
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id} at {rfc3339(time.time())}")
