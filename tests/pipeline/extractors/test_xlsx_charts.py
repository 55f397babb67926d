"""XLSX charts: their titles become captions after their sheet's table (issue 14 item 5)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from openpyxl.chart import BarChart, LineChart, Reference

from ingestd.pipeline.extractors import extract_document

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(path: Path, *, chartsheet: bool = True) -> Path:
    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "Sales"
    sales.append(["Quarterly sales"])  # a title row: the table's caption
    for row in (["Region", "Q1", "Q2"], ["North", 10, 12], ["South", 7, 9]):
        sales.append(row)
    data = Reference(sales, min_col=2, min_row=2, max_col=3, max_row=4)
    bar = BarChart()
    bar.title = "Sales by region"
    bar.add_data(data, titles_from_data=True)
    sales.add_chart(bar, "E2")
    untitled = LineChart()  # no title: nothing to say
    untitled.add_data(data, titles_from_data=True)
    sales.add_chart(untitled, "E20")
    if chartsheet:
        trend = workbook.create_chartsheet("Trend")
        line = LineChart()
        line.title = "Growth, quarter on quarter"
        line.add_data(data, titles_from_data=True)
        trend.add_chart(line)
    costs = workbook.create_sheet("Costs")
    for row in (["Item", "Cost"], ["Rent", 100], ["Power", 40]):
        costs.append(row)
    workbook.save(path)
    return path


def test_chart_titles_are_captions_of_their_sheet(tmp_path: Path) -> None:
    document = extract_document(_workbook(tmp_path / "book.xlsx"), XLSX)

    outline = [(e.kind, e.page, e.text.splitlines()[0]) for e in document.elements]
    assert outline == [
        ("heading", 1, "Sales"),
        ("table", 1, "Quarterly sales"),
        ("caption", 1, "Sales by region"),
        ("heading", 2, "Trend"),
        ("caption", 2, "Growth, quarter on quarter"),
        ("heading", 3, "Costs"),
        ("table", 3, "Item | Cost"),
    ]
    caption = document.elements[2]
    assert caption.meta == {"sheet": "Sales", "chart": True}
    assert caption.section == ("Sales",)


def test_a_broken_chart_part_costs_only_the_chart(tmp_path: Path) -> None:
    # (A broken chartsheet's chart fails the workbook in openpyxl itself, which reads them.)
    path = _workbook(tmp_path / "book.xlsx", chartsheet=False)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/charts/"):
                data = b"<not xml"
            target.writestr(item, data)

    document = extract_document(broken, XLSX)

    assert [e.kind for e in document.elements] == ["heading", "table", "heading", "table"]
    assert [e.text for e in document.elements if e.kind == "heading"] == ["Sales", "Costs"]
