"""``ingestd keys``: manage API keys directly in the server's database (run where it runs).

These commands open an existing database and never create one: run in the wrong directory, they
say which database they looked for and how to name the right one, instead of quietly making a
new, empty database whose keys the server would never accept.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ingestd.cli.connect import fail
from ingestd.cli.options import DatabaseUrl, DataDir
from ingestd.domain.auth import Role

if TYPE_CHECKING:
    from ingestd.store.db import Database

app = typer.Typer(
    help="Create, list and revoke API keys.", no_args_is_help=True, add_completion=False
)

WHERE = (
    "pass --data-dir (the server's data directory) or --database-url (INGESTD_DATA_DIR, "
    "INGESTD_DATABASE_URL), or create it with `ingestd serve` or `ingestd migrate`"
)


def _locate(data_dir: object, database_url: object) -> tuple[str, str]:
    """The server's database URL, and where it is for people; refuses one that is not there."""
    from ingestd.cli.options import settings_from
    from ingestd.store.db import describe_url, missing_sqlite_file

    url = settings_from(data_dir=data_dir, database_url=database_url).resolved_database_url
    where = describe_url(url)
    if missing_sqlite_file(url):
        fail(f"no database at {where}; {WHERE}")
    return url, where


async def _open(url: str, where: str) -> Database:
    """The database, migrated to this version's schema."""
    from ingestd.store.db import Database
    from ingestd.store.migrate import upgrade

    try:
        await upgrade(url)
    except Exception as exc:  # unreachable server, no such database, wrong password…
        fail(f"cannot open the database at {where} ({type(exc).__name__}: {exc}); {WHERE}")
    return Database(url)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    role: Annotated[Role, typer.Option(help="admin, member or viewer")] = Role.MEMBER,
    tenant: Annotated[str, typer.Option(help="the tenant the key acts in")] = "default",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it (it is shown only now)."""
    from ingestd.services import keys as key_service

    url, where = _locate(data_dir, database_url)

    async def run() -> str:
        db = await _open(url, where)
        try:
            _row, plain = await key_service.create_key(db, name=name, role=role, tenant=tenant)
        finally:
            await db.close()
        return plain

    plain = asyncio.run(run())
    typer.echo(plain)
    typer.echo(f"# {role.value} key for tenant {tenant!r}, written to {where}", err=True)
    typer.echo(f"# export INGESTD_KEY={plain}", err=True)


@app.command("list")
def list_keys(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """List keys that are not revoked."""
    from ingestd.cli.console import stderr, stdout
    from ingestd.cli.render import fitted, table
    from ingestd.domain.times import rfc3339
    from ingestd.store import keys as key_store

    url, where = _locate(data_dir, database_url)

    async def run() -> list[dict[str, Any]]:
        db = await _open(url, where)
        try:
            async with db.read() as conn:
                return await key_store.list_keys(conn, None)
        finally:
            await db.close()

    rows = asyncio.run(run())
    grid = table("id", "name", "role", "tenant", "prefix", "created", "last used")
    for row in rows:
        grid.add_row(
            str(row["id"]),
            str(row["name"]),
            str(row["role"]),
            str(row["tenant"]),
            f"{row['prefix']}…",
            (rfc3339(row["created_at"]) or "")[:10],
            (rfc3339(row["last_used_at"]) or "never")[:10],
        )
    out = stdout()
    give_way = ("name", "tenant", "prefix", "last used", "created")
    out.print(fitted(grid, out.width, give_way=give_way))
    stderr().print(f"# keys in {where}", highlight=False)


@app.command("revoke")
def revoke(key_id: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Revoke a key by id (key_…)."""
    from ingestd.domain.auth import Principal
    from ingestd.domain.errors import IngestdError
    from ingestd.domain.times import rfc3339
    from ingestd.services import keys as key_service

    url, where = _locate(data_dir, database_url)

    async def run() -> None:
        db = await _open(url, where)
        try:
            await key_service.revoke(db, Principal("cli", "default", Role.ADMIN), key_id)
        finally:
            await db.close()

    try:
        asyncio.run(run())
    except IngestdError as exc:
        fail(exc.detail)
    typer.echo(f"revoked {key_id} at {rfc3339(time.time())} in {where}")
