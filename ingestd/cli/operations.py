"""``ingestd errors``, ``ingestd retry`` and ``ingestd usage``: see what failed and why, retry
it by filter, read usage; on the SDK."""

from __future__ import annotations

from typing import Annotated

import typer

from ingestd.cli.connect import Key, Url, connected


def errors(
    since: Annotated[
        str, typer.Option(help="an RFC 3339 time or a duration back: 24h, 7d")
    ] = "24h",
    bucket: Annotated[str, typer.Option(help="the time buckets: 5m, 1h, 1d")] = "1h",
    url: Url = None,
    key: Key = None,
) -> None:
    """Failed files grouped by error code, type and source, each with an example."""
    from rich.text import Text

    from ingestd.cli.console import stdout
    from ingestd.cli.render import fitted, table

    with connected(url, key) as client:
        report = client.errors(since=since, bucket=bucket)
    out = stdout()
    if not report.items:
        out.print(f"no failed files since {report.since}", highlight=False)
        return
    grid = table("count", "code", "type", "source", "example", wrap=("example",))
    for group in report.items:
        example = group.example
        grid.add_row(
            str(group.count),
            group.code or "",
            Text(group.mime_type or ""),
            group.source_type or "",
            Text(f"{example.get('file_id', '')}: {example.get('message') or ''}"),
        )
    out.print(fitted(grid, out.width, give_way=("example", "type"), least=20))
    top = report.items[0]
    if top.code:
        out.print(
            f"{report.total} failed since {report.since}; retry one kind: "
            f"ingestd retry --code {top.code} --dry-run",
            highlight=False,
        )


def retry(
    code: Annotated[str | None, typer.Option("--code", help="the error code, e.g. timeout")] = None,
    job: Annotated[str | None, typer.Option("--job", help="only this job's files")] = None,
    mime_type: Annotated[str | None, typer.Option("--type", help="e.g. application/pdf")] = None,
    source_type: Annotated[
        str | None, typer.Option("--source-type", help="upload, directory, zip, url, s3")
    ] = None,
    status: Annotated[
        str, typer.Option(help="failed (the default) or cancelled, or both: failed,cancelled")
    ] = "failed",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count only; change nothing")] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Queue again every failed file that matches (--code, --job, --type, --source-type)."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        result = client.files.retry_matching(
            status=status,
            error_code=code,
            job_id=job,
            mime_type=mime_type,
            source_type=source_type,
            dry_run=dry_run,
        )
    if dry_run:
        stdout().print(
            f"{result.matched} file(s) match; nothing changed (--dry-run)", highlight=False
        )
    else:
        stdout().print(f"retried {result.retried} file(s)", highlight=False)


def usage(
    first: Annotated[
        str | None, typer.Option("--from", help="first UTC day, 2026-12-01 (30 days back)")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="last UTC day (today)")] = None,
    group_by: Annotated[
        str, typer.Option(help="day, tenant, pipeline, or e.g. day,tenant")
    ] = "day",
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Usage per day, tenant or pipeline: jobs, files, bytes, pages, chunks, CPU seconds."""
    from ingestd.cli.console import stdout
    from ingestd.cli.render import fitted, size, table

    out = stdout()
    with connected(url, key) as client:
        if as_csv:
            text = client.usage_csv(from_=first, to=last, group_by=group_by)
            out.file.write(text)
            return
        report = client.usage(from_=first, to=last, group_by=group_by)
    groups = report.group_by
    grid = table(*groups, "jobs", "files", "bytes", "pages", "chunks", "cpu s")
    for row in report.items:
        grid.add_row(
            *(str(getattr(row, g) or "") for g in groups),
            str(row.jobs),
            str(row.files),
            size(row.bytes),
            str(row.pages),
            str(row.chunks),
            f"{row.cpu_seconds:.1f}",
        )
    out.print(fitted(grid, out.width, give_way=("pages", "chunks")))
    if not report.items:
        out.print(f"no usage from {report.from_} to {report.to}", highlight=False)
