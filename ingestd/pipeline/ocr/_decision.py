"""Does a PDF page's text layer need OCR? Pure functions over its text and ink, no I/O.

Three ways a text layer fails a reader:

- **missing**: the page is a scan (an image) and carries ink but no characters;
- **thin**: far fewer characters than the ink on the page could hold: a scanned page whose
  invisible OCR layer has three words, a scan whose only text is a stamped page number;
- **garbled**: characters that are not text: ``(cid:123)`` runs, Unicode private-use glyphs,
  replacement characters, control characters, UTF-8 read as Windows-1252 (``FranÃ§ais``,
  ``donâ€™t``), or glyphs that map to no character at all.

A page with real text passes, whatever its script (Latin, Greek, Cyrillic, CJK, Arabic…), and so
does a nearly blank page: with no ink there is nothing to read.
"""

from __future__ import annotations

import re
import unicodedata

MIN_INK = 0.002
"""Below this share of ink pixels a page is blank (or a stray mark): nothing to OCR."""

CHARS_PER_INK = 1000.0
"""Characters a text layer must have per unit of ink ratio (10 per 1 % of the page inked).

Calibrated on rendered A4 pages: 11 pt body text carries about 22,000 characters per unit of
ink, a 36 pt title about 2,000, a slide in 28-40 pt about 3,200; a bar chart with a caption and
labels about 320, a scanned page with a three-word hidden layer about 160 and a scan whose only
text is its page number about 115. Display type above ~50 pt also falls below the line: OCR then
reads what the text layer already had, which costs time but loses nothing (see
docs/extraction.md, OCR).
"""

MIN_TEXT_FOR_RATIOS = 20
"""Below this many non-space characters, garble ratios are noise (a page number, a signature)."""

GARBLED_SHARE = 0.1
"""A text layer whose non-space characters are at least this share junk is garbled."""

MIN_WORD_SHARE = 0.5
"""At least this share of non-space characters must be letters, digits or marks."""

MIN_MOJIBAKE_PAIRS = 3
MOJIBAKE_SHARE = 0.002
"""Mojibake pairs per character of text above which the layer is mis-decoded."""

_CID = re.compile(r"\(cid:\d+\)")
# UTF-8 read as Windows-1252 or Latin-1: a lead byte (Â..ô) followed by what was a continuation
# byte (0x80..0xBF, shown as a Latin-1 symbol or as the cp1252 punctuation it maps to).
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4]"
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_JUNK_CATEGORIES = frozenset({"Co", "Cs", "Cn"})  # private use, surrogates, unassigned
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_REPLACEMENTS = frozenset("\ufffd\ufffe\uffff")


def page_needs_ocr(text: str, *, char_boxes: int, ink_ratio: float) -> str | None:
    """Why this PDF page should be OCR'd, or ``None`` when its text layer is good.

    ``text`` is the page's text layer; ``char_boxes`` the number of characters pdfium places on
    the page (``PdfTextPage.count_chars()``, generated spaces included); ``ink_ratio`` the share of
    ink pixels from :func:`ingestd.pipeline.ocr.ink_ratio`. Returns ``"no_text_layer"``,
    ``"thin_text_layer"`` or ``"garbled"``.

    >>> page_needs_ocr("", char_boxes=0, ink_ratio=0.09)
    'no_text_layer'
    >>> page_needs_ocr("12", char_boxes=2, ink_ratio=0.09)
    'thin_text_layer'
    >>> page_needs_ocr("(cid:12)(cid:7)(cid:41)(cid:3)(cid:88)", char_boxes=5, ink_ratio=0.01)
    'garbled'
    >>> page_needs_ocr("Quarterly report", char_boxes=16, ink_ratio=0.004) is None
    True
    """
    visible = _visible(text)
    if visible == 0:
        if ink_ratio < MIN_INK:
            return None
        # Glyphs drawn but none mapped to a character is a broken font, not a scan.
        return "garbled" if char_boxes >= MIN_TEXT_FOR_RATIOS else "no_text_layer"
    if garbled_share(text) >= GARBLED_SHARE or _mojibake(text) or _unmapped(visible, char_boxes):
        return "garbled"
    if ink_ratio >= MIN_INK and visible < ink_ratio * CHARS_PER_INK:
        return "thin_text_layer"
    return None


def garbled_share(text: str) -> float:
    """Share (0..1) of ``text``'s non-space characters that are not text (see the module doc)."""
    visible = _visible(text)
    if visible < MIN_TEXT_FOR_RATIOS:
        # Too little to judge by ratio, but a (cid:…) run or a private-use glyph is never text.
        return 1.0 if _CID.search(text) or any(_is_junk(ch) for ch in text) else 0.0
    junk = sum(len(match.group()) for match in _CID.finditer(text))
    rest = _CID.sub("", text) if junk else text
    junk += 2 * len(_MOJIBAKE.findall(rest))
    # Each distinct character is classified once (a page has a few dozen); only the few that are
    # not letters or digits are counted, in C.
    non_space = _visible(rest)
    non_word = 0
    for ch in set(rest):
        if ch.isalnum() or ch.isspace():
            continue  # letters and digits are word-like and never junk
        count = rest.count(ch)
        if _is_junk(ch):
            junk += count
        if not _is_wordlike(ch):
            non_word += count
    wordlike = non_space - non_word
    share = junk / visible
    if wordlike < MIN_WORD_SHARE * visible:
        # Mostly symbols: a broken ToUnicode map turns glyphs into punctuation soup.
        share = max(share, non_word / visible)
    return min(1.0, share)


def _visible(text: str) -> int:
    """Non-space characters, counted in C."""
    return len("".join(text.split()))


def _is_junk(ch: str) -> bool:
    if ch in _REPLACEMENTS:
        return True
    category = unicodedata.category(ch)
    return category in _JUNK_CATEGORIES or (category == "Cc" and ch not in _ALLOWED_CONTROLS)


def _is_wordlike(ch: str) -> bool:
    """Letters, digits and combining marks (which scripts such as Devanagari are full of)."""
    return ch.isalnum() or unicodedata.category(ch)[0] in "LNM"


def _mojibake(text: str) -> bool:
    """UTF-8 read as Windows-1252 shows up as lead/continuation pairs (``Ã©``, ``â€™``) that real
    text does not contain; a few of them, even in otherwise clean text, mean the whole layer is
    mis-decoded (French text with every accent broken is only ~5 % junk characters)."""
    pairs = len(_MOJIBAKE.findall(text))
    return pairs >= MIN_MOJIBAKE_PAIRS and pairs >= MOJIBAKE_SHARE * len(text)


def _unmapped(visible: int, char_boxes: int) -> bool:
    """Many glyphs on the page but few characters in the text: fonts without a Unicode map."""
    return char_boxes >= 4 * MIN_TEXT_FOR_RATIOS and visible < 0.1 * char_boxes
