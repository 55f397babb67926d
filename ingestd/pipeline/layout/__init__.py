"""Page layout analysis for PDFs: text segments with boxes and fonts → a page's elements.

The steps, one module each:

- ``segments``: pdfium's text, split into line segments with their box (points, y down, in the
  page's displayed orientation), font size and weight; and the page's ruling lines.
- ``tables``: tables from ruling lines or from columns of aligned segments.
- ``order``: lines, then reading order: columns found from the gutters between them, with
  full-width lines (headings, wide paragraphs, tables) cutting the page into bands.
- ``blocks``: lines → paragraphs (no cut at hard-wrapped line ends, de-hyphenated), headings from
  font size and weight, list items, captions and footnotes.
- ``furniture``: running headers and footers found by repetition across pages.
"""

from ingestd.pipeline.layout.segments import Line, PageText, Rule, Segment

__all__ = ["Line", "PageText", "Rule", "Segment"]
