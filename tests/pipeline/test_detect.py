"""Type detection: magic bytes first, extension only refines text and ambiguous zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.pdfgen import canvas

from ingestd.pipeline.detect import (
    CSV,
    DOCX,
    EML,
    EMPTY,
    HTML,
    JSON,
    MARKDOWN,
    OCTET_STREAM,
    PDF,
    PPTX,
    SUPPORTED_TYPES,
    TEXT,
    XLSX,
    ZIP,
    detect_mime_type,
)

HEAD = 8192


def _pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "Hello PDF")
    pdf.save()
    return buffer.getvalue()


def _docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("hello")
    document.save(buffer)
    return buffer.getvalue()


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])  # type: ignore[union-attr]
    workbook.save(buffer)
    return buffer.getvalue()


def _pptx_bytes() -> bytes:
    buffer = io.BytesIO()
    pptx.Presentation().save(buffer)
    return buffer.getvalue()


def _zip_bytes(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "x" * 100)
    return buffer.getvalue()


def test_pdf_named_txt_is_a_pdf() -> None:
    assert detect_mime_type(_pdf_bytes()[:HEAD], "notes.txt") == PDF


def test_pdf_with_leading_junk_is_still_a_pdf() -> None:
    assert detect_mime_type(b"\r\n\x00junk" + _pdf_bytes()[:HEAD], "x") == PDF


def test_binary_junk_named_txt_is_octet_stream() -> None:
    junk = bytes((i * 131 + 7) % 256 for i in range(HEAD))
    assert detect_mime_type(junk, "notes.txt") == OCTET_STREAM


def test_control_characters_without_nul_are_binary() -> None:
    junk = bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16]) * 50 + b"some text"
    assert detect_mime_type(junk, "a.txt") == OCTET_STREAM


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 40, "image/jpeg"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "application/gzip"),
        (b"GIF89a" + b"\x00" * 40, "image/gif"),
    ],
)
def test_well_known_binaries(head: bytes, expected: str) -> None:
    assert detect_mime_type(head, "file.txt") == expected


def test_utf16_text_with_bom() -> None:
    head = "Hello, wörld!\nSecond line.\n".encode("utf-16")
    assert detect_mime_type(head, "notes.txt") == TEXT


def test_utf16_markdown_keeps_the_extension_flavour() -> None:
    assert detect_mime_type("# Title\n\nBody\n".encode("utf-16"), "doc.md") == MARKDOWN


def test_utf16_without_bom_is_text_not_binary() -> None:
    head = ("A plain English sentence, repeated. " * 20).encode("utf-16-le")
    assert detect_mime_type(head, "notes.txt") == TEXT


def test_latin1_text() -> None:
    head = ("Café crème à la française, où l'été est très chaud. Ça coûte cher. " * 5).encode(
        "latin-1"
    )
    assert detect_mime_type(head, "notes.txt") == TEXT


def test_head_cut_inside_a_utf8_character_is_still_text() -> None:
    data = ("é" * 5000).encode()
    assert detect_mime_type(data[: HEAD - 1], "notes.txt") == TEXT


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"# Title\n\nSome *markdown*.\n", "readme.md", MARKDOWN),
        (b"# Title\n\nSome *markdown*.\n", "readme.markdown", MARKDOWN),
        (b"name,age\nalice,30\nbob,41\n", "people.csv", CSV),
        (b'{"a": [1, 2, {"b": null}]}', "data.json", JSON),
        (b'{"a": [1, 2, {"b": null}]}', "data", JSON),
        (b"not json at all", "data.json", TEXT),
        (b"<html><body><p>x</p></body></html>", "page.htm", HTML),
        (b"<!DOCTYPE html>\n<html><p>x</p></html>", "page", HTML),
        (b"  <!-- c -->\n<!doctype HTML><p>x", "page.txt", HTML),
        (b"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nbody\n", "mail", EML),
        (b"Received: from x\n\tby y\nMIME-Version: 1.0\nSubject: s\n\nb", "m.txt", EML),
        (b"anything at all\n", "mail.eml", EML),
        (b"Subject: not a mail, just a note\nTopic: x\n\nbody", "note.txt", TEXT),
        (b"just some words\n", "notes.txt", TEXT),
        (b"just some words\n", "no_extension", TEXT),
    ],
)
def test_text_flavours(content: bytes, name: str, expected: str) -> None:
    assert detect_mime_type(content, name) == expected


@pytest.mark.parametrize(
    ("factory", "expected"), [(_docx_bytes, DOCX), (_xlsx_bytes, XLSX), (_pptx_bytes, PPTX)]
)
def test_ooxml_generated_by_their_libraries(factory: object, expected: str) -> None:
    assert callable(factory)
    head = factory()[:HEAD]
    assert detect_mime_type(head, "upload.bin") == expected  # content, not the name
    assert detect_mime_type(head, "upload.zip") == expected


def test_plain_zip_is_zip_even_with_a_word_folder() -> None:
    assert detect_mime_type(_zip_bytes(["a.txt", "b/c.txt"])[:HEAD], "x.zip") == ZIP
    assert detect_mime_type(_zip_bytes(["word/notes.txt"])[:HEAD], "x.zip") == ZIP


def test_inconclusive_zip_head_falls_back_to_the_ooxml_extension() -> None:
    # Many big entries first: the OOXML names are beyond the head.
    data = _zip_bytes([f"media/{i}.bin" for i in range(200)] + ["word/document.xml"])
    assert detect_mime_type(data[:HEAD], "report.docx") == DOCX
    assert detect_mime_type(data[:HEAD], "report.zip") == ZIP


def test_zip_with_a_mimetype_entry_reports_it() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.opf", "<package/>")
    assert detect_mime_type(buffer.getvalue(), "book.zip") == "application/epub+zip"


def test_empty_head() -> None:
    assert detect_mime_type(b"", "empty.txt") == EMPTY


def test_supported_types_cover_the_extractable_formats() -> None:
    assert {PDF, DOCX, XLSX, PPTX, HTML, MARKDOWN, CSV, JSON, EML, TEXT} == SUPPORTED_TYPES


def test_real_file_head(tmp_path: Path) -> None:
    path = tmp_path / "doc.docx"
    path.write_bytes(_docx_bytes())
    with path.open("rb") as handle:
        assert detect_mime_type(handle.read(HEAD), path.name) == DOCX


@settings(max_examples=300, deadline=None)
@given(head=st.binary(max_size=HEAD), name=st.sampled_from(["a.txt", "b.pdf", "c.docx", "d", ""]))
def test_detect_never_raises(head: bytes, name: str) -> None:
    mime = detect_mime_type(head, name)
    assert "/" in mime


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1))
def test_printable_utf8_text_is_never_octet_stream(text: str) -> None:
    assert detect_mime_type(text.encode()[:HEAD], "notes.txt") != OCTET_STREAM


@pytest.mark.parametrize("bom", ["\ufeff", "\ufeff\n"])
def test_a_file_of_only_a_byte_order_mark_is_text(bom: str) -> None:
    """Hypothesis found it: a lone UTF-8 BOM decodes to nothing and was called binary."""
    assert detect_mime_type(bom.encode(), "notes.txt") == TEXT


def test_html_sniffing_is_linear_on_many_comments() -> None:
    head = (b"<!-- -->" * 1000 + b"x")[:HEAD]
    assert detect_mime_type(head, "page") == TEXT
    assert detect_mime_type(b"<?xml version='1.0'?><!-- a --><html><p>x", "page") == HTML
