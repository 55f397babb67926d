"""A corpus of hostile documents, generated on the spot (nothing binary is committed).

Each entry: file name, bytes, and the outcomes that are acceptable for it — a clean failure code
or, for documents that are merely large or odd, completion.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

COMPLETED = "completed"


def _zip(entries: dict[str, bytes], level: int = 9) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def billion_laughs_docx() -> bytes:
    entities = b'<!ENTITY a0 "ha">' + b"".join(
        b'<!ENTITY a%d "&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;">'
        % ((i,) + (i - 1,) * 10)
        for i in range(1, 10)
    )
    document = (
        b'<?xml version="1.0"?><!DOCTYPE w ['
        + entities
        + b"]><w:document><w:body>&a9;</w:body></w:document>"
    )
    return _zip({"[Content_Types].xml": _CONTENT_TYPES, "word/document.xml": document})


def inflating_xlsx() -> bytes:
    sheet = (
        b"<worksheet><sheetData>"
        + b"<row><c><v>1</v></c></row>" * 4_000_000
        + b"</sheetData></worksheet>"
    )
    return _zip(
        {
            "[Content_Types].xml": _CONTENT_TYPES,
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": sheet,
        }
    )


def nested_json(depth: int = 200_000) -> bytes:
    return b"[" * depth + b"]" * depth


def write_long_line_csv(path: Path, megabytes: int = 500) -> None:
    """A CSV whose second line is one ``megabytes`` MiB field, streamed to disk 1 MiB at a time
    (never built in memory)."""
    block = b"x" * (1024 * 1024)
    with path.open("wb") as handle:
        handle.write(b"a,b\n")
        for _ in range(megabytes):
            handle.write(block)
        handle.write(b",y\n")


def xref_loop_pdf() -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/Contents 3 0 R>>endobj\n"
        b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000009 00000 n \n0000000009 00000 n \n"
        b"trailer<</Size 4/Root 1 0 R/Prev 9>>\nstartxref\n9\n%%EOF"
    )


def deep_html(depth: int = 50_000) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"deep" + b"</div>" * depth + b"</body></html>"


def huge_markdown_line(megabytes: int = 8) -> bytes:
    return b"# Title\n\n" + b"word " * (megabytes * 1024 * 1024 // 5) + b"\n"


def email_with_big_attachment() -> bytes:
    import base64

    payload = base64.encodebytes(b"\0" * (10 * 1024 * 1024))
    return (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n'
        b"See attached.\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="zeros.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + payload
        + b"\r\n--XX--\r\n"
    )


def corpus() -> Iterator[tuple[str, bytes, set[str]]]:
    failed = {
        "parse_error",
        "memory_limit",
        "timeout",
        "too_large",
        "unsupported_type",
        "worker_crashed",
    }
    yield "laughs.docx", billion_laughs_docx(), failed
    yield "inflating.xlsx", inflating_xlsx(), failed
    yield "nested.json", nested_json(), failed
    yield "loop.pdf", xref_loop_pdf(), failed | {COMPLETED}
    yield "deep.html", deep_html(), failed | {COMPLETED}
    yield "huge.md", huge_markdown_line(), failed | {COMPLETED}
    yield "attachment.eml", email_with_big_attachment(), failed | {COMPLETED}
    yield "truncated.docx", _zip({"[Content_Types].xml": _CONTENT_TYPES})[:-30], failed
    yield "junk.pdf", bytes(range(256)) * 64, failed
    yield "unicode-bomb.txt", ("\u202e\u0000" * 100_000).encode("utf-16"), failed | {COMPLETED}
    yield "fake.json", json.dumps({"a": "b" * 10}).encode()[:-1], failed | {COMPLETED}


def streamed() -> Iterator[tuple[str, Callable[[Path], None], set[str]]]:
    """Hostile files too big to hold in memory: name, a writer that streams it to a path, and the
    acceptable outcomes. The CSV extractor refuses an over-long line after reading a bounded part
    of it, so the 500 MB line fails fast with ``parse_error``, not by time or memory limit."""
    yield "longline.csv", write_long_line_csv, {"parse_error"}
