"""Tables for templates from every format: CSV/TSV (any delimiter and encoding), XLSX with title
rows, JSON records, JSONL, and tables inside DOCX and HTML; signatures and the apply step."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import openpyxl
import orjson

from ingestd.pipeline import tabular

ROWS = [
    ["A-1", "03.04.2024", "1.234,50"],
    ["A-2", "04.04.2024", "12,00"],
    ["A-3", "05.04.2024", "7,25"],
]


def _columns(path: Path, mime: str) -> list[tuple[str, str]]:
    [table] = tabular.table_signatures(str(path), mime, path.name)
    return [(c["name"], c["type"]) for c in table["signature"]["columns"]]


EXPECTED = [("Invoice", "text"), ("Date", "date"), ("Amount", "decimal")]


def test_csv_with_semicolons_title_rows_and_latin1(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = ["Export März 2024;;", ";;", "Invoice;Date;Amount", *(";".join(r) for r in ROWS)]
    path.write_bytes("\n".join(lines).encode("latin-1"))
    [table] = tabular.table_signatures(str(path), "text/csv", path.name)
    assert table["signature"]["header_row"] == 2  # 0-based: below the title and the blank row
    assert [(c["name"], c["type"]) for c in table["signature"]["columns"]] == EXPECTED
    assert table["signature"]["columns"][2]["profile"]["decimal_mark"] == ","


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "export.tsv"
    path.write_text("\n".join(["Invoice\tDate\tAmount", *("\t".join(r) for r in ROWS)]))
    assert _columns(path, "text/csv") == EXPECTED


def test_xlsx_sheet_with_a_title_row(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Invoices 2024"])
    sheet.append(["Invoice", "Date", "Amount"])
    for invoice, date, amount in ROWS:
        sheet.append([invoice, date, float(amount.replace(".", "").replace(",", "."))])
    workbook.save(path)
    columns = _columns(path, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert columns == [("Invoice", "text"), ("Date", "date"), ("Amount", "decimal")]


def test_json_records_and_jsonl(tmp_path: Path) -> None:
    records = [{"Invoice": r[0], "Date": r[1], "Amount": r[2]} for r in ROWS]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"items": records}))
    assert _columns(path, "application/json") == EXPECTED
    lines = tmp_path / "export.jsonl"
    lines.write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    assert _columns(lines, "text/plain") == EXPECTED


def test_tables_inside_docx_and_html(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Our invoices")
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ["Invoice", "Date", "Amount"], strict=True):
        cell.text = text
    for row in ROWS:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    path = tmp_path / "report.docx"
    document.save(path)
    assert (
        _columns(path, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        == EXPECTED
    )
    html = tmp_path / "page.html"
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in ROWS)
    html.write_text(
        "<html><body><main><h1>Invoices</h1><table><thead><tr><th>Invoice</th><th>Date</th>"
        f"<th>Amount</th></tr></thead><tbody>{body}</tbody></table></main></body></html>"
    )
    assert _columns(html, "text/html") == EXPECTED


def test_apply_writes_records_and_counts_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("\n".join(["Invoice;Date;Amount", *(";".join(r) for r in ROWS), "A-4;soon;x"]))
    plan = {
        "index": 0,
        "target_schema": {"fields": [{"name": "invoice", "type": "string"},
                                     {"name": "date", "type": "date", "format": "%d.%m.%Y"},
                                     {"name": "amount", "type": "decimal"}]},
        "mapping": {"Invoice": "invoice", "Date": "date", "Amount": "amount"},
        "decimal_marks": {"Amount": ","},
    }  # fmt: skip
    [result] = tabular.apply_plans(str(path), "text/csv", path.name, [plan], str(tmp_path))
    assert result["rows"] == 4 and result["valid_rows"] == 3
    lines = [orjson.loads(line) for line in Path(result["records_path"]).read_bytes().splitlines()]
    assert lines[0] == [1, True, {"invoice": "A-1", "date": "2024-04-03", "amount": 1234.5}]
    assert {(e["field"], e["count"]) for e in result["error_counts"]} == {
        ("date", 1),
        ("amount", 1),
    }
