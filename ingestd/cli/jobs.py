"""``ingestd jobs …`` and ``ingestd files``: list, inspect and control jobs."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ingestd.cli.options import Key, Url, with_client

app = typer.Typer(help="List, inspect and control jobs.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _run(url: str | None, key: str | None, fn: Any) -> Any:
    return with_client(url, key, fn)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="e.g. running,paused")] = None,
    limit: int = 20,
    url: Url = None,
    key: Key = None,
) -> None:
    """Jobs, newest first."""
    page = _run(url, key, lambda c: c.list_jobs(status=status, limit=limit))
    table = Table("id", "name", "status", "files", "percent", "created")
    for job in page["items"]:
        files = job["progress"]["files"]
        table.add_row(
            job["id"],
            job["name"],
            job["status"],
            f"{files['completed']}/{files['total']} ({files['failed']} failed)",
            f"{job['progress']['percent']:.1f}%",
            job["created_at"],
        )
    out.print(table)


@app.command("show")
def show(job_id: str, url: Url = None, key: Key = None) -> None:
    """One job as JSON."""
    out.print_json(data=_run(url, key, lambda c: c.get_job(job_id)))


def _action(action: str) -> Any:
    def command(job_id: str, url: Url = None, key: Key = None) -> None:
        job = _run(url, key, lambda c: c.job_action(job_id, action))
        out.print(f"{job['id']}: {job['status']}")

    command.__doc__ = f"{action.capitalize()} a job."
    return command


for _name in ("start", "pause", "resume", "cancel", "retry", "seal"):
    app.command(_name)(_action(_name))


@app.command("delete")
def delete(job_id: str, url: Url = None, key: Key = None) -> None:
    """Delete a job with its files and chunks."""
    _run(url, key, lambda c: c.delete_job(job_id))
    out.print(f"deleted {job_id}")


def files(
    job_id: str,
    status: Annotated[str | None, typer.Option(help="e.g. failed")] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """A job's files."""
    items = _run(url, key, lambda c: c.all_files(job_id, status=status))
    table = Table("id", "path", "status", "type", "size", "chunks", "error")
    for item in items:
        error = item.get("error") or {}
        table.add_row(
            item["id"],
            item["path"],
            item["status"],
            item["mime_type"] or "",
            f"{item['size']:,}",
            str(item["chunks"] or ""),
            f"{error.get('code')}: {error.get('message')}" if error else "",
        )
    out.print(table)
