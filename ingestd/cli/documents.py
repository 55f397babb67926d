"""``ingestd convert`` (files and URLs to documents, in one call) and ``ingestd export`` (a job's
chunks as JSON lines, or its documents as a zip of Markdown)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ingestd.cli.connect import Key, Url, connected, fail

if TYPE_CHECKING:
    from ingestd.client import Conversion, ConvertedFile

NOT_DONE = 3  # exit code: the server had not finished within --wait


class DocumentFormat(StrEnum):
    markdown = "markdown"
    json = "json"
    text = "text"


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    markdown = "markdown"


SUFFIX = {"markdown": ".md", "json": ".json", "text": ".txt"}


def convert(
    inputs: Annotated[
        list[str], typer.Argument(help="files, and URLs (http:// or https://)", show_default=False)
    ],
    fmt: Annotated[
        DocumentFormat, typer.Option("--format", "-f", help="what to print or write")
    ] = DocumentFormat.markdown,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="write one file per input into this folder"),
    ] = None,
    chunks: Annotated[bool, typer.Option("--chunks", help="include the chunks (json)")] = False,
    wait: Annotated[
        float, typer.Option("--wait", min=0, max=300, help="seconds the server may take")
    ] = 60,
    url: Url = None,
    key: Key = None,
) -> None:
    """Convert files or URLs to Markdown, JSON or text, printed or written to --out."""
    from ingestd.cli.console import stderr

    urls = [i for i in inputs if i.startswith(("http://", "https://"))]
    paths = [Path(i) for i in inputs if i not in urls]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"no such file: {', '.join(missing)}")
    with connected(url, key) as client:
        result = client.convert(
            paths, urls=urls, format=fmt.value, chunks=chunks, wait_seconds=wait
        )
    if result.pending:
        stderr().print(
            f"not done within {wait:g} s: job {result.job_id} goes on; read each document "
            "later with GET /api/v1/files/<id>/document"
        )
        for file in result.files:
            print(f"{file.file_id}\t{file.name}\t{file.status}")
        raise typer.Exit(NOT_DONE)
    failed = [item for item in result.items if item.document is None]
    for item in failed:
        error = item.error
        stderr().print(
            f"[red]failed:[/] {item.name}: {error.message if error else item.status}"
            + (f" ({error.code})" if error else ""),
            highlight=False,
        )
    if out is not None:
        _write(result, out, fmt.value)
    else:
        _print(result, fmt.value, chunks)
    if failed:
        raise typer.Exit(1)


def _text(item: ConvertedFile, fmt: str, chunks: bool) -> str:
    document = item.document
    if isinstance(document, str):
        return document
    assert document is not None
    data = dict(document.raw)
    if chunks and item.chunks is not None:
        data["chunks"] = [c.raw for c in item.chunks]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _print(result: Conversion, fmt: str, chunks: bool) -> None:
    done = [item for item in result.items if item.document is not None]
    for n, item in enumerate(done):
        if len(done) > 1 and fmt == "markdown":
            print(f"{'' if n == 0 else chr(10)}<!-- {item.name} -->")
        print(_text(item, fmt, chunks), end="")


def _write(result: Conversion, folder: Path, fmt: str) -> None:
    from ingestd.cli.console import stderr

    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for item in result.items:
        if item.document is None:
            continue
        name = _unique(Path(item.name or item.file_id).name + SUFFIX[fmt], used)
        target = folder / name
        target.write_text(_text(item, fmt, chunks=item.chunks is not None), encoding="utf-8")
        stderr().print(f"wrote {target}", highlight=False)


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        stem, _, ext = name.rpartition(".")
        candidate = f"{stem} ({n}).{ext}"
    used.add(candidate)
    return candidate


def export(
    job: Annotated[str, typer.Argument(help="the job's id", show_default=False)],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="jsonl: chunks; markdown: a zip")
    ] = ExportFormat.jsonl,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="where to write [default: <job>.jsonl or <job>.zip]"),
    ] = None,
    url: Url = None,
    key: Key = None,
) -> None:
    """Export a job: its chunks as JSON lines, or its documents as a zip of Markdown files."""
    from ingestd.cli.console import stderr

    target = out or Path(f"{job}.jsonl" if fmt is ExportFormat.jsonl else f"{job}.zip")
    with connected(url, key) as client:
        written = client.jobs.export(job, target, format=fmt.value)
    stderr().print(f"wrote {written} ({written.stat().st_size} bytes)", highlight=False)
