"""The ``ingestd`` command line.

Nothing heavy is imported until a command runs: ``ingestd --help`` lists the commands from a
table (``_app.COMMANDS``) and loads none of them, so it starts in a fraction of a second. Ctrl-C
at any moment, imports included, ends with one line and exit code 130, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    """The console script: run the command line, exit with its code."""
    args = sys.argv[1:]
    try:
        from ingestd.cli._app import run

        code = run(args)
    except KeyboardInterrupt:
        from ingestd.cli._stop import stopped

        code = stopped(args)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    if name == "app":  # the Typer app, for typer.testing.CliRunner
        from ingestd.cli._app import app

        return app
    raise AttributeError(name)
