"""``ingestd search``: chunks ranked for a query, as a table or as the API's JSON."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from ingestd.cli.connect import Key, Url, connected

if TYPE_CHECKING:
    from rich.table import Table

    from ingestd.client import SearchResult

SNIPPET = 160  # characters of chunk text shown per row
_BLANKS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def snippet(text: str, query: str, width: int = SNIPPET) -> str:
    """``width`` characters of ``text`` on one line, starting a little before the first query
    word it contains (the reason it matched), with ``…`` where it was cut."""
    flat = _BLANKS.sub(" ", text).strip()
    if len(flat) <= width:
        return flat
    lowered = flat.lower()
    hits = [lowered.find(w) for w in _WORD.findall(query.lower()) if len(w) > 1]
    first = min((h for h in hits if h >= 0), default=0)
    start = max(0, min(first - width // 4, len(flat) - width))
    piece = flat[start : start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(flat) else "")


def _table(result: SearchResult) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table("score", "file", "page", "text", caption=f"mode: {result.mode}")
    for item in result.items:
        page = item.position.page
        table.add_row(
            f"{item.score:.3f}",
            Text(item.file.path),  # Text, not markup: paths and chunks may hold [brackets]
            "" if page is None else str(page),
            Text(snippet(item.chunk.text, result.query)),
        )
    return table


def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    job: Annotated[str | None, typer.Option("--job", help="only this job's chunks")] = None,
    k: Annotated[
        int, typer.Option("-k", "--k", min=1, max=100, help="how many chunks to show")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON answer")] = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Chunks ranked for a query: score, file, page and a snippet, best first."""
    from ingestd.cli.console import stderr, stdout

    with connected(url, key) as client:
        result = client.search(query, job_id=job, k=k)
    if as_json:
        stdout().print_json(data=result.raw)
        return
    if result.truncated:
        stderr().print(
            "[yellow]note:[/] only the newest chunks were searched; --job searches one job"
        )
    if not result.items:
        stderr().print("no chunk matches")
        return
    stdout().print(_table(result))
