"""The pure parts of templates: types, signatures, matching, diffs, mappings, records."""

from __future__ import annotations

import pytest

from ingestd.templates.analytics import recommendations
from ingestd.templates.apply import Compiled
from ingestd.templates.diff import diff_columns
from ingestd.templates.mapping import MappingInvalid, normalise_mapping, normalise_schema
from ingestd.templates.match import MATCH_THRESHOLD, SAME_FAMILY, TemplateIndex
from ingestd.templates.portable import EXPORT_SCHEMA, PortableInvalid, check_import
from ingestd.templates.signature import infer_column, infer_signature, locate_header
from ingestd.templates.suggest import accepted_mapping, suggest
from ingestd.templates.values import classify, decimal_mark, parse_date, parse_number


@pytest.mark.parametrize(
    ("text", "mark", "value"),
    [
        ("1,234.50", ".", 1234.5),
        ("1.234,50", ",", 1234.5),
        ("12,5", ",", 12.5),
        ("1 234 567", ".", 1234567.0),
        ("€ 1.234,56", ",", 1234.56),
        ("$1,200", ".", 1200.0),
        ("1.200,00 EUR", ",", 1200.0),
        ("(45.10)", ".", -45.1),
        ("12 %", ".", 12.0),
        ("abc", ".", None),
    ],
)
def test_numbers_from_real_exports(text: str, mark: str, value: float | None) -> None:
    assert parse_number(text, mark) == value


def test_a_column_decides_its_decimal_mark() -> None:
    assert decimal_mark(["1.234,50", "12,00", "7"]) == ","
    assert decimal_mark(["1,234.50", "12.00"]) == "."


def test_types_of_columns() -> None:
    cases = {
        "integer": ["1", "20", "300"],
        "decimal": ["1,5", "2,25", "3"],
        "currency": ["€12,50", "€3,00", "€1.200,00"],
        "percent": ["12%", "3.5 %", "100%"],
        "date": ["03/04/2024", "17/12/2023", "01/01/2024"],
        "datetime": ["2024-01-02T10:00:00", "2024-01-03 11:30:00", "2024-01-04T09:15"],
        "boolean": ["yes", "no", "yes"],
        "email": ["a@b.org", "c.d@e.com", "x@y.de"],
        "url": ["https://a.org", "http://b.com/x", "www.c.de"],
        "categorical": ["red", "blue", "red", "blue", "red", "red"],
        "text": ["the quick fox", "jumps over", "the lazy dog"],
    }
    for kind, values in cases.items():
        assert infer_column("c", values).type == kind, (kind, values)


def test_excel_serial_dates_in_a_date_column() -> None:
    assert infer_column("Invoice date", ["45292", "45300", "45310"]).type == "date"
    assert infer_column("Quantity", ["45292", "45300"]).type == "integer"
    assert str(parse_date("45292", excel_serial=True)) == "2024-01-01"


def test_profile() -> None:
    column = infer_column("Amount", ["1.234,50", "", "12,00", "n/a"])
    assert column.type == "decimal"
    p = column.profile
    assert p["null_share"] == 0.5 and p["distinct"] == 2 and p["min"] == 12.0 and p["max"] == 1234.5
    assert p["decimal_mark"] == "," and "9.9,9" in p["patterns"]


def test_header_below_title_and_blank_rows() -> None:
    grid = [
        ["Sales report 2024", "", "", ""],
        ["", "", "", ""],
        ["Region", "Date", "Units", "Revenue"],
        ["North", "2024-01-02", "3", "1.200,50"],
    ]
    assert locate_header(grid) == 2
    assert classify("1.200,50", ",") == "decimal"


def _index(*layouts: tuple[str, list[tuple[str, str]]]) -> TemplateIndex:
    return TemplateIndex.from_rows(
        (tid, 1, "approved", [{"name": n, "type": t} for n, t in cols]) for tid, cols in layouts
    )


def _sig(cols: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    return infer_signature([n for n, _ in cols], [])


INVOICE = [("Invoice No", "text"), ("Date", "text"), ("Customer", "text"), ("Amount", "text")]


def test_match_exact_reordered_renamed_and_unrelated() -> None:
    index = _index(("tpl_a", INVOICE), ("tpl_b", [("Name", "text"), ("Email", "text")]))
    exact = index.best(_sig(INVOICE))
    assert exact is not None and exact.template_id == "tpl_a" and exact.exact and exact.score == 1.0
    reordered = index.best(_sig(list(reversed(INVOICE))))
    assert reordered is not None and reordered.same_columns and reordered.score >= MATCH_THRESHOLD
    renamed = index.best(
        _sig(
            [
                ("Invoice Number", "text"),
                ("Date", "text"),
                ("Cust", "text"),
                ("Amt", "text"),
                ("Note", "text"),
            ]
        )
    )
    assert renamed is not None and renamed.template_id == "tpl_a"
    assert SAME_FAMILY <= renamed.score < 1.0 and not renamed.same_columns
    unrelated = index.best(_sig([("Temperature", "text"), ("Pressure", "text")]))
    assert unrelated is None or unrelated.score < SAME_FAMILY


def test_diff() -> None:
    old = [
        {"name": "Qty", "type": "integer"},
        {"name": "Price", "type": "decimal"},
        {"name": "Old", "type": "text"},
    ]
    new = [
        {"name": "Quantity", "type": "integer"},
        {"name": "Price", "type": "currency"},
        {"name": "Note", "type": "date"},
    ]
    d = diff_columns(old, new)
    assert d["renamed"] == [{"from": "Qty", "to": "Quantity"}]
    assert d["retyped"] == [{"column": "Price", "from": "decimal", "to": "currency"}]
    assert d["added"] == ["Note"] and d["removed"] == ["Old"]


SCHEMA = {
    "fields": [
        {"name": "invoice", "type": "string", "required": True},
        {"name": "date", "type": "date", "required": True},
        {"name": "amount", "type": "decimal"},
        {"name": "paid", "type": "boolean"},
        {"name": "customer", "type": "string"},
        {"name": "country", "type": "string"},
        {"name": "first", "type": "string"},
    ]
}


def test_apply_with_transforms_reports_each_invalid_cell() -> None:
    columns = ["No", "Datum", "Betrag", "Bezahlt", "Vorname", "Nachname", "Land", "Name"]
    mapping = {
        "No": {"field": "invoice", "transform": {"type": "trim"}},
        "Datum": {"field": "date", "transform": {"type": "date_format", "format": "%d.%m.%Y"}},
        "Betrag": {"field": "amount"},
        "Bezahlt": {
            "field": "paid",
            "transform": {"type": "value_map", "map": {"ja": True, "nein": False}},
        },
        "Vorname": {
            "field": "customer",
            "transform": {"type": "join", "columns": ["Vorname", "Nachname"]},
        },
        "Land": {
            "field": "country",
            "transform": [
                {"type": "default", "value": "DE"},
                {"type": "value_map", "map": {"UK": "GB"}},
            ],
        },
        "Name": {"field": "first", "transform": {"type": "split", "separator": " ", "index": 0}},
    }
    compiled = Compiled(columns, SCHEMA, mapping, decimal_marks={"Betrag": ","})
    rows = [
        [" A-1 ", "03.04.2024", "1.234,50", "ja", "Ada", "Lovelace", "UK", "Ada Lovelace"],
        ["A-2", "2024-04-03", "abc", "vielleicht", "Grace", "", "", "Grace Hopper"],
        ["", "04.04.2024", "", "nein", "", "", "FR", ""],
    ]
    out = list(compiled.run(rows))
    first = out[0][1]
    assert first == {
        "invoice": "A-1",
        "date": "2024-04-03",
        "amount": 1234.5,
        "paid": True,
        "customer": "Ada Lovelace",
        "country": "GB",
        "first": "Ada",
    }
    errors = out[1][2]
    assert {(e["field"], e["reason"]) for e in errors} == {
        ("date", "not a date in the format %d.%m.%Y"),
        ("amount", "not a number"),
        ("paid", "not a yes/no value"),
    }
    assert next(e for e in errors if e["field"] == "amount")["value"] == "abc"
    assert out[1][1]["country"] == "DE" and out[1][2][0]["row"] == 2
    assert out[2][2] == [
        {
            "row": 3,
            "column": "No",
            "field": "invoice",
            "value": "",
            "reason": "required value is empty",
        }
    ]


def test_required_field_not_mapped_is_an_error_per_row() -> None:
    compiled = Compiled(["a"], SCHEMA, {"a": {"field": "invoice"}})
    [(_n, _record, errors)] = list(compiled.run([["x"]]))
    assert {"field": "date", "reason": "required field is not mapped"}.items() <= errors[0].items()


def test_bad_schemas_and_mappings_are_refused_with_every_reason() -> None:
    with pytest.raises(MappingInvalid) as caught:
        normalise_schema({"fields": [{"name": "a", "type": "nope"}, {"type": "string"}]})
    assert len(caught.value.errors) == 2
    schema = normalise_schema(SCHEMA)
    with pytest.raises(MappingInvalid) as caught:
        normalise_mapping(
            {
                "x": {"field": "missing"},
                "No": {"field": "invoice", "transform": {"type": "explode"}},
                "Y": {"field": "date"},
            },
            schema,
            ["No", "x"],
        )
    messages = " ".join(e["message"] for e in caught.value.errors)
    assert "not a field" in messages and "explode" in messages and "'Y' is not a column" in messages


def test_suggestions_rank_the_right_field_and_learn() -> None:
    columns = [
        {"name": "Cust Name", "type": "text"},
        {"name": "Inv Dt", "type": "date"},
        {"name": "Amt", "type": "decimal"},
        {"name": "E-Mail", "type": "email"},
    ]
    fields = [
        {"name": "customer_name", "type": "string"},
        {"name": "invoice_date", "type": "date"},
        {"name": "amount", "type": "decimal"},
        {"name": "email", "type": "email"},
        {"name": "notes", "type": "string"},
    ]
    out = suggest(columns, fields)
    assert [s["suggestions"][0]["field"] for s in out] == [
        "customer_name",
        "invoice_date",
        "amount",
        "email",
    ]
    assert all(
        0 < s["suggestions"][0]["confidence"] <= 1 and s["suggestions"][0]["reasons"] for s in out
    )
    # learned: "Bemerkung" was mapped to notes before
    learned = suggest(
        [{"name": "Bemerkung", "type": "text"}], fields, history={"bemerkung": {"notes": 3}}
    )
    assert learned[0]["suggestions"][0]["field"] == "notes"
    assert "mapped to notes 3 time(s) before" in learned[0]["suggestions"][0]["reasons"]
    assert accepted_mapping(out)["Amt"] == {"field": "amount"}


def test_recommendations_name_the_transform() -> None:
    recs = recommendations(
        columns=[{"name": "Date"}, {"name": "Unused"}],
        mapping={"Date": {"field": "date", "transform": []}},
        target_schema={"fields": [{"name": "date", "type": "date"}]},
        rows=10,
        error_counts=[
            {
                "field": "date",
                "column": "Date",
                "reason": "not a date",
                "count": 4,
                "examples": ["03.04.2024"],
            }
        ],
    )
    kinds = {r["kind"]: r for r in recs}
    assert kinds["unmapped_column"]["column"] == "Unused"
    assert kinds["failing_cast"]["transform"] == {"type": "date_format", "format": "%d.%m.%Y"}


def test_import_document_is_checked_whole() -> None:
    good = {
        "schema": EXPORT_SCHEMA,
        "templates": [
            {
                "name": "t",
                "versions": [
                    {
                        "version": 1,
                        "columns": [{"name": "a", "type": "text"}],
                        "target_schema": {"fields": [{"name": "a"}]},
                        "mapping": {"a": {"field": "a"}},
                    }
                ],
            }
        ],
    }
    assert check_import(good)[0]["name"] == "t"
    with pytest.raises(PortableInvalid) as caught:
        check_import(
            {
                "schema": EXPORT_SCHEMA,
                "templates": [
                    {
                        "name": "t",
                        "versions": [{"version": 1, "columns": [{"name": "a", "type": "weird"}]}],
                    },
                    {"versions": []},
                ],
            }
        )
    assert len(caught.value.errors) == 2
