"""XLSX via openpyxl (read-only, cached values): each sheet becomes ``table`` blocks."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl

from ingestd.domain.documents import Element
from ingestd.pipeline.extractors._common import (
    cell_text,
    check_ooxml_zip,
    looks_like_header,
    table_elements,
    translate_errors,
)


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
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        elements: list[Element] = []
        for index, sheet in enumerate(workbook.worksheets, start=1):
            if not hasattr(sheet, "iter_rows"):
                continue  # chartsheets have no cells
            elements.extend(_sheet_elements(sheet, index))
        return elements
    finally:
        workbook.close()  # read-only mode keeps the zip open until closed


def _sheet_elements(sheet: Any, index: int) -> list[Element]:
    # Some writers record a wrong <dimension>; without a reset read-only mode would trust it and
    # cut rows or pad them with thousands of empty cells.
    sheet.reset_dimensions()
    rows = _rows(sheet)
    first = next(rows, None)
    if first is None:
        return []
    name = str(sheet.title)
    meta = {"sheet": name}
    header = first[1] if looks_like_header(first[1]) else None
    body = rows if header is not None else _chain(first, rows)
    return list(table_elements(body, header=header, page=index, section=name, meta=meta))


def _rows(sheet: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-empty rows with their sheet row number, trailing empty cells trimmed."""
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        cells = [cell_text(value) for value in values]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield number, cells


def _chain(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest
