"""Helpers shared by the extractors: error translation, table rendering, OOXML zip checks."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingestd.domain.documents import Element, ElementKind
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
_NUMBER = re.compile(r"^[-+]?[\d\s.,%€$£]+$")


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
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return collapse_ws(str(value))


def looks_like_header(row: Sequence[str]) -> bool:
    """Is this first row a header? Non-empty, distinct, textual labels."""
    labels = [label for label in row if label]
    if len(labels) < max(1, len(row) - 1) or len(set(labels)) != len(labels):
        return False
    return not any(_NUMBER.match(label) for label in labels)


def render_row(row: Sequence[str], header: Sequence[str] | None) -> str:
    """``header1: value1 | header2: value2``; empty cells are left out, they carry nothing."""
    if header is None:
        return " | ".join(value for value in row if value)
    parts = []
    for index, value in enumerate(row):
        if not value:
            continue
        label = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        parts.append(f"{label}: {value}")
    return " | ".join(parts)


def table_elements(
    rows: Iterable[tuple[int, Sequence[str]]],
    *,
    header: Sequence[str] | None,
    page: int | None = None,
    section: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Iterator[Element]:
    """Group numbered rows into ``table`` elements of at most ~30 rows / 4000 characters.

    Streaming: ``rows`` may be a generator over a huge CSV. ``meta.rows`` is the inclusive range
    of row numbers (as the user would count them in the source) each block covers.
    """
    lines: list[str] = []
    size = 0
    first = last = 0
    for number, row in rows:
        line = render_row(row, header)
        if not line:
            continue
        if lines and (len(lines) >= TABLE_BLOCK_ROWS or size + len(line) > TABLE_BLOCK_CHARS):
            yield _table_block(lines, first, last, page, section, meta)
            lines, size = [], 0
        if not lines:
            first = number
        lines.append(line)
        size += len(line) + 1
        last = number
    if lines:
        yield _table_block(lines, first, last, page, section, meta)


def _table_block(
    lines: list[str],
    first: int,
    last: int,
    page: int | None,
    section: str | None,
    meta: dict[str, Any] | None,
) -> Element:
    return Element(
        kind="table",
        text="\n".join(lines),
        page=page,
        section=section,
        meta={**(meta or {}), "rows": [first, last]},
    )


def render_table(
    rows: Sequence[Sequence[str]],
    *,
    page: int | None = None,
    section: str | None = None,
    meta: dict[str, Any] | None = None,
    has_header: bool | None = None,
) -> list[Element]:
    """A small in-memory table (DOCX, PPTX, HTML, Markdown): header detection + blocks.

    ``has_header`` is known for Markdown/HTML (thead, th); otherwise the first row is guessed.
    """
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if has_header is None:
        # A first row narrower than the body (a merged caption cell) is a title, not a header.
        width = max(len(row) for row in rows[1:]) if len(rows) > 1 else 0
        has_header = len(rows) > 1 and len(rows[0]) >= width and looks_like_header(rows[0])
    header = rows[0] if has_header else None
    body = rows[1:] if header is not None else rows
    start = 2 if header is not None else 1
    numbered = ((start + index, row) for index, row in enumerate(body))
    return list(table_elements(numbered, header=header, page=page, section=section, meta=meta))


class Builder:
    """Collects elements in reading order and remembers the current section (last heading)."""

    def __init__(self) -> None:
        self.elements: list[Element] = []
        self.section: str | None = None

    def add(
        self,
        kind: ElementKind,
        text: str,
        *,
        page: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        text = clean(text)
        if not text:
            return
        if kind in ("heading", "title"):
            # A heading belongs to the section it opens, not to the one before it.
            self.section = collapse_ws(text)
        self.elements.append(
            Element(kind=kind, text=text, page=page, section=self.section, meta=meta or {})
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
