"""Extract structured text (``Element``s) from a file whose type ``detect`` has determined.

Each format lives in its own module exposing ``extract(path) -> list[Element]``; modules are
imported lazily so a worker that only sees PDFs never pays for openpyxl or python-pptx.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline import detect
from ingestd.pipeline.extractors._common import translate_errors

__all__ = ["EXTRACTOR_VERSION", "can_extract", "extract"]

# What the extractors (and the chunker) produce, as a number: raise it whenever a change makes
# the same file yield other elements or chunks. It is part of the key that tells duplicate work
# apart (domain/content.py), so content ingested before the change is processed again.
EXTRACTOR_VERSION = 1

Extractor = Callable[[Path], list[Element]]

_MODULES: dict[str, str] = {
    detect.TEXT: "text",
    detect.MARKDOWN: "markdown",
    detect.HTML: "html",
    detect.CSV: "csv",
    detect.JSON: "json",
    detect.PDF: "pdf",
    detect.DOCX: "docx",
    detect.XLSX: "xlsx",
    detect.PPTX: "pptx",
    detect.EML: "eml",
}


def can_extract(mime_type: str) -> bool:
    return _normalise(mime_type) in _MODULES


def extract(path: Path, mime_type: str) -> list[Element]:
    """Elements of the document at ``path`` in reading order; ``[]`` when it holds no text.

    Raises ``FileError`` only: ``unsupported_type`` when no extractor handles ``mime_type``,
    ``parse_error`` for corrupt or malicious documents, ``read_error`` when the file can't be read.
    """
    mime = _normalise(mime_type)
    if mime not in _MODULES:
        raise FileError("unsupported_type", f"no text extractor for files of type {mime_type!r}")
    extractor = _load(mime)
    # Each module translates its own library errors with a precise message; this is the net for
    # whatever slips through, so no library exception ever reaches the pipeline.
    with translate_errors(f"the {_MODULES[mime].upper()} document"):
        return extractor(path)


def _normalise(mime_type: str) -> str:
    # Accept "text/plain; charset=utf-8" and case variations from callers.
    return mime_type.split(";", 1)[0].strip().lower()


def _load(mime: str) -> Extractor:
    module = importlib.import_module(f"{__name__}.{_MODULES[mime]}")
    extractor: Extractor = module.extract
    return extractor
