"""``ingestd watch``, and the live view and summary ``submit --watch`` shares with it.

The view follows the job through the SDK (``AsyncClient.jobs.wait``): the job's line from its
progress (``detail="summary"``), one line per file in flight from ``file.progress`` events when
the server sends them (``--files`` asks for them), then a summary that names failed files and
sources and suggests a retry only when one could help.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from ingestd.cli import _stop
from ingestd.cli.connect import Key, Url, explain, fail, make_async_client

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from ingestd.client import AsyncClient, Event, Job, Progress

FILE_ROWS = 5  # files in flight shown at once


def watch(
    job_id: Annotated[str, typer.Argument(help="the job (job_…)")],
    files: Annotated[
        bool, typer.Option("--files", help="a line for each file in flight, with its bytes")
    ] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Follow a job until it ends (Ctrl-C stops watching, not the job)."""
    raise typer.Exit(watch_job(job_id, url=url, key=key, files=files))


def watch_job(job_id: str, *, url: str | None, key: str | None, files: bool = False) -> int:
    """Show the job moving until it ends, then its summary; the exit code (0: completed)."""
    from ingestd.client import IngestdClientError

    _stop.when_stopped(_stop.watching(job_id))
    try:
        return asyncio.run(_watch(job_id, url, key, files))
    except IngestdClientError as exc:
        fail(explain(exc, key))


async def _watch(job_id: str, url: str | None, key: str | None, files: bool) -> int:
    from ingestd.cli.console import stderr

    async with make_async_client(url, key) as client:
        job = await follow(client, job_id, stderr(), files=files)
        return await summary(client, job, stderr())


@dataclass
class _InFlight:
    name: str
    step: str = ""
    fraction: float = 0.0
    size: int | None = None


@dataclass
class JobView:
    """What the terminal shows while a job runs (a Rich renderable)."""

    name: str
    progress: Progress | None = None
    files: dict[str, _InFlight] = field(default_factory=dict)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from ingestd.cli.render import file_line, job_line

        width = options.max_width
        if self.progress is not None:
            yield job_line(self.name, self.progress, width)
        for row in list(self.files.values())[:FILE_ROWS]:
            yield file_line(row.name, row.step, row.fraction, row.size, width)


async def follow(client: AsyncClient, job_id: str, console: Console, *, files: bool) -> Job:
    """Follow the job to its end with a live view on ``console``; the final Job."""
    from rich.live import Live

    job = await client.jobs.get(job_id)
    view = JobView(job.name)
    sizes: dict[str, asyncio.Task[None]] = {}

    def on_progress(progress: Progress) -> None:
        view.progress = progress

    async def size_of(file_id: str) -> None:
        row = view.files.get(file_id)
        if row is not None and row.size is None:
            row.size = (await client.files.get(file_id)).size

    def on_event(event: Event) -> None:
        if event.file_id is None:
            return
        if event.type == "file.progress":
            row = view.files.setdefault(event.file_id, _InFlight(str(event.data.get("name", ""))))
            row.step = str(event.data.get("step") or "")
            row.fraction = float(event.data.get("progress") or 0.0)
            known = event.data.get("size")
            if isinstance(known, int):
                row.size = known
            elif event.file_id not in sizes:  # once per file, not holding up the stream
                sizes[event.file_id] = asyncio.create_task(size_of(event.file_id))
        elif event.type.ends_file:
            view.files.pop(event.file_id, None)

    with Live(view, console=console, refresh_per_second=8, transient=False):
        try:
            final = await client.jobs.wait(
                job_id,
                on_progress=on_progress,
                on_event=on_event,
                detail="full" if files else "summary",
            )
        finally:
            for task in sizes.values():
                task.cancel()
            view.files.clear()
    if not console.is_terminal:
        console.line()  # Live leaves its last frame without a line end when not on a terminal
    return final


async def summary(client: AsyncClient, job: Job, console: Console) -> int:
    """The job's outcome in a few lines; the exit code (0 only when it completed)."""
    from rich.markup import escape

    from ingestd.cli.render import duration, rate, size
    from ingestd.client import JobStatus

    files, sizes = job.progress.files, job.progress.bytes
    colour = {"completed": "green", "failed": "red", "cancelled": "yellow"}.get(job.status, "")
    counts = f"{files.completed:,} completed, {files.failed:,} failed, {files.skipped:,} skipped"
    if files.cancelled:
        counts += f", {files.cancelled:,} cancelled"
    took = _elapsed(job)
    moved = f"{size(sizes.completed)}" + (
        f" in {duration(took)} ({rate(sizes.completed / took)})" if took else ""
    )
    console.print(
        f"[bold {colour}]{job.status}[/]: {counts} of {files.total:,} file(s); {moved}",
        highlight=False,
    )
    for source in job.failed_sources:
        where = f" {source.path}" if source.path else ""
        error = source.error
        assert error is not None
        console.print(
            f"[red]source {source.index} ({source.type}{escape(where)}) failed:[/] "
            f"{escape(error.code)}: {escape(error.message or '')}",
            highlight=False,
        )
    retryable = await _failed_table(client, job, console) if files.failed else False
    if retryable:
        console.print(f"retry them: [bold]ingestd jobs retry {job.id}[/]", highlight=False)
    if job.status is JobStatus.CANCELLED and files.cancelled:
        console.print(f"run it again: [bold]ingestd jobs retry --all {job.id}[/]", highlight=False)
    return 0 if job.status is JobStatus.COMPLETED else 1


async def _failed_table(client: AsyncClient, job: Job, console: Console) -> bool:
    """Print the failed files; whether any of them could pass on another attempt."""
    from rich.text import Text

    from ingestd.cli.render import table

    grid = table("file", "error", "message")
    grid.title, grid.title_justify = "Failed files", "left"
    grid.columns[2].overflow, grid.columns[2].no_wrap = "fold", False
    retryable = False
    async for item in client.jobs.files(job.id, status="failed"):
        error = item.error
        retryable = retryable or error is None or error.retryable
        code = error.code if error else ""
        grid.add_row(Text(item.relative_path), code, Text(error.message or "" if error else ""))
    console.print(grid)
    return retryable


def _elapsed(job: Job) -> float | None:
    if job.started_at is None or job.completed_at is None:
        return None
    seconds = (job.completed_at - job.started_at).total_seconds()
    return seconds if seconds > 0 else None


__all__ = ["JobView", "follow", "summary", "watch", "watch_job"]
