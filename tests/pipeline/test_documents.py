"""The document model: tables with spans, the one renderer, ids and section paths, JSON shape."""

from __future__ import annotations

import pickle

from ingestd.domain.documents import (
    Cell,
    Document,
    Element,
    PageInfo,
    Table,
    assemble,
    table_to_markdown,
    table_to_text,
)

# "Site" spans two header rows, "Sales (€)" two columns; a vertical merge in the body.
SALES = Table(
    rows=(
        (Cell("Site", rowspan=2), Cell("Sales (€)", colspan=2)),
        (Cell("Q1"), Cell("Q2")),
        (Cell("Lyon", rowspan=2), Cell("4,476.90"), Cell("8,665.48")),
        (Cell("1,000.00"), Cell("2,000.00")),
        (Cell("Total"), Cell("14,142.38", colspan=2)),
    ),
    header_rows=2,
    caption="Table 1. Sales by site",
)


def test_grid_and_labels_under_spans() -> None:
    assert SALES.grid()[:3] == [
        ["Site", "Sales (€)", None],
        [None, "Q1", "Q2"],
        ["Lyon", "4,476.90", "8,665.48"],
    ]
    assert SALES.width == 3
    assert SALES.header_labels() == ["Site", "Sales (€) / Q1", "Sales (€) / Q2"]


def test_text_has_the_header_once_and_one_labelled_line_per_row() -> None:
    assert table_to_text(SALES).splitlines() == [
        "Table 1. Sales by site",
        "Site | Sales (€) / Q1 | Sales (€) / Q2",
        "Site: Lyon | Sales (€) / Q1: 4,476.90 | Sales (€) / Q2: 8,665.48",
        # The vertical merge is not repeated, and the labels do not shift left.
        "Sales (€) / Q1: 1,000.00 | Sales (€) / Q2: 2,000.00",
        "Site: Total | Sales (€) / Q1: 14,142.38",
    ]
    assert table_to_text(SALES, with_header=False).splitlines()[0].startswith("Site: Lyon")


def test_headerless_table_and_unlabelled_columns() -> None:
    plain = Table(((Cell("a"), Cell("b")), (Cell(""), Cell("c"))))
    assert table_to_text(plain) == "a | b\nc"
    ragged = Table(((Cell("Name"),), (Cell("Ann"), Cell("extra"))), header_rows=1)
    assert table_to_text(ragged) == "Name\nName: Ann | column 2: extra"


def test_markdown() -> None:
    assert table_to_markdown(SALES).splitlines() == [
        "Table 1. Sales by site",
        "",
        "| Site | Sales (€) / Q1 | Sales (€) / Q2 |",
        "| --- | --- | --- |",
        "| Lyon | 4,476.90 | 8,665.48 |",
        "|  | 1,000.00 | 2,000.00 |",
        "| Total | 14,142.38 |  |",
    ]
    odd = Table(((Cell("a|b\nc"),),))
    assert table_to_markdown(odd).splitlines() == ["|  |", "| --- |", "| a\\|b<br>c |"]


def test_assemble_gives_ids_and_section_paths() -> None:
    document = assemble(
        [
            Element("title", "Annual report"),
            Element("paragraph", "Intro."),
            Element("heading", "Results", level=1),
            Element("heading", "North", level=2),
            Element("paragraph", "Up."),
            Element("heading", "Outlook", level=1),
            Element("list_item", "More.", level=1),
            Element("paragraph", "Keyed.", section=("items",)),
        ],
        metadata={"title": "Annual report"},
    )
    assert [(e.id, e.section) for e in document.elements] == [
        ("e1", ("Annual report",)),
        ("e2", ("Annual report",)),
        ("e3", ("Annual report", "Results")),
        ("e4", ("Annual report", "Results", "North")),
        ("e5", ("Annual report", "Results", "North")),
        ("e6", ("Annual report", "Outlook")),
        ("e7", ("Annual report", "Outlook")),
        ("e8", ("items",)),
    ]
    assert document.metadata == {"title": "Annual report", "furniture": []}


def test_old_string_sections_still_work() -> None:
    assert Element("paragraph", "x", section="Intro").section == ("Intro",)
    assert Element("paragraph", "x", section=None).section == ()


def test_json_shape_round_trips_and_pickles() -> None:
    document = assemble(
        [
            Element("heading", "Results", page=1, level=1, bbox=(72, 80, 300, 96)),
            Element("table", table_to_text(SALES), page=2, table=SALES),
            Element("notes", "Say hello.", page=2),
        ],
        pages=[PageInfo(1, 595, 842), PageInfo(2, 595, 842, "ocr", 0.91)],
        metadata={"title": "Report", "furniture": ["ACME — confidential"]},
    )
    data = document.to_dict()
    assert data["schema"] == "ingestd.document/1"
    assert data["elements"][0] == {
        "id": "e1",
        "kind": "heading",
        "level": 1,
        "text": "Results",
        "page": 1,
        "bbox": [72, 80, 300, 96],
        "section": ["Results"],
    }
    table = data["elements"][1]
    assert table["caption"] == "Table 1. Sales by site"
    assert table["table"]["header_rows"] == 2
    assert table["table"]["rows"][0][0] == {"text": "Site", "colspan": 1, "rowspan": 2}
    assert data["pages"][1] == {
        "number": 2,
        "width": 595,
        "height": 842,
        "text_source": "ocr",
        "ocr_confidence": 0.91,
    }
    assert Document.from_dict(data) == document
    assert pickle.loads(pickle.dumps(document)) == document
    assert document.pages_by_source() == {"total": 2, "text_layer": 1, "ocr": 1}


def test_notes_are_out_of_the_body_unless_asked() -> None:
    document = assemble([Element("paragraph", "Body."), Element("notes", "Speaker notes.")])
    assert [e.kind for e in document.body()] == ["paragraph"]
    assert document.text() == "Body."
    assert document.text(include_notes=True) == "Body.\n\nSpeaker notes."
