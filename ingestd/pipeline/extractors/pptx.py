"""PPTX via python-pptx: per slide the title, text frames, tables and speaker notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pptx
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from ingestd.domain.documents import Element, ElementKind
from ingestd.pipeline.extractors._common import (
    check_ooxml_zip,
    clean,
    collapse_ws,
    render_table,
    translate_errors,
)

_TITLES = frozenset(
    {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
)
# Text in body/content placeholders is bulleted by the layout even though the paragraphs
# themselves don't say so.
_BULLETED = frozenset({PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY})
_SKIPPED = frozenset(
    {PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.HEADER}
)


def extract(path: Path) -> list[Element]:
    with translate_errors("the PPTX presentation"):
        check_ooxml_zip(path, "PPTX", "ppt/presentation.xml")
        presentation = pptx.Presentation(str(path))
        elements: list[Element] = []
        for number, slide in enumerate(presentation.slides, start=1):
            elements.extend(_slide_elements(slide, number))
        return elements


def _slide_elements(slide: Any, number: int) -> list[Element]:
    title_shape = slide.shapes.title
    title = collapse_ws(title_shape.text_frame.text) if title_shape is not None else ""
    out = _SlideElements(number, title)
    out.add("heading", title, {"level": 1})
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_text_frame:
            _text_frame(shape, out)
        elif getattr(shape, "has_table", False):
            table = shape.table  # type: ignore[attr-defined]
            rows = [[collapse_ws(cell.text) for cell in row.cells] for row in table.rows]
            out.elements.extend(render_table(rows, page=number, section=out.section, meta=out.meta))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        out.add("text", slide.notes_slide.notes_text_frame.text, {"notes": True})
    return out.elements


class _SlideElements:
    """Elements of one slide: all carry the slide number, and the title as section and meta."""

    def __init__(self, number: int, title: str) -> None:
        self.number = number
        self.section = title or None
        self.meta: dict[str, Any] = {"slide_title": title} if title else {}
        self.elements: list[Element] = []

    def add(self, kind: ElementKind, text: str, extra: dict[str, Any] | None = None) -> None:
        text = clean(text)
        if not text:
            return
        meta = {**self.meta, **(extra or {})}
        self.elements.append(
            Element(kind=kind, text=text, page=self.number, section=self.section, meta=meta)
        )


def _text_frame(shape: Any, out: _SlideElements) -> None:
    placeholder = _placeholder_type(shape)
    if placeholder in _SKIPPED:
        return
    bulleted = placeholder in _BULLETED
    for paragraph in shape.text_frame.paragraphs:
        level = paragraph.level
        if bulleted or level > 0:
            out.add("list_item", paragraph.text, {"depth": level + 1} if level else None)
        else:
            out.add("paragraph", paragraph.text)


def _placeholder_type(shape: BaseShape) -> Any:
    if not shape.is_placeholder:
        return None
    try:
        return shape.placeholder_format.type
    except ValueError:  # a placeholder without a type attribute
        return None


def _reading_order(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Shapes top-to-bottom, left-to-right, with groups flattened.

    The XML order is z-order, which follows how the slide was edited rather than how it reads.
    """

    def position(shape: BaseShape) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    for shape in sorted(shapes, key=position):
        # isinstance, not shape_type: shape_type raises for some unusual graphic frames.
        if isinstance(shape, GroupShape):
            yield from _reading_order(shape.shapes)
        else:
            yield shape
