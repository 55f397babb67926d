from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import extract

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _make_workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sales = workbook.active
    assert sales is not None
    sales.title = "Sales"
    sales.append(["Region", "Amount", "Date"])
    sales.append(["North", 1200.0, dt.date(2024, 1, 31)])
    sales.append([None, None, None])  # an empty row in the middle
    sales.append(["South", 99.5, dt.datetime(2024, 2, 1, 13, 30)])
    sales["D5"] = "=B2+B4"  # formula without a cached value: no text, no crash
    workbook.create_sheet("Empty")
    notes = workbook.create_sheet("Notes")
    notes.append([1, 2, 3])
    notes.append(["free text", None, True])
    big = workbook.create_sheet("Big")
    big.append(["id", "value"])
    for i in range(75):
        big.append([i, f"v{i}"])
    workbook.save(path)


def test_sheets_become_table_blocks(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    _make_workbook(path)

    elements = extract(path, XLSX)

    headings = [(e.page, e.text, e.level) for e in elements if e.kind == "heading"]
    assert headings == [(1, "Sales", 1), (3, "Notes", 1), (4, "Big", 1)]
    tables = [e for e in elements if e.kind == "table"]
    by_sheet = [(e.page, e.meta["sheet"], e.section, e.meta["rows"]) for e in tables]
    assert by_sheet == [
        (1, "Sales", ("Sales",), [2, 4]),
        (3, "Notes", ("Notes",), [1, 2]),
        (4, "Big", ("Big",), [2, 31]),
        (4, "Big", ("Big",), [32, 61]),
        (4, "Big", ("Big",), [62, 76]),
    ]
    assert tables[0].text == (
        "Region | Amount | Date\n"
        "Region: North | Amount: 1200 | Date: 2024-01-31\n"
        "Region: South | Amount: 99.5 | Date: 2024-02-01 13:30:00"
    )
    assert tables[1].text == "1 | 2 | 3\nfree text | TRUE"
    assert tables[2].text.splitlines()[:2] == ["id | value", "id: 0 | value: v0"]


def test_workbook_without_values(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert extract(path, XLSX) == []


def test_random_bytes_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "random.xlsx"
    path.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(FileError) as info:
        extract(path, XLSX)
    assert info.value.code == "parse_error"
    assert "not a valid zip" in info.value.message


def test_docx_passed_as_xlsx(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "actually.xlsx"
    docx.Document().save(str(path))
    with pytest.raises(FileError) as info:
        extract(path, XLSX)
    assert info.value.code == "parse_error"
    assert "not a valid XLSX" in info.value.message


def test_binary_float_noise_is_not_shown() -> None:
    from ingestd.pipeline.extractors._common import cell_text

    assert cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(309369.06000000006) == "309369.06"
    assert cell_text(2.0) == "2"
