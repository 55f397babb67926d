"""The two consoles: results on stdout (pipeable), progress and messages on stderr. Made anew
for each use: each reads the terminal's width (and COLUMNS) at that moment."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def stdout() -> Console:
    from rich.console import Console

    return Console()


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)
