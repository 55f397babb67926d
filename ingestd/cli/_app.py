"""The command table, and the group that loads a command's module only when it runs."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer vendors its own click
    from typer._click import Command, Context, HelpFormatter

# name: (module, attribute, the one-line help `ingestd --help` shows without importing it).
# tests/cli/test_startup.py checks each line against the command's own docstring.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": (
        "ingestd.cli.serve",
        "serve",
        "Run the API with embedded workers (SQLite and a local blob store by default).",
    ),
    "worker": (
        "ingestd.cli.serve",
        "worker",
        "Run workers only (no API), against the same database and blob storage as the API.",
    ),
    "migrate": (
        "ingestd.cli.serve",
        "migrate",
        "Apply database migrations (serve and worker also do this at start).",
    ),
    "keys": ("ingestd.cli.keys", "app", "Create, list and revoke API keys."),
    "doctor": (
        "ingestd.cli.doctor",
        "doctor",
        "Check this installation: settings, database, blob store, clamd, extras, disk, roots.",
    ),
    "submit": (
        "ingestd.cli.submit",
        "submit",
        "Create a job over a folder, a zip archive or files; with --watch, follow it to the end.",
    ),
    "watch": (
        "ingestd.cli.watch",
        "watch",
        "Follow a job until it ends (Ctrl-C stops watching, not the job).",
    ),
    "jobs": ("ingestd.cli.jobs", "app", "List, inspect and control jobs."),
    "files": ("ingestd.cli.jobs", "files", "A job's files, and its sources that failed."),
    "search": (
        "ingestd.cli.search",
        "search",
        "Chunks ranked for a query: score, file, page and a snippet, best first.",
    ),
    "gc": (
        "ingestd.cli.blob_gc",
        "gc",
        "Delete blobs that no file names and that are older than the grace period (safe while "
        "the service runs; docs/storage.md).",
    ),
}


class Stopped(Exception):
    """Ctrl-C inside a command, carried past typer (which would exit silently) to ``main``."""


def load(name: str) -> Command:
    """The click command ``name``, its module imported now."""
    module, attribute, _help = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """Lists commands from the table; imports one only to run it (or to show its own help)."""

    _describing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._describing:  # the group's own --help: a stand-in with the line to show
            text = COMMANDS[cmd_name][2]
            return TyperCommand(cmd_name, help=text, short_help=text)
        return load(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._describing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._describing = False

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Stopped from None


app = typer.Typer(
    name="ingestd",
    cls=LazyGroup,
    help="Self-hosted document ingestion: submit folders and files, watch them, control them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Self-hosted document ingestion: submit folders and files, watch them, control them."""


def run(args: Sequence[str]) -> int:
    """Run the command line on ``args``; the exit code. Ctrl-C raises ``KeyboardInterrupt``."""
    command = typer.main.get_command(app)
    try:
        command.main(args=list(args), prog_name="ingestd")  # exits with the command's code
    except Stopped:
        raise KeyboardInterrupt from None
    return 0
