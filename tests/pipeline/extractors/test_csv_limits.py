"""An over-long CSV line is refused after a bounded read, not read whole into memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import csv as csv_extractor
from ingestd.pipeline.extractors import extract


def test_a_line_over_the_limit_fails_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_extractor, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "long.csv"
    path.write_text("name,value\nalpha,1\n" + "x" * 5000 + ",y\nbeta,2\n")
    with pytest.raises(FileError) as caught:
        extract(path, "text/csv")
    assert caught.value.code == "parse_error"
    assert (
        "line 3" in caught.value.message and "longer than 1,000 characters" in caught.value.message
    )


def test_lines_up_to_the_limit_and_multiline_fields_still_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_extractor, "MAX_LINE_CHARS", 1000)
    wide = ",".join(f"c{i}" for i in range(150))  # 989 characters with its newline
    path = tmp_path / "wide.csv"
    path.write_text(f'{wide}\n{wide}\nq,"a quoted field\nover two lines"\n')
    text = "\n".join(element.text for element in extract(path, "text/csv"))
    assert "c149" in text and "over two lines" in text


def test_the_real_limit_reads_a_bounded_part_of_a_huge_line(tmp_path: Path) -> None:
    # 3x the limit on one line: refused after reading MAX_LINE_CHARS + 1 characters of it.
    path = tmp_path / "huge.csv"
    with path.open("w") as handle:
        handle.write("a,b\n")
        for _ in range(3 * csv_extractor.MAX_LINE_CHARS // (1024 * 1024)):
            handle.write("x" * 1024 * 1024)
        handle.write(",y\n")
    with pytest.raises(FileError, match="line 2 of the CSV file is longer than"):
        extract(path, "text/csv")
