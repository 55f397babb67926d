"""``ingestd submit`` and ``ingestd watch``: send work, then show it moving."""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ingestd.cli.options import Key, Url, with_client
from ingestd.client import APIError, Client, ConnectError, IngestdClientError

console = Console(stderr=True)
TERMINAL = {"completed", "failed", "cancelled"}
UPLOAD_BATCH_FILES = 32
UPLOAD_BATCH_BYTES = 32 * 1024 * 1024


def _client(url: str | None, key: str | None) -> Client:
    return Client(url, api_key=key)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def submit(
    paths: Annotated[
        list[Path], typer.Argument(help="a folder, a .zip archive, or files", exists=True)
    ],
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="show progress until the job ends")
    ] = False,
    name: Annotated[str | None, typer.Option(help="job name [default: the folder's name]")] = None,
    pipeline: Annotated[str, typer.Option(help="full, extract or store")] = "full",
    priority: Annotated[str, typer.Option(help="low, normal, high or urgent")] = "normal",
    include: Annotated[
        list[str] | None, typer.Option(help="glob of files to take, e.g. '*.pdf' (repeatable)")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="glob of files to leave (repeatable)")
    ] = None,
    label: Annotated[list[str] | None, typer.Option(help="key=value (repeatable)")] = None,
    upload: Annotated[
        bool | None,
        typer.Option(
            "--upload/--no-upload",
            help="send the bytes instead of the path [default: only when the server cannot read the path]",
        ),
    ] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """Create a job over a folder, a zip archive or files; with --watch, follow it to the end."""
    labels = dict(item.partition("=")[::2] for item in label or [])
    fields: dict[str, Any] = {"pipeline": pipeline, "priority": priority, "labels": labels}
    try:
        with _client(url, key) as client:
            job = _create(client, paths, fields, name, include or [], exclude or [], upload)
            console.print(f"created [bold]{job['id']}[/] ({job['name']})")
            if not watch:
                typer.echo(job["id"])
                return
            code = watch_job(client, job["id"])
    except APIError as exc:
        raise _fail(f"{exc.detail} ({exc.code})") from None
    except IngestdClientError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


def _create(
    client: Client,
    paths: list[Path],
    fields: dict[str, Any],
    name: str | None,
    include: list[str],
    exclude: list[str],
    upload: bool | None,
) -> dict[str, Any]:
    single = paths[0].resolve() if len(paths) == 1 else None
    by_path = single is not None and (single.is_dir() or single.suffix.lower() == ".zip")
    if by_path and upload is not True and (upload is False or _server_is_local(client.base_url)):
        assert single is not None
        source: dict[str, Any] = {
            "type": "directory" if single.is_dir() else "zip",
            "path": str(single),
        }
        if include:
            source["include"] = include
        if exclude:
            source["exclude"] = exclude
        try:
            return client.create_job([source], name=name or single.name, **fields)
        except APIError as exc:
            refused = exc.code == "validation_error" and "path" in exc.detail  # 422 (400 before)
            if upload is False or not refused:
                raise
            console.print(
                f"[yellow]the server cannot read {single} ({exc.detail}); uploading instead[/]"
            )
    return _upload(client, paths, fields, name, include, exclude)


def _server_is_local(base_url: str) -> bool:
    host = urlparse(base_url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def _files(paths: list[Path], include: list[str], exclude: list[str]) -> Iterator[tuple[Path, str]]:
    for path in paths:
        if path.is_file():
            yield path, path.name
            continue
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file_name in sorted(names):
                full = Path(root) / file_name
                rel = full.relative_to(path).as_posix()
                if file_name.startswith(".") or not full.is_file():
                    continue
                if include and not any(
                    fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(file_name, g) for g in include
                ):
                    continue
                if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(file_name, g) for g in exclude):
                    continue
                yield full, rel


def _upload(
    client: Client,
    paths: list[Path],
    fields: dict[str, Any],
    name: str | None,
    include: list[str],
    exclude: list[str],
) -> dict[str, Any]:
    files = list(_files(paths, include, exclude))
    if not files:
        raise _fail("no files to upload")
    job = client.create_job([{"type": "upload"}], name=name or paths[0].resolve().name, **fields)
    total = sum(p.stat().st_size for p, _ in files)
    with Progress(
        TextColumn("uploading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("upload", total=total)
        from ingestd.uploads.client import TUS_THRESHOLD, tus_upload

        large = [(p, rel) for p, rel in files if p.stat().st_size >= TUS_THRESHOLD]
        files = [item for item in files if item not in large]
        auth = client._async._http.headers.get("authorization")
        for path, rel in large:  # resumable: a cut connection costs one chunk, not the file
            tus_upload(
                client.base_url,
                auth,
                path,
                job_id=job["id"],
                metadata={"relative_path": rel},
                on_progress=lambda n: progress.advance(task, n),
            )
        for batch in _batches(files):
            client.upload_files(
                job["id"],
                [p for p, _ in batch],
                metadata=[{"relative_path": rel} for _, rel in batch],
            )  # type: ignore[arg-type]
            progress.advance(task, sum(p.stat().st_size for p, _ in batch))
    client.job_action(job["id"], "seal")
    console.print(f"uploaded {len(files) + len(large)} file(s), {total:,} bytes")
    return client.get_job(job["id"])


def _batches(files: list[tuple[Path, str]]) -> Iterator[list[tuple[Path, str]]]:
    batch: list[tuple[Path, str]] = []
    size = 0
    for item in files:
        batch.append(item)
        size += item[0].stat().st_size
        if len(batch) >= UPLOAD_BATCH_FILES or size >= UPLOAD_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def watch(job_id: str, url: Url = None, key: Key = None) -> None:
    """Follow a job until it ends (Ctrl-C stops watching, not the job)."""
    raise typer.Exit(with_client(url, key, lambda client: watch_job(client, job_id)))


def watch_job(client: Client, job_id: str, *, interval: float = 0.5) -> int:
    """Show a progress bar until the job ends, then a summary. Returns the exit code."""
    try:
        job = _follow(client, job_id, interval)
    except KeyboardInterrupt:
        console.print(
            f"\nstopped watching; the job goes on. Again: [bold]ingestd watch {job_id}[/]"
        )
        return 130
    return _summary(client, job)


def _follow(client: Client, job_id: str, interval: float) -> dict[str, Any]:
    """Live over the event stream (WebSocket); polling if the stream cannot be had."""
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[files]}"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("", total=None, files="", eta="-")
        job = client.get_job(job_id)
        _update(progress, task, job)
        if job["status"] in TERMINAL:
            return job
        try:
            _stream(client, progress, task, job)
        except ConnectError:
            console.print("[yellow]no live event stream; polling instead[/]")
            while job["status"] not in TERMINAL:
                time.sleep(interval)
                job = client.get_job(job_id)
                _update(progress, task, job)
        final = client.get_job(job_id)
        _update(progress, task, final)  # the last frame shows the end, not the last throttled step
        return final


FILE_ENDS = {"file.completed", "file.failed", "file.skipped", "file.cancelled", "file.retrying"}


def _stream(client: Client, progress: Progress, task: Any, job: dict[str, Any]) -> None:
    """Apply events to the bars: the job's (from ``job.updated`` progress) and one per file in
    flight (from ``file.progress``), until the job's final event ends the stream."""
    in_flight: dict[str, Any] = {}
    for event in client.watch(job["id"]):
        kind, data = event["type"], event.get("data") or {}
        file_id = event.get("file_id")
        if kind == "file.progress" and file_id:
            label = f"  {str(data.get('name') or file_id)[:28]} {data.get('step', '')}"
            if file_id not in in_flight:
                in_flight[file_id] = progress.add_task(label, total=1.0, files="", eta="")
            progress.update(
                in_flight[file_id], description=label, completed=data.get("progress", 0)
            )
        elif kind in FILE_ENDS and file_id in in_flight:
            progress.remove_task(in_flight.pop(file_id))
        elif kind.startswith("job."):
            job["status"] = data.get("status", job["status"])
            if "progress" in data:
                job["progress"] = data["progress"]
            _update(progress, task, job)


def _update(progress: Progress, task: Any, job: dict[str, Any]) -> None:
    p = job["progress"]
    files = p["files"]
    ended = files["completed"] + files["failed"] + files["skipped"] + files["cancelled"]
    failed = f" [red]{files['failed']} failed[/]" if files["failed"] else ""
    eta = p.get("eta_seconds")
    progress.update(
        task,
        description=f"{job['name'][:30]} [{job['status']}]",
        total=p["bytes"]["total"] or None,
        completed=p["bytes"]["completed"],
        files=f"{ended}/{files['total']} files{failed}",
        eta="-" if eta is None else _duration(eta),
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _summary(client: Client, job: dict[str, Any]) -> int:
    p = job["progress"]
    files = p["files"]
    colour = {"completed": "green", "failed": "red", "cancelled": "yellow"}.get(
        job["status"], "white"
    )
    console.print(
        f"[bold {colour}]{job['status']}[/]: {files['completed']} completed, {files['failed']} failed, "
        f"{files['skipped']} skipped, {files['cancelled']} cancelled of {files['total']} file(s); "
        f"{p['bytes']['completed']:,} bytes at {p['throughput_bytes_per_s'] / 1e6:.1f} MB/s"
    )
    for source in job["sources"]:
        if source.get("error"):
            console.print(
                f"[red]source {source['index']} ({source['type']}) failed:[/] {source['error'].get('message')}"
            )
    if files["failed"]:
        table = Table("file", "error", "message", title="Failed files", title_justify="left")
        for item in client.all_files(job["id"], status="failed"):
            error = item.get("error") or {}
            table.add_row(item["path"], str(error.get("code", "")), str(error.get("message", "")))
        console.print(table)
        console.print(f"retry them: [bold]ingestd jobs retry {job['id']}[/]")
    return 0 if job["status"] == "completed" else 1
