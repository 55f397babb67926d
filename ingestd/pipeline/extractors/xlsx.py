"""XLSX via openpyxl (read-only, cached values): per sheet a heading, then its table.

Each sheet's name is a level-1 heading. Title rows above the table (one text across the top,
merged or not) become the table's caption, never its header; the header is the first row with
several distinct text labels; blank rows are skipped; merged ranges are one cell with spans
(their value once); formulas read as the value Excel last computed. Long sheets come out as
blocks of ~30 rows (each block's ``Table`` carries the header rows). A chart's title is a ``caption`` after its
sheet's table (``meta.chart``); a chartsheet is its name as a heading and its chart's title.
Several tables on one sheet, one under another (a blank row, then the next one's title row and
header), are read as separate tables.
"""

from __future__ import annotations

import itertools
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
from lxml import etree
from openpyxl.utils.cell import range_boundaries

from ingestd.domain.documents import Cell, Element, looks_like_header
from ingestd.pipeline.extractors._common import (
    cell_text,
    check_ooxml_zip,
    table_blocks,
    translate_errors,
)
from ingestd.pipeline.extractors._xlsx_charts import chart_titles

_MERGE_CELL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"
_MAX_TITLE_ROWS = 3
_MAX_MERGES = 100_000


def extract(path: Path) -> list[Element]:
    with translate_errors("the XLSX workbook"):
        check_ooxml_zip(path, "XLSX", "xl/workbook.xml")
        # openpyxl warns about features it ignores (data validation, conditional formatting,
        # missing default styles); they don't affect text and warnings are errors in our tests
        # and worker.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _workbook_elements(path)


def _workbook_elements(path: Path) -> list[Element]:
    charts = _chart_titles(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        elements: list[Element] = []
        for index, name in enumerate(workbook.sheetnames, start=1):
            sheet = workbook[name]
            # Chartsheets have no cells: only their chart's title.
            sheet_elements = _sheet_elements(sheet, index) if hasattr(sheet, "iter_rows") else []
            titles = charts.get(name, [])
            if titles and not sheet_elements:
                sheet_elements = [_sheet_heading(name, index)]
            elements += sheet_elements
            elements += [
                Element(kind="caption", text=title, page=index, meta={"sheet": name, "chart": True})
                for title in titles
            ]
        return elements
    finally:
        workbook.close()  # read-only mode keeps the zip open until closed


def _chart_titles(path: Path) -> dict[str, list[str]]:
    """Charts are an extra: a workbook whose drawings cannot be read still gives its cells."""
    try:
        return chart_titles(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return {}


def _sheet_heading(name: str, index: int) -> Element:
    return Element(kind="heading", text=name, page=index, level=1, meta={"sheet": name})


def _sheet_elements(sheet: Any, index: int) -> list[Element]:
    # Some writers record a wrong <dimension>; without a reset read-only mode would trust it and
    # cut rows or pad them with thousands of empty cells.
    sheet.reset_dimensions()
    rows = _Tables(_rows(sheet, _merges(sheet)))
    name = str(sheet.title)
    blocks: list[Element] = []
    while rows.more():  # one table after another, down the sheet
        blocks += _table(rows, index, {"sheet": name})
    return [_sheet_heading(name, index), *blocks] if blocks else []


class _Tables:
    """A sheet's rows, cut where another table starts below the one being read: after a blank
    row, a row with a single text (the next table's title). Only a table with a header is cut
    (a column of notes is not)."""

    def __init__(self, rows: Iterator[tuple[int, tuple[Cell, ...]]]) -> None:
        self._rows = rows
        self._pending: tuple[int, tuple[Cell, ...]] | None = None
        self._last = 0
        self.cutting = False  # set while a table's body is read

    def __iter__(self) -> _Tables:
        return self

    def __next__(self) -> tuple[int, tuple[Cell, ...]]:
        row = self._pending if self._pending is not None else next(self._rows)
        if self.cutting and row[0] > self._last + 1 and _filled(row[1]) == 1:
            text = _only_text(row[1])
            if not _is_number(text):
                self._pending = row
                raise StopIteration
        self._pending = None
        self._last = row[0]
        return row

    def more(self) -> bool:
        self.cutting = False
        if self._pending is None:
            self._pending = next(self._rows, None)
        return self._pending is not None


def _table(rows: _Tables, index: int, meta: dict[str, Any]) -> list[Element]:
    """The next table: its title rows (the caption), its header rows and its body."""
    head: list[tuple[int, tuple[Cell, ...]]] = []
    for row in rows:  # the title rows and the header: a few rows at most
        head.append(row)
        if _filled(row[1]) >= 2 or len(head) > _MAX_TITLE_ROWS:
            break
    if not head:
        return []
    titles = [_only_text(row) for _n, row in head[:-1]]
    first_number, first = head[-1]
    header: list[tuple[Cell, ...]] = []
    body: Iterator[tuple[int, tuple[Cell, ...]]]
    if _filled(first) < 2:  # no row with two values: only titles or a single column
        titles, body = [], itertools.chain(head, rows)
    elif _is_header(first):
        header, body = [first], rows
        rows.cutting = True
        if any(cell.colspan > 1 for cell in first):  # "Sales" over "Q1 | Q2"
            below = next(rows, None)
            if below is not None and _is_header(below[1]):
                header.append(below[1])
            elif below is not None:
                body = itertools.chain([below], rows)
    else:
        body = itertools.chain([(first_number, first)], rows)
    caption = " — ".join(t for t in titles if t) or None
    return list(table_blocks(body, header=header, caption=caption, page=index, meta=meta))


def _merges(sheet: Any) -> dict[tuple[int, int], tuple[int, int] | None]:
    """Merged ranges: ``(row, col)`` of a range's top-left → ``(rowspan, colspan)``, and every
    other position it covers → ``None``. Read-only openpyxl does not load them, so the sheet's
    ``<mergeCells>`` are read here."""
    out: dict[tuple[int, int], tuple[int, int] | None] = {}
    try:
        source = sheet._get_source()
    except (AttributeError, KeyError):
        return out
    with source:
        for count, (_event, node) in enumerate(etree.iterparse(source, tag=_MERGE_CELL)):
            if count >= _MAX_MERGES:
                break
            try:
                min_col, min_row, max_col, max_row = range_boundaries(node.get("ref", ""))
            except (TypeError, ValueError):
                continue
            if min_col is None or min_row is None or max_col is None or max_row is None:
                continue
            if (max_row - min_row + 1) * (max_col - min_col + 1) > 100_000:
                continue  # a whole-column merge: not a table cell
            for r in range(min_row, max_row + 1):
                for c in range(min_col, max_col + 1):
                    out[(r, c)] = None
            out[(min_row, min_col)] = (max_row - min_row + 1, max_col - min_col + 1)
            node.clear()
    return out


def _rows(
    sheet: Any, merges: dict[tuple[int, int], tuple[int, int] | None]
) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """Non-empty rows with their sheet row number, trailing empty cells trimmed; a merged range
    is one cell with spans at its top-left and nothing at the positions it covers."""
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        texts = [cell_text(value) for value in values]
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            continue
        if not merges:
            yield number, tuple(Cell(text) for text in texts)
            continue
        row: list[Cell] = []
        for column, text in enumerate(texts, start=1):
            span = merges.get((number, column), (1, 1))
            if span is None:
                continue  # covered by a merge above or to the left
            row.append(Cell(text, colspan=span[1], rowspan=span[0]))
        if any(cell.text for cell in row):
            yield number, tuple(row)


def _filled(row: tuple[Cell, ...]) -> int:
    return sum(1 for cell in row if cell.text)


def _only_text(row: tuple[Cell, ...]) -> str:
    return " ".join(cell.text for cell in row if cell.text)


def _is_header(row: tuple[Cell, ...]) -> bool:
    texts = [cell.text for cell in row if cell.text]
    return looks_like_header(texts) and not any(_is_number(text) for text in texts)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
