"""A fake OCR result for tests that need an ``OcrPage`` without running an engine.

>>> page = fake_ocr_page(["Quarterly report", "", "Revenue grew 12 %."])
>>> page.text
'Quarterly report\\n\\nRevenue grew 12 %.'
>>> [(w.text, w.paragraph, w.line) for w in page.words][:3]
[('Quarterly', 0, 0), ('report', 0, 0), ('Revenue', 1, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestd.pipeline.ocr._model import OcrPage, OcrWord, mean_confidence

__all__ = ["fake_ocr_page"]

_CHAR_WIDTH = 6.0  # points, roughly Helvetica 11
_LEADING = 14.0
_MARGIN = 72.0


def fake_ocr_page(
    text_lines: Sequence[str],
    *,
    confidence: float = 0.95,
    width: float = 595.0,
    height: float = 842.0,
    columns: Sequence[Sequence[str]] = (),
) -> OcrPage:
    """An ``OcrPage`` whose words are ``text_lines``, laid out top to bottom in PDF points.

    An empty string in ``text_lines`` ends a paragraph (like a blank line). Each further sequence
    in ``columns`` is another column to the right, a block of its own, read after the first.
    """
    words: list[OcrWord] = []
    block = paragraph = line = 0
    column_width = (width - 2 * _MARGIN) / (1 + len(columns))
    for column, lines in enumerate([text_lines, *columns]):
        x_start = _MARGIN + column * column_width
        y = _MARGIN
        started = False
        for text in lines:
            if not text.strip():
                if started:
                    paragraph += 1
                    started = False
                y += _LEADING
                continue
            x = x_start
            for token in text.split():
                w = len(token) * _CHAR_WIDTH
                words.append(
                    OcrWord(token, (x, y, x + w, y + 10.0), confidence, block, paragraph, line)
                )
                x += w + _CHAR_WIDTH
            line += 1
            started = True
            y += _LEADING
        if started:
            paragraph += 1
        block += 1
    return OcrPage(words=words, confidence=mean_confidence(words), width=width, height=height)
