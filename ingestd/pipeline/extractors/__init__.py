"""Extract a ``Document`` from a file whose type ``detect`` has determined.

Each format lives in its own module exposing ``extract(path) -> list[Element] | Document``;
``extract_document`` assembles the result (element ids, section paths, metadata). Modules are
imported lazily so a worker that only sees PDFs never pays for openpyxl or python-pptx.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from ingestd.domain.documents import Document, Element, assemble
from ingestd.domain.errors import FileError
from ingestd.domain.options import OcrMode
from ingestd.pipeline import detect
from ingestd.pipeline.extractors._common import translate_errors

__all__ = ["EXTRACTOR_VERSION", "can_extract", "extract", "extract_document", "extractor_name"]

# What the extractors (and the chunker) produce, as a number: raise it whenever a change makes
# the same file yield other elements or chunks. It is part of the key that tells duplicate work
# apart (domain/content.py), so content ingested before the change is processed again.
# 2: layout-aware PDFs, the one table model, HTML main content, OCR (issue #14).
# 3: XLSX chart titles and several tables per sheet, three-column PDF pages, OCR'd PDF pages'
#    text_source in chunk metadata, pages that needed OCR named (issue #14, second round).
EXTRACTOR_VERSION = 3

Extractor = Callable[..., "list[Element] | Document"]

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
    **dict.fromkeys(detect.IMAGE_TYPES, "image"),  # OCR, with the ``ocr`` extra
}


_READ_BY_OCR = frozenset({"pdf", "image"})  # their ``extract`` takes ``ocr=`` (options.ocr)


def can_extract(mime_type: str) -> bool:
    return _normalise(mime_type) in _MODULES


def extract(path: Path, mime_type: str) -> list[Element]:
    """The elements of ``extract_document(path, mime_type)``; ``[]`` when it holds no text."""
    return extract_document(path, mime_type).elements


def extract_document(path: Path, mime_type: str, *, ocr: OcrMode = "auto") -> Document:
    """The document at ``path``: its elements in reading order (with ids and section paths),
    pages and metadata (``title``, ``furniture``).

    Raises ``FileError`` only: ``unsupported_type`` when no extractor handles ``mime_type``,
    ``parse_error`` for corrupt or malicious documents, ``read_error`` when the file can't be read.
    ``ocr`` is the job's ``options.ocr`` (read by the PDF and image extractors).
    """
    mime = _normalise(mime_type)
    if mime not in _MODULES:
        raise FileError("unsupported_type", f"no text extractor for files of type {mime_type!r}")
    extractor = _load(mime)
    # Each module translates its own library errors with a precise message; this is the net for
    # whatever slips through, so no library exception ever reaches the pipeline.
    with translate_errors(f"the {_MODULES[mime].upper()} document"):
        result = extractor(path, ocr=ocr) if _MODULES[mime] in _READ_BY_OCR else extractor(path)
    if isinstance(result, Document):
        return assemble(result.elements, pages=result.pages, metadata=result.metadata)
    return assemble(result)


def _normalise(mime_type: str) -> str:
    # Accept "text/plain; charset=utf-8" and case variations from callers.
    return mime_type.split(";", 1)[0].strip().lower()


def _load(mime: str) -> Extractor:
    module = importlib.import_module(f"{__name__}.{_MODULES[mime]}")
    extractor: Extractor = module.extract
    return extractor


def extractor_name(mime_type: str) -> str | None:
    """The extractor that reads ``mime_type`` (``pdf``, ``docx``, ``image``…), None if none does."""
    return _MODULES.get(_normalise(mime_type))
