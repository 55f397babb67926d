"""``ingestd gc``: delete the blobs no file names any more (run where the server runs)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingestd.cli.options import BlobUrl, DatabaseUrl, DataDir, setting, settings_from
from ingestd.config import Settings
from ingestd.services.blob_gc import SweepReport, human_bytes, sweep_blobs

SHORT_GRACE = 3600.0  # seconds: below this, uploads still being registered may lose their blob
SAMPLE = 20  # blobs named in the output


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would be freed; delete nothing")
    ] = False,
    grace: Annotated[
        float | None,
        setting(
            "blob_gc_grace_seconds",
            "--grace",
            help="delete only blobs older than this many seconds",
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    blob_url: BlobUrl = None,
) -> None:
    """Delete blobs that no file names and that are older than the grace period (safe while
    the service runs; docs/storage.md)."""
    err = Console(stderr=True)
    settings = settings_from(
        data_dir=data_dir,
        database_url=database_url,
        blob_url=blob_url,
        blob_gc_grace_seconds=grace,
    )
    if settings.blob_gc_grace_seconds < SHORT_GRACE:
        err.print(
            f"[yellow]warning:[/] a grace period of {settings.blob_gc_grace_seconds:.0f} s may "
            "delete blobs of uploads that are still being registered; use it only while no "
            "ingestd process is running"
        )
    try:
        report = asyncio.run(_sweep(settings, dry_run))
    except Exception as exc:  # the database, the store, or a grace too short for the store
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    _show(report)


async def _sweep(settings: Settings, dry_run: bool) -> SweepReport:
    from ingestd.blobs.url import open_blob_store
    from ingestd.store.db import Database
    from ingestd.store.migrate import upgrade

    if not settings.database_url:  # the SQLite file lives there
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        return await sweep_blobs(
            db,
            open_blob_store(settings),
            grace=settings.blob_gc_grace_seconds,
            dry_run=dry_run,
            sample=SAMPLE,
        )
    finally:
        await db.close()


def _show(report: SweepReport) -> None:
    out = Console()
    verb = "would delete" if report.dry_run else "deleted"
    out.print(
        f"Blobs in [bold]{report.store}[/] older than the grace period ({_hours(report.grace)}):",
        highlight=False,
    )
    table = Table(show_header=False)
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_row("older than the grace period", f"{report.listed:,}")
    table.add_row("kept: still named by a file", f"{report.referenced:,}")
    table.add_row("kept: reused while sweeping", f"{report.reused:,}")
    table.add_row(verb, f"{report.deleted:,}")
    out.print(table)
    if report.sample:
        listing = Table(title=f"{verb} (first {len(report.sample)})", title_justify="left")
        listing.add_column("blob", overflow="fold")  # a sha256 is never cut short
        listing.add_column("size", justify="right")
        listing.add_column("age", justify="right")
        now = time.time()
        for blob in report.sample:
            listing.add_row(blob.key, human_bytes(blob.size), _hours(now - blob.modified))
        out.print(listing)
    freed = f"[bold]{human_bytes(report.bytes_freed)}[/] ({_blobs(report.deleted)})"
    if report.dry_run:
        out.print(f"Would free {freed}; dry run: nothing deleted.", highlight=False)
    else:
        out.print(f"Freed {freed} in {report.seconds:.1f} s.", highlight=False)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def _blobs(count: int) -> str:
    return f"{count:,} blob" + ("" if count == 1 else "s")
