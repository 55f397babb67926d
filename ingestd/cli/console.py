"""The two consoles: results on stdout (pipeable), progress and messages on stderr."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def stdout() -> Console:
    from rich.console import Console

    return Console()


@cache
def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)
