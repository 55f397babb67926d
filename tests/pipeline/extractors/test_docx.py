from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import extract

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _make_docx(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Annual Report", level=0)  # style "Title"
    document.add_paragraph("Opening words before any heading.")
    document.add_heading("Summary", level=1)
    document.add_paragraph("Revenue grew in every quarter.")
    document.add_paragraph("First point", style="List Bullet")
    document.add_paragraph("Second point", style="List Number")
    document.add_heading("Figures", level=2)
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, [["Region", "Q1", "Q2"], ["North", "10", "12"], ["South", "7", ""]], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("After the table.")
    document.add_paragraph("To be or not to be.", style="Quote")
    merged = document.add_table(rows=2, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Merged header"
    merged.cell(1, 0).text = "left"
    merged.cell(1, 1).text = "right"
    document.save(str(path))


def test_docx_structure_in_document_order(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    _make_docx(path)

    elements = extract(path, DOCX)

    report, summary, figures = (
        ("Annual Report",),
        ("Annual Report", "Summary"),
        (
            "Annual Report",
            "Summary",
            "Figures",
        ),
    )
    assert [(e.kind, e.text, e.section) for e in elements] == [
        ("title", "Annual Report", report),
        ("paragraph", "Opening words before any heading.", report),
        ("heading", "Summary", summary),
        ("paragraph", "Revenue grew in every quarter.", summary),
        ("list_item", "First point", summary),
        ("list_item", "Second point", summary),
        ("heading", "Figures", figures),
        (
            "table",
            "Region | Q1 | Q2\nRegion: North | Q1: 10 | Q2: 12\nRegion: South | Q1: 7",
            figures,
        ),
        ("paragraph", "After the table.", figures),
        ("paragraph", "To be or not to be.", figures),
        ("table", "Merged header\nleft | right", figures),
    ]
    assert [e.id for e in elements] == [f"e{i}" for i in range(1, 12)]
    assert (elements[2].level, elements[6].level, elements[4].level) == (1, 2, 1)
    assert elements[9].meta == {"style": "Quote", "quote": True}
    assert elements[7].table is not None and elements[7].table.header_rows == 1
    merged = elements[10].table
    assert merged is not None and merged.caption == "Merged header" and merged.header_rows == 0


def test_empty_docx(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(str(path))
    assert extract(path, DOCX) == []


def test_random_bytes_named_docx(tmp_path: Path) -> None:
    path = tmp_path / "random.docx"
    path.write_bytes(bytes((i * 37) % 251 for i in range(5000)))
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"
    assert "not a valid zip" in info.value.message


def test_zip_that_is_not_a_docx(tmp_path: Path) -> None:
    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday/notes.txt", "hello")
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"
    assert "not a valid DOCX" in info.value.message


def test_truncated_docx(tmp_path: Path) -> None:
    whole = tmp_path / "whole.docx"
    _make_docx(whole)
    path = tmp_path / "truncated.docx"
    path.write_bytes(whole.read_bytes()[:4000])
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"


def test_docx_with_broken_xml(tmp_path: Path) -> None:
    whole = tmp_path / "whole.docx"
    _make_docx(whole)
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "word/document.xml":
                data = data[: len(data) // 2]
            target.writestr(entry, data)
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"
    assert "Traceback" not in info.value.message


def test_hyperlinks_tabs_and_content_controls(tmp_path: Path) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    paragraph = document.add_paragraph("See ")
    paragraph._p.append(
        parse_xml(
            f'<w:hyperlink {nsdecls("w", "r")} r:id="rId99"><w:r><w:t>the docs</w:t></w:r>'
            "</w:hyperlink>"
        )
    )
    paragraph.add_run("\tnow")
    document.element.body.insert(
        0,
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtContent><w:p><w:r><w:t>Cover page</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        ),
    )
    path = tmp_path / "links.docx"
    document.save(str(path))

    assert [e.text for e in extract(path, DOCX)] == ["Cover page", "See the docs\tnow"]
