"""What OCR returns: words with boxes and confidences, and a page of them. Plain data, picklable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OcrWord:
    """One recognised word.

    ``bbox`` is ``(x0, y0, x1, y1)`` with ``y`` growing downward: PDF points of the page as
    displayed (rotation applied) for PDF pages, pixels for images. ``block``, ``paragraph`` and
    ``line`` are the engine's grouping, numbered across the page in its reading order (so sorting
    words by ``(block, paragraph, line)`` and keeping their order within a line is reading order).
    """

    text: str
    bbox: tuple[float, float, float, float]
    confidence: float  # 0..1
    block: int
    paragraph: int
    line: int


@dataclass(frozen=True, slots=True)
class OcrPage:
    """The words of one page or image frame, in reading order; ``confidence`` is their mean
    (0..1, ``0.0`` when no word was found). ``width``/``height`` use the words' unit."""

    words: list[OcrWord]
    confidence: float
    width: float
    height: float

    @property
    def text(self) -> str:
        """The words as plain text: one line per engine line, a blank line between paragraphs."""
        out: list[str] = []
        previous: tuple[int, int, int] | None = None
        for word in self.words:
            key = (word.block, word.paragraph, word.line)
            if previous is not None and key != previous:
                out.append("\n\n" if key[:2] != previous[:2] else "\n")
            elif previous is not None:
                out.append(" ")
            out.append(word.text)
            previous = key
        return "".join(out)


def mean_confidence(words: list[OcrWord]) -> float:
    return sum(word.confidence for word in words) / len(words) if words else 0.0
