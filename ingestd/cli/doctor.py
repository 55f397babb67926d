"""``ingestd doctor``."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from ingestd.cli.options import BlobUrl, Clamd, DatabaseUrl, DataDir, SourceRoots, settings_from
from ingestd.services.doctor import Finding, Status, broken, diagnose

WIDTH = 80  # the table fits a classic terminal
MARKS = {Status.OK: "[green]ok[/]", Status.WARN: "[yellow]warn[/]", Status.FAIL: "[red]FAIL[/]"}


def doctor(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    source_root: SourceRoots = None,
    clamd: Clamd = None,
    blob_url: BlobUrl = None,
) -> None:
    """Check this installation: settings, database, blob store, clamd, extras, disk, roots."""
    settings = settings_from(  # a missing extra is a row of the table, not a usage error
        check_extras=False,
        data_dir=data_dir,
        database_url=database_url,
        source_roots=source_root,
        clamd=clamd,
        blob_url=blob_url,
    )
    findings = asyncio.run(diagnose(settings))
    console = Console(width=WIDTH, soft_wrap=False)
    console.print(render(findings))
    if broken(findings):
        failed = sum(f.status is Status.FAIL for f in findings)
        console.print(f"[red]{failed} problem(s) to fix[/] (see the fix column)")
        raise typer.Exit(1)
    console.print("[green]ready to run[/]")


def render(findings: list[Finding]) -> Table:
    table = Table(show_lines=False, expand=False, width=WIDTH, pad_edge=False)
    table.add_column("check", no_wrap=True, max_width=12)
    table.add_column("", no_wrap=True, width=4)
    table.add_column("found", ratio=3, overflow="fold")
    table.add_column("fix", ratio=2, overflow="fold")
    for finding in findings:
        table.add_row(finding.check, MARKS[finding.status], finding.detail, finding.fix)
    return table
