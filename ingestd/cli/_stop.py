"""What the command line says when Ctrl-C stops it: one line, then exit code 130.

A command says what stopping means at each stage (``when_stopped``); before it has, the
arguments say enough (``ingestd watch JOB`` is resumed by running it again).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_CODE = 130  # 128 + SIGINT, as shells report it
_said: str | None = None


def when_stopped(message: str) -> None:
    """What to print if Ctrl-C comes from now on."""
    global _said
    _said = message


def watching(job_id: str) -> str:
    return f"stopped watching; `ingestd watch {job_id}` picks it up again"


def stopped(args: Sequence[str]) -> int:
    message = _said or _default(args)
    # On a terminal the cursor sits after the echoed ^C: start a line of our own.
    sys.stderr.write(("\n" if sys.stderr.isatty() else "") + message + "\n")
    sys.stderr.flush()
    return EXIT_CODE


def _default(args: Sequence[str]) -> str:
    words = [a for a in args if not a.startswith("-")]
    if len(words) >= 2 and words[0] == "watch":
        return watching(words[1])
    if words[:1] == ["submit"]:
        return "stopped before a job was created"
    return "stopped"
