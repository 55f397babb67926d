"""OCR tests run the real engine; CI installs it (scripts/test), elsewhere they skip with a hint."""

from __future__ import annotations

import pytest

from ingestd.pipeline.ocr import ocr_available
from tests.needs import missing
from tests.pipeline.ocr.corpus import DEJAVU


@pytest.fixture
def ocr() -> None:
    """Use in tests that run tesseract."""
    if not ocr_available():
        missing("OCR is not installed (pip install tesserocr; apt-get install tesseract-ocr-eng)")
    if not DEJAVU.is_file():
        missing("the DejaVu font is missing (apt-get install fonts-dejavu-core)")
