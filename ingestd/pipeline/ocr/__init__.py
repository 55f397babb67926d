"""OCR for scanned pages and images (``pip install 'ingestd[ocr]'``).

The engine is Debian's tesseract language data run in process through tesserocr; why, with
numbers, is in docs/extraction.md (section OCR) and ``bench/ocr.py``. Nothing here downloads a
model: the language data comes from the system (``apt-get install tesseract-ocr-eng``).

The PDF extractor calls, per page::

    reason = page_needs_ocr(text, char_boxes=textpage.count_chars(), ink_ratio=ink_ratio(page))
    if reason is not None:
        require_ocr()  # FileError("ocr_unavailable") naming the extra
        ocr = ocr_pdf_page(page, dpi=300)  # words with boxes in PDF points, reading order

The image extractor (``pipeline/extractors/image.py``) OCRs every frame of an image and builds
paragraph elements with :func:`ocr_elements`. Tests that need an ``OcrPage`` without an engine use
:func:`ingestd.pipeline.ocr.testing.fake_ocr_page`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingestd.pipeline.ocr._decision import garbled_share, page_needs_ocr
from ingestd.pipeline.ocr._engine import (
    INSTALL_HINT,
    binding_installed,
    find_tessdata,
    languages,
    recognise,
    require_engine,
)
from ingestd.pipeline.ocr._model import OcrPage, OcrWord
from ingestd.pipeline.ocr._pdf import ink_ratio, ocr_pdf_page
from ingestd.pipeline.ocr.elements import (
    TEXT_SOURCE_OCR,
    TEXT_SOURCE_TEXT_LAYER,
    ocr_elements,
    ocr_page_meta,
)

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "INSTALL_HINT",
    "TEXT_SOURCE_OCR",
    "TEXT_SOURCE_TEXT_LAYER",
    "OcrPage",
    "OcrWord",
    "garbled_share",
    "ink_ratio",
    "ocr_available",
    "ocr_elements",
    "ocr_image",
    "ocr_page_meta",
    "ocr_pdf_page",
    "page_needs_ocr",
    "require_ocr",
]


def ocr_available() -> bool:
    """The ``ocr`` extra and tesseract's language data are installed on this machine."""
    return binding_installed() and find_tessdata(languages()) is not None


def require_ocr() -> None:
    """Raise ``FileError("ocr_unavailable", …)`` naming ``pip install 'ingestd[ocr]'`` (or the
    missing language package) unless OCR can run here."""
    require_engine()


def ocr_image(image: Image.Image, *, dpi: int = 300) -> OcrPage:
    """OCR a Pillow image (mode ``L`` or ``RGB``, dark text on light); boxes in its pixels.

    ``dpi`` is the image's resolution, a hint for the engine's size heuristics.
    """
    return recognise(image, dpi=dpi, scale=1.0)
