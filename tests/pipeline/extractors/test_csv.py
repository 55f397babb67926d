from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingestd.pipeline.extractors import extract
from ingestd.pipeline.extractors._common import TABLE_BLOCK_ROWS


def _write(
    path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"
) -> None:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)


def test_rows_become_readable_header_value_blocks(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    rows = [["name", "city", "age"]] + [
        [f"person {i}", "Zürich, CH", str(20 + i)] for i in range(70)
    ]
    _write(path, rows)

    elements = extract(path, "text/csv")

    assert [e.kind for e in elements] == ["table"] * 3
    assert [e.meta["rows"] for e in elements] == [
        [2, TABLE_BLOCK_ROWS + 1],
        [TABLE_BLOCK_ROWS + 2, 2 * TABLE_BLOCK_ROWS + 1],
        [2 * TABLE_BLOCK_ROWS + 2, 71],
    ]
    first_lines = elements[0].text.split("\n")
    # The header line once, then one labelled line per row; later blocks carry no header line
    # but their Table keeps the header row.
    assert first_lines[:2] == ["name | city | age", "name: person 0 | city: Zürich, CH | age: 20"]
    assert len(first_lines) == TABLE_BLOCK_ROWS + 1
    assert elements[1].text.split("\n")[0] == "name: person 30 | city: Zürich, CH | age: 50"
    assert elements[1].meta["continued"] is True
    assert elements[-1].text.split("\n")[-1] == "name: person 69 | city: Zürich, CH | age: 89"
    for element in elements:
        assert element.table is not None and element.table.header_rows == 1
        assert [c.text for c in element.table.rows[0]] == ["name", "city", "age"]
    assert len(elements[-1].table.rows) == 1 + 10


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_dialect_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "data.csv"
    _write(path, [["product", "price"], ["apple", "1,5"], ["pear", "2,25"]], delimiter)
    elements = extract(path, "text/csv")
    assert elements[0].text == (
        "product | price\nproduct: apple | price: 1,5\nproduct: pear | price: 2,25"
    )


def test_headerless_csv_and_latin1(tmp_path: Path) -> None:
    path = tmp_path / "numbers.csv"
    _write(path, [["1", "café"], ["", "crème"], ["3", "brûlée"]], encoding="latin-1")
    elements = extract(path, "text/csv")
    assert elements[0].text == "1 | café\ncrème\n3 | brûlée"
    assert elements[0].meta == {"rows": [1, 3]}


def test_empty_rows_are_skipped_and_empty_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text(",,\n\n , \n")
    assert extract(path, "text/csv") == []
    path.write_text("")
    assert extract(path, "text/csv") == []
