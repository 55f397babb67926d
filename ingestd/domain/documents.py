"""What extractors produce and what the chunker makes of it. Plain data, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ElementKind = Literal[
    "title", "heading", "paragraph", "list_item", "table", "code", "text", "quote", "header"
]


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a table as the source drew it: a merged cell is one ``Cell`` with spans.

    Positions a span covers have no ``Cell`` of their own (as in HTML), so a row can hold fewer
    cells than the table has columns; ``Table.grid()`` lays the spans out on a rectangle.
    """

    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True, slots=True)
class Table:
    """A table from any format: rows of cells, the first ``header_rows`` of them headers.

    This is the one table model every extractor fills (CSV, XLSX, DOCX, HTML, PPTX, PDF) and
    every consumer reads (chunk text, Markdown, template signatures and records).
    """

    rows: tuple[tuple[Cell, ...], ...]
    header_rows: int = 0
    caption: str | None = None

    def grid(self) -> list[list[str | None]]:
        """The table on a rectangle: each position holds its cell's text, ``None`` where a span
        from the left or from above covers it.

        >>> t = Table(rows=((Cell("Site"), Cell("Q", colspan=2)), (Cell("A"), Cell("1"), Cell("2"))))
        >>> t.grid()
        [['Site', 'Q', None], ['A', '1', '2']]
        """
        grid: list[list[str | None]] = []
        taken: dict[tuple[int, int], bool] = {}
        for r, row in enumerate(self.rows):
            out: list[str | None] = []
            c = 0
            for cell in row:
                while taken.get((r, c)):
                    out.append(None)
                    c += 1
                out.append(cell.text)
                for dr in range(max(1, cell.rowspan)):
                    for dc in range(max(1, cell.colspan)):
                        if dr or dc:
                            taken[(r + dr, c + dc)] = True
                c += 1
                for _ in range(max(1, cell.colspan) - 1):
                    out.append(None)
                    c += 1
            while taken.get((r, c)):
                out.append(None)
                c += 1
            grid.append(out)
        width = max((len(row) for row in grid), default=0)
        return [row + [None] * (width - len(row)) for row in grid]


@dataclass(frozen=True, slots=True)
class Element:
    """One structural piece of a document, in reading order.

    ``page`` is the 1-based page (PDF), slide (PPTX) or sheet index (XLSX); ``section`` the text of
    the nearest heading above it; ``meta`` anything else worth keeping (``sheet``, ``level``,
    ``rows``, ``subject``…). Must stay JSON-serialisable.
    """

    kind: ElementKind
    text: str
    page: int | None = None
    section: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    table: Table | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of text sized for embedding, with its position in the extracted document.

    ``start``/``end`` are character offsets into the document text (elements joined by blank
    lines); ``metadata`` holds ``page``, ``section``, ``kinds``, ``element_start``/``element_end``.
    """

    index: int
    text: str
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)
