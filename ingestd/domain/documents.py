"""What extractors produce and what the chunker makes of it. Plain data, picklable.

A **document** is the elements of one file in reading order, its pages and its metadata::

    Document
      elements: Element(id, kind, text, page, bbox, section path, level, table, meta) …
      pages:    PageInfo(number, width, height, text_source, ocr_confidence) …
      metadata: {"title": …, "furniture": [running headers, footers, site chrome …], …}

Extractors return elements (or a whole ``Document``); ``assemble`` gives them their ids
(``e1``, ``e2``… in reading order) and section paths (the heading texts above them). A table is
always a ``Table`` of cells with spans, turned into text by ``table_to_text`` and into Markdown by
``table_to_markdown``: one renderer for every format.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ElementKind = Literal[
    "title",
    "heading",
    "paragraph",
    "list_item",
    "table",
    "caption",
    "footnote",
    "code",
    "notes",
    "image",
]
ELEMENT_KINDS: tuple[ElementKind, ...] = (
    "title",
    "heading",
    "paragraph",
    "list_item",
    "table",
    "caption",
    "footnote",
    "code",
    "notes",
    "image",
)
TextSource = Literal["text_layer", "ocr"]
BBox = tuple[float, float, float, float]
"""x0, y0, x1, y1 in points (1/72 inch) from the page's top-left corner: y grows downward."""

SCHEMA = "ingestd.document/1"
HEADING_KINDS = frozenset({"title", "heading"})


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
        grid: list[list[str | None]] = [[] for _ in self.rows]
        for r, c, cell in self.positions():
            row = grid[r]
            while len(row) < c:
                row.append(None)
            row.append(cell.text)
            row.extend([None] * (max(1, cell.colspan) - 1))
        width = max((len(row) for row in grid), default=0)
        return [row + [None] * (width - len(row)) for row in grid]

    def positions(self) -> Iterator[tuple[int, int, Cell]]:
        """``(row, column, cell)`` for every cell, columns counted on the grid (spans from the
        left and from above skipped), in row order."""
        taken: set[tuple[int, int]] = set()
        for r, row in enumerate(self.rows):
            c = 0
            for cell in row:
                while (r, c) in taken:
                    c += 1
                yield r, c, cell
                colspan, rowspan = max(1, cell.colspan), max(1, cell.rowspan)
                if colspan > 1 or rowspan > 1:
                    for dr in range(rowspan):
                        for dc in range(colspan):
                            if dr or dc:
                                taken.add((r + dr, c + dc))
                c += colspan

    @property
    def width(self) -> int:
        """Columns on the grid."""
        return max((c + max(1, cell.colspan) for _r, c, cell in self.positions()), default=0)

    def header_labels(self) -> list[str]:
        """One label per grid column, from the header rows: a span's text labels every column it
        covers, and stacked header rows join with `` / `` (``Sales / Q1``).

        >>> t = Table(((Cell("Site", rowspan=2), Cell("Sales", colspan=2)),
        ...            (Cell("Q1"), Cell("Q2"))), header_rows=2)
        >>> t.header_labels()
        ['Site', 'Sales / Q1', 'Sales / Q2']
        """
        if not self.header_rows:
            return []
        parts: list[list[str]] = [[] for _ in range(self.width)]
        for r, c, cell in self.positions():
            if r >= self.header_rows:
                break
            text = cell.text.strip()
            if not text:
                continue
            for dc in range(max(1, cell.colspan)):
                if c + dc < len(parts) and (not parts[c + dc] or parts[c + dc][-1] != text):
                    parts[c + dc].append(text)
        return [" / ".join(p) for p in parts]

    def body_rows(self) -> list[list[tuple[int, str]]]:
        """Each row after the header rows as ``(column, text)`` of the cells that start in it:
        a vertical merge appears once, on its first row, and never repeats below."""
        rows: list[list[tuple[int, str]]] = [[] for _ in self.rows[self.header_rows :]]
        for r, c, cell in self.positions():
            if r >= self.header_rows:
                rows[r - self.header_rows].append((c, cell.text))
        return rows


@dataclass(frozen=True, slots=True)
class Element:
    """One structural piece of a document, in reading order.

    - ``id``: stable within the document (``e1``, ``e2``… in reading order), set by ``assemble``.
    - ``kind``: one of ``ELEMENT_KINDS``; ``level`` for headings (1 = top) and list items
      (1 = outermost).
    - ``page``: the 1-based page (PDF), slide (PPTX) or sheet (XLSX); ``bbox`` its box on the
      page in points, y down, where the format knows it.
    - ``section``: the path of heading texts above it (``("Results", "North")``); a heading's
      path ends with itself.
    - ``table``: the cells of a ``table`` element (its ``text`` is ``table_to_text(table)``).
    - ``meta``: anything else worth keeping (``sheet``, ``rows``, ``style``…), JSON-serialisable.

    For old callers ``section`` also accepts a string or ``None`` and stores ``(text,)`` or ``()``.
    """

    kind: ElementKind
    text: str
    page: int | None = None
    section: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    table: Table | None = None
    id: str = ""
    level: int | None = None
    bbox: BBox | None = None

    def __post_init__(self) -> None:
        section: Any = self.section
        if not isinstance(section, tuple):
            object.__setattr__(
                self, "section", () if section is None else (section,) if section else ()
            )

    def to_dict(self) -> dict[str, Any]:
        """The element as in the API's Document JSON; keys without a value are left out."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.level is not None:
            out["level"] = self.level
        out["text"] = self.text
        if self.page is not None:
            out["page"] = self.page
        if self.bbox is not None:
            out["bbox"] = [round(v, 2) for v in self.bbox]
        out["section"] = list(self.section)
        if self.table is not None:
            if self.table.caption:
                out["caption"] = self.table.caption
            out["table"] = table_to_dict(self.table)
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Element:
        table = data.get("table")
        bbox = data.get("bbox")
        return cls(
            kind=data["kind"],
            text=data.get("text", ""),
            page=data.get("page"),
            section=tuple(data.get("section") or ()),
            meta=dict(data.get("meta") or {}),
            table=table_from_dict(table, data.get("caption")) if table is not None else None,
            id=data.get("id", ""),
            level=data.get("level"),
            bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])) if bbox else None,
        )


@dataclass(frozen=True, slots=True)
class PageInfo:
    """One page (slide, sheet) of a document: its size in points and where its text came from.

    ``ocr_confidence`` is the mean word confidence (0..1) of a page read by OCR, else ``None``.
    ``needs_ocr`` says why a page's text layer was judged unusable (``no_text_layer``,
    ``thin_text_layer``, ``garbled``, or ``forced`` by ``options.ocr``), and ``ocr_note`` what
    happened when it was not read by OCR after all: ``ocr_unavailable`` (no OCR engine on the
    worker), ``ocr_off`` (the job's ``options.ocr``) or ``text_layer_kept`` (OCR read fewer
    words than the thin text layer had). Both are ``None`` for an ordinary page and are then left
    out of the JSON.
    """

    number: int
    width: float = 0.0
    height: float = 0.0
    text_source: TextSource = "text_layer"
    ocr_confidence: float | None = None
    needs_ocr: str | None = None
    ocr_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "width": round(self.width, 2),
            "height": round(self.height, 2),
            "text_source": self.text_source,
            "ocr_confidence": self.ocr_confidence,
        }
        if self.needs_ocr is not None:
            out["needs_ocr"] = self.needs_ocr
        if self.ocr_note is not None:
            out["ocr_note"] = self.ocr_note
        return out


@dataclass(frozen=True, slots=True)
class Document:
    """The elements of one file in reading order, its pages and its metadata.

    ``metadata`` always has ``title`` (``None`` when unknown) and ``furniture``: the running
    headers, footers and site chrome kept out of the body, each once.
    """

    elements: list[Element]
    pages: list[PageInfo] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def body(self, *, include_notes: bool = False) -> list[Element]:
        """The elements a reader (and the chunker) gets: speaker notes only when asked."""
        if include_notes:
            return self.elements
        return [e for e in self.elements if e.kind != "notes"]

    def text(self, *, include_notes: bool = False) -> str:
        """Plain text: the body elements' texts separated by blank lines."""
        return "\n\n".join(e.text for e in self.body(include_notes=include_notes) if e.text)

    def pages_by_source(self) -> dict[str, int]:
        """``{"total", "text_layer", "ocr"}`` as on the API's File."""
        ocr = sum(1 for p in self.pages if p.text_source == "ocr")
        return {"total": len(self.pages), "text_layer": len(self.pages) - ocr, "ocr": ocr}

    def to_dict(self) -> dict[str, Any]:
        """The API's Document JSON without the file's own fields (``file_id``, ``name``…)."""
        return {
            "schema": SCHEMA,
            "pages": [p.to_dict() for p in self.pages],
            "elements": [e.to_dict() for e in self.elements],
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            elements=[Element.from_dict(e) for e in data.get("elements") or []],
            pages=[
                PageInfo(
                    number=p["number"],
                    width=p.get("width", 0.0),
                    height=p.get("height", 0.0),
                    text_source=p.get("text_source", "text_layer"),
                    ocr_confidence=p.get("ocr_confidence"),
                    needs_ocr=p.get("needs_ocr"),
                    ocr_note=p.get("ocr_note"),
                )
                for p in data.get("pages") or []
            ],
            metadata=dict(data.get("metadata") or {}),
        )


def assemble(
    elements: Iterable[Element],
    *,
    pages: Sequence[PageInfo] = (),
    metadata: dict[str, Any] | None = None,
) -> Document:
    """A ``Document`` from elements in reading order: ids ``e1``, ``e2``… and section paths.

    A heading of level *n* closes every open heading of level ≥ *n*; a ``title`` is level 0 (the
    root of every path below it). An element that already carries a section path (set by its
    extractor, e.g. a JSON key) keeps it.
    """
    stack: list[tuple[int, str]] = []
    out: list[Element] = []
    for element in elements:
        if element.kind in HEADING_KINDS:
            level = 0 if element.kind == "title" else max(1, element.level or 1)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(element.text.split())))
        section = element.section or tuple(text for _level, text in stack)
        out.append(dataclasses.replace(element, id=f"e{len(out) + 1}", section=section))
    meta = {"title": None, "furniture": [], **(metadata or {})}
    return Document(elements=out, pages=list(pages), metadata=meta)


# -- the one table renderer -------------------------------------------------------------------


def table_to_text(table: Table, *, with_header: bool = True) -> str:
    """Chunk text for a table: the caption, the header line once, then one line per row with
    each cell labelled by its column's header (``Region: North | Q1: 10``).

    Empty cells are left out (they carry nothing); a cell under no label is ``column N``. A
    table without header rows gives its rows as ``a | b | c``. ``with_header=False`` leaves out
    the caption and header line (the continuation of a long table).

    >>> t = Table(((Cell("Region"), Cell("Q1")), (Cell("North"), Cell("10"))), header_rows=1)
    >>> print(table_to_text(t))
    Region | Q1
    Region: North | Q1: 10
    """
    lines: list[str] = []
    labels = table.header_labels()
    if with_header:
        if table.caption:
            lines.append(table.caption)
        header = " | ".join(label for label in labels if label)
        if header:
            lines.append(header)
    for row in table.body_rows():
        line = _row_text(row, labels)
        if line:
            lines.append(line)
    return "\n".join(lines)


def _row_text(row: list[tuple[int, str]], labels: list[str]) -> str:
    parts: list[str] = []
    for column, text in row:
        value = " ".join(text.split())
        if not value:
            continue
        if labels:
            label = labels[column] if column < len(labels) and labels[column] else None
            parts.append(f"{label or f'column {column + 1}'}: {value}")
        else:
            parts.append(value)
    return " | ".join(parts)


def table_to_markdown(table: Table, *, with_caption: bool = True) -> str:
    """A GitHub-flavoured Markdown table: the header labels (empty when the table has no header
    row), then every body row on the grid; a span's text stands in its first position and the
    positions it covers stay empty. ``|`` is escaped and line breaks become ``<br>``.

    >>> t = Table(((Cell("Region"), Cell("Q1")), (Cell("North"), Cell("10"))), header_rows=1)
    >>> print(table_to_markdown(t))
    | Region | Q1 |
    | --- | --- |
    | North | 10 |
    """
    width = table.width
    if not width:
        return table.caption or "" if with_caption else ""
    labels = table.header_labels() or [""] * width
    lines = []
    if with_caption and table.caption:
        lines += [_md_cell(table.caption), ""]
    lines.append(_md_row(labels))
    lines.append("| " + " | ".join(["---"] * width) + " |")
    for row in table.body_rows():
        cells = [""] * width
        for column, text in row:
            cells[column] = text
        lines.append(_md_row(cells))
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return "<br>".join(" ".join(line.split()) for line in text.strip().splitlines()).replace(
        "|", "\\|"
    )


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def table_to_dict(table: Table) -> dict[str, Any]:
    """``{"header_rows", "rows": [[{"text", "colspan", "rowspan"}, …], …]}`` as in the API."""
    return {
        "header_rows": table.header_rows,
        "rows": [
            [{"text": c.text, "colspan": c.colspan, "rowspan": c.rowspan} for c in row]
            for row in table.rows
        ],
    }


def table_from_dict(data: dict[str, Any], caption: str | None = None) -> Table:
    return Table(
        rows=tuple(
            tuple(
                Cell(c.get("text", ""), int(c.get("colspan", 1)), int(c.get("rowspan", 1)))
                for c in row
            )
            for row in data.get("rows") or []
        ),
        header_rows=int(data.get("header_rows", 0)),
        caption=caption,
    )


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of text sized for embedding, with its position in the extracted document.

    ``start``/``end`` are character offsets into the document text (elements joined by blank
    lines); ``metadata`` holds ``page``, ``section`` (the path), ``kinds``, ``element_ids`` and
    ``element_start``/``element_end``.
    """

    index: int
    text: str
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)


_NUMBER = re.compile(r"^[-+]?[\d\s.,%€$£]+$")


def looks_like_header(row: Sequence[str]) -> bool:
    """Is this first row of a table a header? Non-empty, distinct, textual labels.

    >>> looks_like_header(["Region", "Q1", "Q2"]), looks_like_header(["North", "1,200", "980"])
    (True, False)
    """
    labels = [label for label in row if label]
    if len(labels) < max(1, len(row) - 1) or len(set(labels)) != len(labels):
        return False
    return not any(_NUMBER.match(label) for label in labels)
