"""``ingestd serve``, ``ingestd worker``, ``ingestd migrate``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.panel import Panel

from ingestd import __version__
from ingestd.cli.options import (
    BlobUrl,
    Clamd,
    DatabaseUrl,
    DataDir,
    LogFormat,
    MetricsPort,
    Prefetch,
    SourceRoots,
    setting,
    settings_from,
)
from ingestd.config import Settings
from ingestd.observe import logs, multiproc

if TYPE_CHECKING:
    from ingestd.runtime import Runtime

console = Console(stderr=True)

HTTP_GRACE_SECONDS = 10  # see serve(): how long SIGTERM waits for open connections


def _logging(level: str, fmt: str = "text") -> None:
    """One handler on the root logger: text or JSON, the bound ids and no secrets on every
    line (``observe/logs.py``); uvicorn's lines go through it too."""
    logs.setup(level, "json" if fmt == "json" else "text")


def serve(
    host: Annotated[str | None, setting("host", "--host", help="the address to listen on")] = None,
    port: Annotated[int | None, setting("port", "--port", help="the port to listen on")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    workers: Annotated[
        int | None,
        setting(
            "workers",
            "--workers",
            help="files processed at once; 0 = API only",
            default="CPU count",
        ),
    ] = None,
    source_root: SourceRoots = None,
    path_map: Annotated[
        list[str] | None,
        setting(
            "path_maps",
            "--path-map",
            help="translate client paths: 'C:\\Docs=/srv/docs' (repeatable)",
        ),
    ] = None,
    prefetch: Prefetch = None,
    clamd: Clamd = None,
    blob_url: BlobUrl = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    log_format: LogFormat = None,
) -> None:
    """Run the API with embedded workers (SQLite and a local blob store by default)."""
    settings = settings_from(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        workers=workers,
        source_roots=source_root,
        path_maps=path_map,
        prefetch=prefetch,
        clamd=clamd,
        blob_url=blob_url,
        log_format=log_format,
    )
    # Before anything imports prometheus_client: the API, its worker process and their
    # metrics meet in one directory (observe/multiproc.py).
    multiproc.prepare(settings.data_dir)
    import uvicorn

    from ingestd.api.app import create_app
    from ingestd.events.uvicorn_ws import WS_MAX_MESSAGE, LeanWebSocketProtocol
    from ingestd.runtime import Runtime
    from ingestd.uploads.http import WideWindowHttpToolsProtocol

    _logging(log_level, settings.log_format)
    runtime = Runtime(settings)
    app = create_app(settings, runtime=runtime, on_ready=lambda: _banner(settings, runtime))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=WideWindowHttpToolsProtocol,  # bigger body messages: see ingestd/uploads/http.py
        log_level=log_level.lower(),
        server_header=False,
        log_config=None,  # our handler (observe/logs.py); our access log has the latency
        access_log=False,
        # On SIGTERM, requests in flight get this long; then open WebSocket/SSE streams (which
        # never end by themselves) are closed, and their clients resume elsewhere by seq.
        timeout_graceful_shutdown=HTTP_GRACE_SECONDS,
        # uvicorn's sans-I/O websockets protocol (~8 KB less per open WebSocket than the legacy
        # one) minus the handshake it keeps; no permessage-deflate: events are small JSON and
        # each compressing connection holds zlib state (~40 KB); clients only send pings.
        # See docs/events.md, bench/events.py.
        ws=LeanWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_max_size=WS_MAX_MESSAGE,
    )


def _banner(settings: Settings, runtime: Runtime) -> None:
    base = f"http://{settings.host}:{settings.port}"
    database = (
        "SQLite " + str((settings.data_dir / "ingestd.db").resolve())
        if not settings.database_url
        else settings.database_url.split("@")[-1]
    )
    lines = [
        f"[bold]ingestd {__version__}[/] is running at [link={base}]{base}[/]",
        "",
        f"  Dashboard     {base}/dashboard",
        f"  API docs      {base}/docs",
        f"  OpenAPI       {base}/openapi.json",
        f"  Database      {database}",
        f"  Blobs         {_blobs_shown(settings)}",
        f"  Workers       {settings.process_count} parser process(es), "
        f"{settings.files_in_flight} to {settings.files_in_flight_max} files in flight"
        if runtime.run_workers
        else "  Workers       none in this process (--workers 0)",
        f"  Source roots  {', '.join(str(r) for r in settings.resolved_source_roots)}",
        f"  Malware scan  clamd at {settings.clamd}" if settings.clamd else "  Malware scan  off",
    ]
    command = launch_command(sys.argv[0], sys.executable, shutil.which("ingestd"), Path.cwd())
    if settings.admin_key and not runtime.bootstrap_key:
        lines += ["", "Admin key: the value of INGESTD_ADMIN_KEY"]
    console.print(Panel("\n".join(lines), expand=False))
    # The commands to paste go below the box, each on one line however long (the terminal
    # wraps it softly): a command wrapped inside a box is pasted with the box's borders.
    if runtime.bootstrap_key:
        console.print("[bold yellow]Admin key (shown once, keep it):[/]")
        _paste(f"  export INGESTD_KEY={runtime.bootstrap_key}")
    elif not settings.admin_key:
        where = " ".join(store_flags(settings))
        _paste(f"Need a key?  {command} keys create --name me --role admin {where}".rstrip())
    console.print("Submit a folder:")
    _paste(f"  INGESTD_URL={base} {command} submit ./docs --watch")


def _paste(line: str) -> None:
    console.print(line, soft_wrap=True, markup=False, highlight=False)


def launch_command(argv0: str, python: str, on_path: str | None, cwd: Path) -> str:
    """How to run ingestd again, as this process was run: ``ingestd`` when that name on ``PATH``
    is this very install, else the path that was run (``.venv/bin/ingestd``, relative to the
    current directory when below it) or ``python -m ingestd`` with this interpreter.

    A virtualenv that is not activated is the usual case: ``ingestd`` is then not on ``PATH``,
    or is another install."""
    if argv0.endswith("__main__.py") or Path(argv0).name != "ingestd":  # python -m ingestd
        if on_path is not None and _same(on_path, Path(python).parent / "ingestd"):
            return "ingestd"
        return f"{_shown(python, cwd)} -m ingestd"
    if on_path is not None and _same(on_path, argv0):
        return "ingestd"
    return _shown(argv0, cwd)


def _same(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _shown(path: str, cwd: Path) -> str:
    """A path to paste: relative when below ``cwd`` (``.venv/bin/ingestd``), else absolute;
    quoted for the shell when it needs it. A virtualenv's ``bin`` entries are symlinks to the
    same interpreter: keep the path as given (``.venv/bin/python``), never the link's target."""
    full = Path(os.path.abspath(path))
    with contextlib.suppress(ValueError):
        return shlex.quote(str(full.relative_to(cwd.resolve())))
    return shlex.quote(str(full))


def store_flags(settings: Settings) -> list[str]:
    """The flags that open this server's database from another directory (``keys``), or none
    when the defaults do; a ``--database-url`` with a password is left to its variable."""
    if settings.database_url:
        if urlsplit(settings.database_url).password:
            return ['--database-url "$INGESTD_DATABASE_URL"']
        return ["--database-url", shlex.quote(settings.database_url)]
    if settings.data_dir != Settings.model_fields["data_dir"].default:
        return ["--data-dir", shlex.quote(str(settings.data_dir.resolve()))]
    return []


def _blobs_shown(settings: Settings) -> str:
    from ingestd.blobs.url import open_blob_store

    return open_blob_store(settings).describe()


def worker(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    concurrency: Annotated[
        int | None,
        setting("workers", "--concurrency", help="files processed at once", default="CPU count"),
    ] = None,
    source_root: SourceRoots = None,
    prefetch: Prefetch = None,
    clamd: Clamd = None,
    blob_url: BlobUrl = None,
    log_level: Annotated[str, typer.Option()] = "info",
    log_format: LogFormat = None,
    metrics_port: MetricsPort = None,
) -> None:
    """Run workers only (no API), against the same database and blob storage as the API."""
    settings = settings_from(
        {"workers": "--concurrency"},
        data_dir=data_dir,
        database_url=database_url,
        workers=concurrency,
        source_roots=source_root,
        prefetch=prefetch,
        clamd=clamd,
        blob_url=blob_url,
        log_format=log_format,
        metrics_port=metrics_port,
    )
    _logging(log_level, settings.log_format)
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    # serves_api=False: work in this process (no child worker process) and make no admin key
    # (a bootstrap key made here would never be shown to anyone).
    from ingestd.runtime import Runtime

    runtime = Runtime(settings, run_workers=True, serves_api=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    console.print(
        f"ingestd worker {runtime.worker.id if runtime.worker else ''} running; Ctrl-C to stop"
    )
    await stop.wait()
    console.print("stopping: finishing files in flight…")
    await runtime.stop()


def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Apply database migrations (serve and worker also do this at start)."""
    from ingestd.store.migrate import upgrade_sync

    settings = settings_from(data_dir=data_dir, database_url=database_url)
    if not settings.database_url:  # the SQLite file lives there; PostgreSQL needs no directory
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.resolved_database_url)
    console.print("database is up to date")
