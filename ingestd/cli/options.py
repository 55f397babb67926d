"""Options shared by several commands, and the settings they build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ingestd.client import APIError, Client, IngestdClientError
from ingestd.config import MAX_PREFETCH, Settings

T = TypeVar("T")
_stderr = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="INGESTD_DATA_DIR", help="where the SQLite file and blobs live"
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="INGESTD_DATABASE_URL",
        help="postgresql://… ; default: SQLite in the data directory",
    ),
]


def _check_clamd(value: str | None) -> str | None:
    from ingestd.pipeline.scan import parse_clamd_url

    if value:
        try:
            parse_clamd_url(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


Clamd = Annotated[
    str | None,
    typer.Option(
        "--clamd",
        envvar="INGESTD_CLAMD",
        callback=_check_clamd,
        help="scan every file with this ClamAV daemon before parsing: tcp://HOST:PORT or "
        "unix:///PATH (docs/security.md)",
    ),
]


def _check_blob_url(value: str | None) -> str | None:
    from ingestd.blobs.base import BlobStoreConfigError
    from ingestd.blobs.url import check_blob_url

    if value:
        try:
            check_blob_url(value)
        except BlobStoreConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


Prefetch = Annotated[
    int | None,
    typer.Option(
        "--prefetch",
        envvar="INGESTD_PREFETCH",
        min=1,
        max=MAX_PREFETCH,
        help="files kept claimed per parser process, at least, so parsers never wait on the "
        "database; while files are tiny the worker claims more on its own, up to 64 per parser "
        "(docs/queue.md) \\[default: 8]",
    ),
]

BlobUrl = Annotated[
    str | None,
    typer.Option(
        "--blob-url",
        envvar="INGESTD_BLOB_URL",
        callback=_check_blob_url,
        help="where blobs live, shared by every process: file:///PATH or "
        "s3://BUCKET/PREFIX?endpoint=URL (needs ingestd\\[s3]; docs/storage.md) "
        "\\[default: DATA_DIR/blobs]",
    ),
]
Url = Annotated[
    str | None,
    typer.Option("--url", envvar="INGESTD_URL", help="the server [default: http://127.0.0.1:8000]"),
]
Key = Annotated[
    str | None, typer.Option("--key", envvar="INGESTD_KEY", help="API key", show_default=False)
]


def settings_from(**overrides: Any) -> Settings:
    """Env vars (INGESTD_*) first, then the flags that were given."""
    given = {k: v for k, v in overrides.items() if v not in (None, [], ())}
    return Settings(**given)


def path_sep_list(values: list[str] | None) -> list[str]:
    items: list[str] = []
    for value in values or []:
        items.extend(part for part in value.split(os.pathsep) if part)
    return items


def with_client(url: str | None, key: str | None, fn: Callable[[Client], T]) -> T:
    """Run ``fn`` with a client; an API or connection error becomes a one-line message and
    exit code 1 (never a traceback)."""
    try:
        with Client(url, api_key=key) as client:
            return fn(client)
    except APIError as exc:
        _stderr.print(f"[red]error:[/] {exc.detail} ({exc.code})")
    except IngestdClientError as exc:
        _stderr.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)
