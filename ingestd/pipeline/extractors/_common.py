"""Helpers shared by the extractors: error translation, table blocks, OOXML zip checks."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingestd.domain.documents import (
    BBox,
    Cell,
    Element,
    ElementKind,
    Table,
    looks_like_header,
    table_to_text,
)
from ingestd.domain.errors import FileError

# Table blocks: small enough for one embedding chunk to hold a few of them, big enough that a
# 10k-row sheet doesn't become 10k elements.
TABLE_BLOCK_ROWS = 30
TABLE_BLOCK_CHARS = 4000

# OOXML zip limits. Real documents are far below these; a zip bomb is far above.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_COMPRESSION_RATIO = 200
_RATIO_MIN_BYTES = 1024 * 1024  # tiny parts compress absurdly well; only judge big ones
_DTD_SCAN_BYTES = 4096
_DTD = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


def _summary(exc: BaseException) -> str:
    """One line about what went wrong, never a traceback."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if not first:
        return type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn anything a parsing library raises into a ``FileError`` the pipeline can record.

    Libraries raise whatever they like (zipfile.BadZipFile, KeyError for a missing part,
    lxml.etree.XMLSyntaxError, PdfiumError, ...); callers must only ever see FileError.
    """
    try:
        yield
    except FileError:
        raise
    except RecursionError:
        raise FileError("parse_error", f"{what} is nested too deeply to process") from None
    except MemoryError:
        raise FileError("too_large", f"{what} needs too much memory to extract") from None
    except OSError as exc:
        # The file vanished or the disk failed: not the document's fault, so worth a retry.
        raise FileError(
            "read_error", f"could not read {what}: {_summary(exc)}", retryable=True
        ) from None
    except Exception as exc:
        raise FileError("parse_error", f"{what} could not be parsed: {_summary(exc)}") from None


def clean(text: str) -> str:
    """Trim, normalise line endings and drop NULs (they break databases and tokenizers)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


def collapse_ws(text: str) -> str:
    return " ".join(text.split())


def cell_text(value: Any) -> str:
    """A spreadsheet/CSV cell as a short readable string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Spreadsheets store binary doubles (0.1 + 0.2 = 0.30000000000000004); 15 significant
        # digits is what Excel itself shows.
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return collapse_ws(str(value))


def cells(texts: Iterable[str]) -> tuple[Cell, ...]:
    """A row of plain (unmerged) cells."""
    return tuple(Cell(text) for text in texts)


def table_element(
    table: Table,
    *,
    page: int | None = None,
    meta: dict[str, Any] | None = None,
    bbox: BBox | None = None,
) -> Element | None:
    """The ``table`` element of a ``Table``: its text from the one renderer; ``None`` when the
    table holds no text at all."""
    text = table_to_text(table)
    if not text.strip():
        return None
    return Element(kind="table", text=text, page=page, meta=meta or {}, table=table, bbox=bbox)


def table_blocks(
    rows: Iterable[tuple[int, tuple[Cell, ...]]],
    *,
    header: Sequence[tuple[Cell, ...]] = (),
    caption: str | None = None,
    page: int | None = None,
    meta: dict[str, Any] | None = None,
) -> Iterator[Element]:
    """A long table as ``table`` elements of at most ~30 rows / 4000 characters each.

    Streaming: ``rows`` (numbered as the user counts them in the source) may be a generator over
    a huge CSV. Every block's ``Table`` has the header rows, so each stands on its own; its text
    has the caption and header line only in the first block (``meta.continued`` marks the
    others), and ``meta.rows`` is the inclusive range of row numbers it covers.
    """
    header = tuple(header)
    labels = Table(header, header_rows=len(header)).header_labels() if header else []
    block: list[tuple[Cell, ...]] = []
    size = 0
    first = last = 0
    part = 0
    for number, row in rows:
        line = _row_size(row, labels)
        if not line:
            continue
        if block and (len(block) >= TABLE_BLOCK_ROWS or size + line > TABLE_BLOCK_CHARS):
            yield _block(header, block, caption, part, first, last, page, meta)
            block, size, part = [], 0, part + 1
        if not block:
            first = number
        block.append(row)
        size += line + 1
        last = number
    if block or (not part and (header or caption)):
        yield _block(header, block, caption, part, first, last, page, meta)


def _row_size(row: tuple[Cell, ...], labels: list[str]) -> int:
    """About how long the row's line will be (0 for an empty row)."""
    size = 0
    for index, cell in enumerate(row):
        if cell.text:
            size += len(cell.text) + 3 + (len(labels[index]) + 2 if index < len(labels) else 0)
    return size


def _block(
    header: tuple[tuple[Cell, ...], ...],
    block: list[tuple[Cell, ...]],
    caption: str | None,
    part: int,
    first: int,
    last: int,
    page: int | None,
    meta: dict[str, Any] | None,
) -> Element:
    table = Table((*header, *block), header_rows=len(header), caption=caption)
    extra: dict[str, Any] = {"rows": [first, last]} if block else {}
    if part:
        extra["continued"] = True
    return Element(
        kind="table",
        text=table_to_text(table, with_header=not part),
        page=page,
        meta={**(meta or {}), **extra},
        table=table,
    )


def simple_table(
    rows: Sequence[Sequence[str]],
    *,
    page: int | None = None,
    meta: dict[str, Any] | None = None,
    has_header: bool | None = None,
    caption: str | None = None,
) -> list[Element]:
    """A small table of plain cells (Markdown, PPTX without merges): header detection + blocks.

    ``has_header`` is known for Markdown/HTML (thead, th); otherwise the first row is guessed.
    """
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if has_header is None:
        # A first row narrower than the body (a merged caption cell) is a title, not a header.
        width = max(len(row) for row in rows[1:]) if len(rows) > 1 else 0
        has_header = len(rows) > 1 and len(rows[0]) >= width and looks_like_header(rows[0])
    header = [cells(rows[0])] if has_header else []
    body = rows[1:] if has_header else rows
    start = 2 if has_header else 1
    numbered = ((start + index, cells(row)) for index, row in enumerate(body))
    return list(table_blocks(numbered, header=header, caption=caption, page=page, meta=meta))


class Builder:
    """Collects elements in reading order (``assemble`` later gives ids and section paths)."""

    def __init__(self) -> None:
        self.elements: list[Element] = []

    def add(
        self,
        kind: ElementKind,
        text: str,
        *,
        page: int | None = None,
        level: int | None = None,
        meta: dict[str, Any] | None = None,
        bbox: BBox | None = None,
    ) -> None:
        text = clean(text)
        if not text:
            return
        if kind in ("heading", "title"):
            text = collapse_ws(text)
        self.elements.append(
            Element(kind=kind, text=text, page=page, meta=meta or {}, level=level, bbox=bbox)
        )

    def extend(self, elements: Iterable[Element]) -> None:
        self.elements.extend(elements)


def check_ooxml_zip(path: Path, what: str, main_part: str) -> None:
    """Refuse zip bombs, XML entity tricks and zips that are not the expected OOXML document.

    Runs before python-docx/openpyxl/python-pptx see the file: their errors for a non-zip or a
    random zip are cryptic (``KeyError: "There is no item named ..."``), and none of them limits
    decompressed size.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise FileError(
            "parse_error", f"the {what} file is not a valid zip archive (corrupt or truncated?)"
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise FileError("parse_error", f"{what} has too many zip entries ({len(infos)})")
        total = sum(info.file_size for info in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise FileError(
                "parse_error",
                f"{what} would decompress to {total // (1024 * 1024)} MB (limit "
                f"{MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB); refusing a possible zip bomb",
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _RATIO_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
                raise FileError(
                    "parse_error",
                    f"{what} entry {info.filename!r} has a suspicious compression ratio "
                    f"({ratio:.0f}:1); refusing a possible zip bomb",
                )
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or main_part not in names:
            raise FileError(
                "parse_error", f"the file is a zip archive but not a valid {what} (no {main_part})"
            )
        _refuse_dtds(archive, infos, what)


def _refuse_dtds(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], what: str) -> None:
    """OOXML parts never declare a DTD; one that does is an entity-expansion attempt.

    The libraries' lxml parsers don't resolve entities, but refusing outright is simpler to
    reason about than trusting every parser configuration. A DTD must precede the root element,
    so the start of each part is enough.
    """
    for info in infos:
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(info) as part:
            start = part.read(_DTD_SCAN_BYTES)
        if _DTD.search(start):
            raise FileError(
                "parse_error",
                f"{what} part {info.filename!r} declares a DTD/entities; refusing a possible "
                "XML entity-expansion attack",
            )


def finish_table(
    rows: Sequence[tuple[Cell, ...]],
    *,
    header_rows: int | None = None,
    caption: str | None = None,
) -> Table:
    """A ``Table`` from rows as the source drew them, with its title and header rows found.

    A first row that is one cell across the whole table (a merged title) becomes the caption
    when there is none, never the header. ``header_rows`` is what the format says (``<thead>``,
    a repeated Word header row, PowerPoint's first-row flag); when it says nothing the first
    row is a header if it looks like one (distinct, non-numeric labels), and so is the second
    when the first groups columns under a span (``Sales`` over ``Q1 | Q2``).
    """
    rows = [row for row in rows if any(c.text for c in row) or any(c.rowspan > 1 for c in row)]
    known = header_rows
    if len(rows) > 1 and len(rows[0]) == 1:
        width = Table(tuple(rows)).width
        first = rows[0][0]
        if width > 1 and first.colspan >= width and first.rowspan == 1:
            caption = caption or first.text or None
            rows = rows[1:]
            known = max(0, known - 1) if known else known
    if known is None:
        known = 0
        if len(rows) > 1 and looks_like_header([c.text for c in rows[0]]):
            known = 1
            spans = any(c.colspan > 1 for c in rows[0])
            if spans and len(rows) > 2 and looks_like_header([c.text for c in rows[1]]):
                known = 2
    known = min(known, max(0, len(rows) - 1)) if len(rows) > 1 else min(known, len(rows))
    return Table(tuple(rows), header_rows=known, caption=caption)
