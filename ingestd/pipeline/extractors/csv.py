"""CSV/TSV: sniff the dialect, stream rows into ``Table`` blocks (``header: value`` lines)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ingestd.domain.documents import Element, looks_like_header
from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors._common import (
    cell_text,
    cells,
    table_blocks,
    translate_errors,
)
from ingestd.pipeline.extractors.text import open_text

# csv.Sniffer's regexes get slow on big samples; a few hundred lines tell the dialect.
SNIFF_CHARS = 16 * 1024
_DELIMITERS = ",;\t|"
# csv.reader takes whole lines from its input, however long, before it looks at them: a 500 MB
# line would be read into memory first. Lines reach it through a bounded reader instead, which
# refuses a longer one after reading this much of it. Fields are capped at csv.field_size_limit
# (128 Ki chars), so a real row this long would need 64 maximal fields.
MAX_LINE_CHARS = 8 * 1024 * 1024


def extract(path: Path) -> list[Element]:
    with translate_errors("the CSV file"), open_text(path, newline="") as handle:
        sample = handle.read(SNIFF_CHARS)
        handle.seek(0)
        dialect = _sniff(sample)
        rows = _numbered_rows(csv.reader(_bounded_lines(handle), dialect))
        first = next(rows, None)
        if first is None:
            return []
        body = ((number, cells(row)) for number, row in rows)
        if looks_like_header(first[1]):
            return list(table_blocks(body, header=[cells(first[1])]))
        return list(table_blocks(itertools.chain([(first[0], cells(first[1]))], body)))


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    if len(sample) == SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a half line at the end misleads the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        # Sniffer gives up on one-column files and some quoting styles; the default is right
        # for the overwhelming majority of CSVs.
        return csv.excel


def _bounded_lines(handle: TextIO) -> Iterator[str]:
    """Physical lines, each at most ``MAX_LINE_CHARS`` long, or a ``parse_error`` naming the
    first one that is longer (read no further than that)."""
    for number in itertools.count(1):
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise FileError(
                "parse_error",
                f"line {number} of the CSV file is longer than {MAX_LINE_CHARS:,} characters; "
                "this is not a table ingestd can read",
            )
        yield line


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-empty rows with their 1-based record number (as a spreadsheet would show it)."""
    try:
        for number, row in enumerate(reader, start=1):
            cells = [cell_text(cell) for cell in row]
            if any(cells):
                yield number, cells
    except csv.Error as exc:
        raise FileError("parse_error", f"the CSV file is malformed: {exc}") from None
