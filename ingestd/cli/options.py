"""Options shared by several commands, and the settings they build.

The options of ``serve``, ``worker``, ``migrate``, ``keys`` and ``gc`` that set a server setting
are derived from the :class:`~ingestd.config.Settings` field (:func:`setting`): the environment
variable, the default and the validation are declared there only."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from pydantic_core import PydanticUndefined
from rich.console import Console

from ingestd import preflight
from ingestd.client import APIError, Client, IngestdClientError
from ingestd.config import MAX_PREFETCH, Settings

T = TypeVar("T")
_stderr = Console(stderr=True)


def env_var(field: str) -> str:
    """The environment variable that sets ``field`` (Settings reads it, never the CLI)."""
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def setting(name: str, *flags: str, help: str, default: str | None = None) -> Any:
    """A ``typer.Option`` for the :class:`Settings` field ``name``.

    The option carries only the flag and its help: Settings reads the environment variable,
    declares the default and validates the value (:func:`settings_from` turns a refusal into a
    usage error naming the flag). The help shows both, derived from the field."""
    field = Settings.model_fields[name]
    shown = default if default is not None else _shown_default(field.default)
    OPTIONS.setdefault(name, flags[0])
    return typer.Option(
        *flags, help=f"{help} \\[env: {env_var(name)}] \\[default: {shown}]", show_default=False
    )


def _shown_default(value: object) -> str:
    if value is None or value is PydanticUndefined:
        return "none"
    return str(value)


OPTIONS: dict[str, str] = {}  # Settings field -> the flag that sets it (for messages)

DataDir = Annotated[
    Path | None,
    setting("data_dir", "--data-dir", help="where the SQLite file and blobs live"),
]
LogFormat = Annotated[
    str | None,
    setting(
        "log_format",
        "--log-format",
        help="text, or json: one object a line with request, job, file, worker and tenant ids",
    ),
]
MetricsPort = Annotated[
    int | None,
    setting(
        "metrics_port",
        "--metrics-port",
        help="serve this worker's Prometheus metrics on http://HOST:PORT/metrics (0 = off)",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    setting(
        "database_url",
        "--database-url",
        help="postgresql://… (needs ingestd\\[postgres])",
        default="SQLite in the data directory",
    ),
]
Clamd = Annotated[
    str | None,
    setting(
        "clamd",
        "--clamd",
        help="scan every file with this ClamAV daemon before parsing: tcp://HOST:PORT or "
        "unix:///PATH (docs/security.md)",
        default="off",
    ),
]
Prefetch = Annotated[
    int | None,
    setting(
        "prefetch",
        "--prefetch",
        help="files kept claimed per parser process, at least, so parsers never wait on the "
        f"database; while files are tiny the worker claims more on its own, up to {MAX_PREFETCH} "
        "per parser (docs/queue.md)",
    ),
]
BlobUrl = Annotated[
    str | None,
    setting(
        "blob_url",
        "--blob-url",
        help="where blobs live, shared by every process: file:///PATH or "
        "s3://BUCKET/PREFIX?endpoint=URL (needs ingestd\\[s3]; docs/storage.md)",
        default="DATA_DIR/blobs",
    ),
]
SourceRoots = Annotated[
    list[Path] | None,
    setting(
        "source_roots",
        "--source-root",
        help="directory and zip sources may read only below these (repeatable)",
        default="the current directory",
    ),
]
Url = Annotated[
    str | None,
    typer.Option("--url", envvar="INGESTD_URL", help="the server [default: http://127.0.0.1:8000]"),
]
Key = Annotated[
    str | None, typer.Option("--key", envvar="INGESTD_KEY", help="API key", show_default=False)
]


def settings_from(
    flags: Mapping[str, str] | None = None, *, check_extras: bool = True, **overrides: Any
) -> Settings:
    """Env vars (INGESTD_*) first, then the flags that were given; a value Settings refuses, or
    a setting whose extra is not installed, is a usage error naming the flag (exit code 2).
    ``flags`` names a command's own flag for a field where it differs (``--concurrency``)."""
    flags = flags or {}
    given = {k: v for k, v in overrides.items() if v not in (None, [], ())}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        raise _usage_error(field, message, given, flags) from None
    for problem in preflight.problems(settings) if check_extras else ():
        raise _usage_error(problem.field, problem.message, given, flags)
    return settings


def _usage_error(
    field: str, message: str, given: dict[str, Any], flags: Mapping[str, str]
) -> typer.BadParameter:
    """Name the flag when the value came from one, else the environment variable."""
    flag = flags.get(field) or OPTIONS.get(field)
    if flag is not None and field in given:
        return typer.BadParameter(message, param_hint=flag)
    if field.isupper():  # a variable of its own (OTEL_*), not a Settings field
        return typer.BadParameter(message, param_hint=field)
    return typer.BadParameter(message, param_hint=env_var(field) if field else None)


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
