"""``ingestd jobs …`` and ``ingestd files``: list, inspect and control jobs, on the SDK."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from ingestd.cli.connect import Key, Url, connected

if TYPE_CHECKING:
    from rich.text import Text

    from ingestd.client import File

app = typer.Typer(
    help="List, inspect and control jobs.", no_args_is_help=True, add_completion=False
)

JobId = Annotated[str, typer.Argument(help="the job (job_…)", show_default=False)]


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="e.g. running,paused")] = None,
    limit: Annotated[int, typer.Option(min=1, help="how many, newest first")] = 20,
    url: Url = None,
    key: Key = None,
) -> None:
    """Jobs, newest first, with their files done of all and the percent they make."""
    from rich.text import Text

    from ingestd.cli.console import stdout
    from ingestd.cli.render import file_count, fitted, table, when

    with connected(url, key) as client:
        jobs = list(client.jobs.list(status=status, limit=limit))
    grid = table("id", "status", "files", "%", "name", "created")
    for job in jobs:
        files = job.progress.files
        percent = 100.0 * files.done / files.total if files.total else 0.0
        grid.add_row(
            job.id,
            job.status,
            file_count(files),
            f"{percent:.1f}",
            Text(job.name),
            when(job.created_at),
        )
    out = stdout()
    out.print(fitted(grid, out.width, give_way=("name", "created", "files")))


@app.command("show")
def show(job_id: JobId, url: Url = None, key: Key = None) -> None:
    """One job as JSON."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        job = client.jobs.get(job_id)
    stdout().print_json(data=job.raw)


def _command(name: str, help_text: str) -> None:
    def command(job_id: JobId, url: Url = None, key: Key = None) -> None:
        from ingestd.cli.console import stdout

        with connected(url, key) as client:
            job = getattr(client.jobs, name)(job_id)
        stdout().print(f"{job.id}: {job.status}", highlight=False)

    command.__doc__ = help_text
    app.command(name)(command)


for _name, _help in (
    ("start", "Queue a job created with --no-start."),
    ("pause", "Stop claiming the job's files (those in flight finish)."),
    ("resume", "Claim the job's files again."),
    ("cancel", "Stop a job: queued files are cancelled, files in flight are told to stop."),
    ("seal", "Tell an upload job that no more files are coming."),
):
    _command(_name, _help)


@app.command("retry")
def retry(
    job_id: JobId,
    run_all: Annotated[
        bool,
        typer.Option("--all", help="run cancelled files too: runs a cancelled or failed job again"),
    ] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Queue a job's failed files again (with --all, its cancelled ones too)."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        job = client.jobs.retry(job_id, failed_only=not run_all)
    stdout().print(f"{job.id}: {job.status}", highlight=False)


@app.command("timings")
def timings(
    job_id: JobId,
    slowest: Annotated[int, typer.Option(min=0, max=100, help="how many slowest files")] = 5,
    url: Url = None,
    key: Key = None,
) -> None:
    """Where a job's time went: wall and CPU per step, queue wait, slowest files."""
    from rich.text import Text

    from ingestd.cli.console import stdout
    from ingestd.cli.render import fitted, table

    with connected(url, key) as client:
        report = client.jobs.timings(job_id, slowest=slowest)
    out = stdout()
    steps = table("step", "files", "wall ms", "cpu ms", "mean ms", "share")
    for name, step in report.steps.items():
        steps.add_row(
            name,
            str(step.files),
            str(step.wall_ms),
            str(step.cpu_ms),
            f"{step.mean_wall_ms:.1f}",
            f"{100 * step.share:.0f}%",
        )
    out.print(fitted(steps, out.width, give_way=("mean ms",)))
    wait = report.queue_wait_ms
    out.print(f"queue wait: {'-' if wait is None else f'{wait:.0f} ms'} (mean)", highlight=False)
    if report.slowest:
        slow = table("file", "ms", "path")
        for item in report.slowest:
            slow.add_row(item.file_id, str(item.duration_ms), Text(item.path))
        out.print(fitted(slow, out.width, give_way=("path",)))


@app.command("delete")
def delete(job_id: JobId, url: Url = None, key: Key = None) -> None:
    """Delete a job with its files and chunks."""
    from ingestd.cli.console import stdout

    with connected(url, key) as client:
        client.jobs.delete(job_id)
    stdout().print(f"deleted {job_id}", highlight=False)


def files(
    job_id: JobId,
    status: Annotated[str | None, typer.Option(help="e.g. failed")] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """A job's files, and its sources that failed."""
    from rich.text import Text

    from ingestd.cli.console import stdout
    from ingestd.cli.render import fitted, size, table

    with connected(url, key) as client:
        job = client.jobs.get(job_id)
        items = list(client.jobs.files(job_id, status=status))
    out = stdout()
    wide = out.width >= 110  # size and chunks give way on narrow terminals
    columns = (
        ("id", "path", "status", "size", "chunks", "error")
        if wide
        else ("id", "path", "status", "error")
    )
    grid = table(*columns, wrap=("error",))
    if status in (None, "failed"):
        for source in job.failed_sources:
            error = source.error
            assert error is not None
            cells: list[str | Text] = [
                f"source {source.index}",
                Text(f"({source.type}{' ' + source.path if source.path else ''})"),
                "failed",
                "",
                "",
                Text(f"{error.code}: {error.message or ''}"),
            ]
            grid.add_row(*(cells if wide else [*cells[:3], cells[5]]))
    for item in items:
        size_text, chunks, reason = _details(item, size)
        cells = [item.id, Text(item.relative_path), str(item.status), size_text, chunks, reason]
        grid.add_row(*(cells if wide else [*cells[:3], cells[5]]))
    out.print(fitted(grid, out.width, give_way=("error", "path"), least=20))


def _details(item: File, size: Callable[[float], str]) -> tuple[str, str, Text]:
    from rich.text import Text

    error = item.error
    reason = f"{error.code}: {error.message or ''}" if error else ""
    if item.duplicate_of:
        reason = f"duplicate of {item.duplicate_of}"
    return size(item.size), str(item.chunks or ""), Text(reason)
