from __future__ import annotations

from pathlib import Path

import pptx
import pytest
from pptx.util import Inches

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import extract

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def _make_deck(path: Path) -> None:
    deck = pptx.Presentation()
    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = "Quarterly Review"
    title_slide.placeholders[1].text = "Prepared by the team"

    bullets = deck.slides.add_slide(deck.slide_layouts[1])
    bullets.shapes.title.text = "Highlights"
    body = bullets.placeholders[1].text_frame
    body.text = "Revenue up"
    sub = body.add_paragraph()
    sub.text = "mostly in the north"
    sub.level = 1
    box = bullets.shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1))
    box.text_frame.text = "A free text box"
    bullets.notes_slide.notes_text_frame.text = "Remember to thank everyone."

    table_slide = deck.slides.add_slide(deck.slide_layouts[5])
    table_slide.shapes.title.text = "Numbers"
    shape = table_slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    for r, values in enumerate([["Metric", "Value"], ["Users", "1200"], ["Churn", "2%"]]):
        for c, value in enumerate(values):
            shape.table.cell(r, c).text = value

    deck.slides.add_slide(deck.slide_layouts[6])  # blank slide: contributes nothing
    deck.save(str(path))


def test_slides_titles_bullets_tables_notes(tmp_path: Path) -> None:
    path = tmp_path / "deck.pptx"
    _make_deck(path)

    elements = extract(path, PPTX)

    assert [(e.page, e.kind, e.level, e.text, e.section) for e in elements] == [
        (1, "heading", 1, "Quarterly Review", ("Quarterly Review",)),
        (1, "paragraph", None, "Prepared by the team", ("Quarterly Review",)),
        (2, "heading", 1, "Highlights", ("Highlights",)),
        (2, "list_item", 1, "Revenue up", ("Highlights",)),
        (2, "list_item", 2, "mostly in the north", ("Highlights",)),
        (2, "paragraph", None, "A free text box", ("Highlights",)),
        (2, "notes", None, "Remember to thank everyone.", ("Highlights",)),
        (3, "heading", 1, "Numbers", ("Numbers",)),
        (
            3,
            "table",
            None,
            "Metric | Value\nMetric: Users | Value: 1200\nMetric: Churn | Value: 2%",
            ("Numbers",),
        ),
    ]
    assert all(e.bbox is not None for e in elements if e.kind != "notes")


def test_empty_presentation(tmp_path: Path) -> None:
    path = tmp_path / "empty.pptx"
    deck = pptx.Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.save(str(path))
    assert extract(path, PPTX) == []


def test_random_bytes_named_pptx(tmp_path: Path) -> None:
    path = tmp_path / "random.pptx"
    path.write_bytes(b"PK\x03\x04 truncated zip header and nothing else")
    with pytest.raises(FileError) as info:
        extract(path, PPTX)
    assert info.value.code == "parse_error"


@pytest.mark.parametrize("include_notes", [False, True])
def test_speaker_notes_reach_the_chunks_only_when_asked(
    tmp_path: Path, include_notes: bool
) -> None:
    from ingestd.pipeline.stages import parse_and_chunk

    path = tmp_path / "deck.pptx"
    _make_deck(path)
    parsed = parse_and_chunk(str(path), PPTX, 1000, 100, (False, None), include_notes)
    text = "\n".join(chunk[1] for chunk in parsed.chunks)
    assert ("Remember to thank everyone." in text) is include_notes
    assert "A free text box" in text
    assert parsed.elements == 9  # the document keeps the notes element either way
