"""``ingestd submit``: send work (a folder, a zip archive, files), then optionally watch it.

Everything goes through the SDK: a folder the server can read becomes a directory (or zip)
source; anything else is uploaded with ``client.jobs.upload``, which sends no file the job would
refuse and resumes large files (tus) after an interruption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlparse

import typer

from ingestd.cli import _stop
from ingestd.cli.connect import Key, Url, connected
from ingestd.client import Pipeline, Priority

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from ingestd.client import Client, Job, UploadProgress, UploadReport

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str) -> int:
    """``104857600``, ``100MB``, ``1.5GB``, ``500MiB`` → bytes."""
    match = _SIZE.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a size: give bytes, or e.g. 100MB, 1.5GB")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    binary = "i" in unit
    scale = _UNITS[unit[:1] if unit not in ("", "b") else unit]
    if binary:
        scale = 1024 ** ("kmgt".index(unit[0]) + 1)
    value = int(number * scale)
    if value < 1:
        raise typer.BadParameter("the size must be at least 1 byte")
    return value


def parse_labels(values: list[str] | None) -> list[str] | None:
    for item in values or []:
        key, sep, _value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: a label is key=value, e.g. team=research")
    return values


def parse_options(values: list[str] | None) -> dict[str, Any]:
    """``--option key=value`` pairs as job options: a value that reads as JSON (``true``,
    ``512``, ``["a"]``) is taken as such, anything else as text; the server checks them."""
    import json

    options: dict[str, Any] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r}: an option is key=value, e.g. chunk_size=512")
        try:
            options[name.strip()] = json.loads(raw)
        except ValueError:
            options[name.strip()] = raw
    return options


def submit(
    paths: Annotated[
        list[Path], typer.Argument(help="a folder, a .zip archive, or files", exists=True)
    ],
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="show progress until the job ends")
    ] = False,
    name: Annotated[str | None, typer.Option(help="job name [default: the folder's name]")] = None,
    pipeline: Annotated[Pipeline, typer.Option(help="what to do with each file")] = Pipeline.FULL,
    priority: Annotated[Priority, typer.Option(help="claimed before lower ones")] = (
        Priority.NORMAL
    ),
    include: Annotated[
        list[str] | None, typer.Option(help="glob of files to take, e.g. '*.pdf' (repeatable)")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="glob of files to leave (repeatable)")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(help="key=value (repeatable)", callback=parse_labels),
    ] = None,
    max_file_size: Annotated[
        str | None,
        typer.Option(
            help="larger files are refused, and not uploaded: bytes, or e.g. 500MB "
            "[default: the server's, 100 MB]"
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="a job option, key=value (repeatable): templates=true, ocr=force, "
            "chunk_size=512, chunking=size… (docs: the API's JobOptions)",
        ),
    ] = None,
    upload: Annotated[
        bool | None,
        typer.Option(
            "--upload/--no-upload",
            help="send the bytes instead of the path [default: only when the server cannot "
            "read the path]",
        ),
    ] = None,
    job: Annotated[
        str | None,
        typer.Option(
            "--job",
            help="upload into this existing job: resumes an interrupted upload (files it has "
            "are not sent again)",
        ),
    ] = None,
    files: Annotated[
        bool, typer.Option("--files", help="with --watch: a line for each file in flight")
    ] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Create a job over a folder, a zip archive or files; with --watch, follow it to the end."""
    from ingestd.cli.console import stderr

    request = _Request(
        paths=paths,
        name=name,
        fields={
            "pipeline": pipeline,
            "priority": priority,
            "labels": dict(item.partition("=")[::2] for item in label or []),
        },
        options={
            **parse_options(option),
            **({"max_file_size": parse_size(max_file_size)} if max_file_size else {}),
        },
        include=include or [],
        exclude=exclude or [],
        upload=upload,
    )
    with connected(url, key) as client:
        created = client.jobs.get(job) if job else _create(client, request)
        if job or (created.sources[0].type == "upload" and not created.sealed):
            _upload(client, created, request)
    if not watch:
        typer.echo(created.id)
        return
    stderr().print(f"watching [bold]{created.id}[/]", highlight=False)
    from ingestd.cli.watch import watch_job

    raise typer.Exit(watch_job(created.id, url=url, key=key, files=files))


@dataclass
class _Request:
    paths: list[Path]
    name: str | None
    fields: dict[str, Any]
    options: dict[str, Any]
    include: list[str]
    exclude: list[str]
    upload: bool | None

    @property
    def shown(self) -> str:
        return " ".join(str(p) for p in self.paths)


def _create(client: Client, request: _Request) -> Job:
    from ingestd.cli.console import stderr
    from ingestd.client import BadRequestError, sources

    _stop.when_stopped("stopped before a job was created")
    single = request.paths[0].resolve() if len(request.paths) == 1 else None
    by_path = single is not None and (single.is_dir() or single.suffix.lower() == ".zip")
    local = _server_is_local(client.base_url)
    if by_path and request.upload is not True and (request.upload is False or local):
        assert single is not None
        source = (
            sources.directory(str(single), include=request.include, exclude=request.exclude)
            if single.is_dir()
            else sources.zip(str(single), include=request.include, exclude=request.exclude)
        )
        try:
            job = client.jobs.create(
                source,
                name=request.name or single.name,
                options=request.options or None,
                **request.fields,
            )
            stderr().print(f"created [bold]{job.id}[/] ({job.name})", highlight=False)
            return job
        except BadRequestError as exc:
            if request.upload is False or "path" not in exc.detail:
                raise
            stderr().print(
                f"[yellow]the server cannot read {single} ({exc.detail}); uploading instead[/]",
                highlight=False,
            )
    name = request.name or request.paths[0].resolve().name
    job = client.jobs.create(
        sources.upload(), name=name, options=request.options or None, **request.fields
    )
    stderr().print(f"created [bold]{job.id}[/] ({job.name})", highlight=False)
    return job


def _server_is_local(base_url: str) -> bool:
    host = urlparse(base_url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


@dataclass
class _UploadView:
    progress: UploadProgress | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from ingestd.cli.render import upload_line

        if self.progress is not None:
            yield upload_line(self.progress, options.max_width)


def _upload(client: Client, job: Job, request: _Request) -> None:
    from rich.live import Live

    from ingestd.cli.console import stderr

    _stop.when_stopped(
        f"stopped uploading; `ingestd submit {request.shown} --job {job.id}` resumes it"
    )
    view = _UploadView()

    def show(progress: UploadProgress) -> None:
        view.progress = progress

    with Live(view, console=stderr(), refresh_per_second=8, transient=True):
        report = client.jobs.upload(
            job.id,
            request.paths,
            include=request.include,
            exclude=request.exclude,
            seal=True,
            on_upload=show,
        )
    _said(report, stderr())


def _said(report: UploadReport, console: Console) -> None:
    from rich.markup import escape

    from ingestd.cli.render import duration, rate, size

    line = f"uploaded {report.files_sent:,} file(s), {size(report.bytes_sent)}"
    if report.seconds > 0 and report.bytes_sent:
        line += f" in {duration(report.seconds)} ({rate(report.bytes_per_s)})"
    if report.already_uploaded:
        line += f"; {report.already_uploaded:,} already there"
    if report.resumed:
        line += f"; {report.resumed} resumed"
    console.print(line, highlight=False)
    for rejected in report.rejected:
        console.print(
            f"[yellow]not sent:[/] {escape(rejected.path)}: {escape(rejected.message)}",
            highlight=False,
        )
