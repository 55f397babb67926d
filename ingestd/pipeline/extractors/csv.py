"""CSV/TSV: sniff the dialect, stream rows, render them as ``header: value`` table blocks."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors._common import (
    cell_text,
    looks_like_header,
    table_elements,
    translate_errors,
)
from ingestd.pipeline.extractors.text import open_text

# csv.Sniffer's regexes get slow on big samples; a few hundred lines tell the dialect.
SNIFF_CHARS = 16 * 1024
_DELIMITERS = ",;\t|"


def extract(path: Path) -> list[Element]:
    with translate_errors("the CSV file"), open_text(path, newline="") as handle:
        sample = handle.read(SNIFF_CHARS)
        handle.seek(0)
        dialect = _sniff(sample)
        rows = _numbered_rows(csv.reader(handle, dialect))
        first = next(rows, None)
        if first is None:
            return []
        if looks_like_header(first[1]):
            return list(table_elements(rows, header=first[1]))
        return list(table_elements(itertools.chain([first], rows), header=None))


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a half line at the end misleads the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        # Sniffer gives up on one-column files and some quoting styles; the default is right
        # for the overwhelming majority of CSVs.
        return csv.excel


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-empty rows with their 1-based record number (as a spreadsheet would show it)."""
    try:
        for number, row in enumerate(reader, start=1):
            cells = [cell_text(cell) for cell in row]
            if any(cells):
                yield number, cells
    except csv.Error as exc:
        raise FileError("parse_error", f"the CSV file is malformed: {exc}") from None
