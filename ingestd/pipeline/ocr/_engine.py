"""Tesseract, in process, through tesserocr: find the language data, keep one engine per process,
turn its result iterator into ``OcrWord``s.

Why tesserocr (compiled against libtesseract) rather than pytesseract (a ``tesseract`` process per
page) or an ONNX engine: see docs/extraction.md, section OCR, and ``bench/ocr.py``.

The engine loads its language model once (about 0.1 s) and is reused for every page of the
process. It is not thread-safe, so one lock serialises its use; extraction runs in pool processes,
one document at a time, so the lock is never contended there.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestd.domain.errors import FileError
from ingestd.pipeline.ocr._model import OcrPage, OcrWord, mean_confidence

if TYPE_CHECKING:
    from PIL import Image

INSTALL_HINT = "pip install 'ingestd[ocr]'"
LANGUAGES_ENV = "INGESTD_OCR_LANGUAGES"
DEFAULT_LANGUAGES = "eng"
PAGE_TIMEOUT_MS = 120_000  # one page; a hostile image must not hold a worker forever

# Where distributions put tesseract's language data; TESSDATA_PREFIX wins over all of them.
_TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",  # Debian, Ubuntu
    "/usr/share/tesseract-ocr/4.00/tessdata",  # older Debian, Ubuntu
    "/usr/share/tessdata",  # Fedora, Arch, Alpine
    "/usr/local/share/tessdata",  # built from source, FreeBSD
    "/opt/homebrew/share/tessdata",  # Homebrew on Apple silicon
    "/usr/local/opt/tesseract/share/tessdata",  # Homebrew on Intel
    "/opt/local/share/tessdata",  # MacPorts
)

_lock = threading.Lock()
_engines: dict[tuple[str, str], Any] = {}


def languages() -> str:
    """The tesseract languages to load, e.g. ``eng`` or ``eng+deu`` (``INGESTD_OCR_LANGUAGES``)."""
    return os.environ.get(LANGUAGES_ENV, "").strip() or DEFAULT_LANGUAGES


def binding_installed() -> bool:
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return False
    return True


def find_tessdata(langs: str) -> Path | None:
    """The first directory that holds a ``.traineddata`` file for every language in ``langs``."""
    wanted = [lang.lstrip("~") for lang in langs.split("+") if lang]
    candidates = [os.environ.get("TESSDATA_PREFIX", ""), *_TESSDATA_DIRS]
    for candidate in candidates:
        if not candidate:
            continue
        for directory in (Path(candidate), Path(candidate) / "tessdata"):
            if all((directory / f"{lang}.traineddata").is_file() for lang in wanted):
                return directory
    return None


def require_engine() -> None:
    """Raise ``FileError("ocr_unavailable", …)`` saying what to install, or return."""
    if not binding_installed():
        raise FileError(
            "ocr_unavailable",
            "OCR is not installed on this worker: install it with "
            f"{INSTALL_HINT} and tesseract's language data (Debian/Ubuntu: "
            "apt-get install tesseract-ocr-eng), then retry the file",
        )
    langs = languages()
    if find_tessdata(langs) is None:
        packages = " ".join(f"tesseract-ocr-{lang.lstrip('~')}" for lang in langs.split("+"))
        raise FileError(
            "ocr_unavailable",
            f"tesseract's language data for {langs!r} is not installed on this worker: "
            f"apt-get install {packages} (or set TESSDATA_PREFIX to the folder that holds "
            f"the .traineddata files; {INSTALL_HINT} provides the engine), then retry the file",
        )


def recognise(image: Image.Image, *, dpi: int, scale: float = 1.0) -> OcrPage:
    """OCR one image. Word boxes are multiplied by ``scale`` (``72 / dpi`` gives PDF points).

    ``image`` should be mode ``L`` or ``RGB`` with dark text on a light background.
    """
    require_engine()
    from tesserocr import RIL

    langs = languages()
    with _lock:
        engine = _engine(langs)
        try:
            engine.SetImage(image)
            engine.SetSourceResolution(dpi)
            if not engine.Recognize(PAGE_TIMEOUT_MS):
                raise FileError(
                    "ocr_failed",
                    f"OCR of a {image.width}x{image.height} pixel page did not finish within "
                    f"{PAGE_TIMEOUT_MS // 1000} s; split the document or lower its resolution",
                )
            words = _words(engine.GetIterator(), RIL, scale)
        except RuntimeError as exc:  # tesserocr's word for anything libtesseract refused
            raise FileError("ocr_failed", f"OCR failed on a page: {exc}") from None
        finally:
            engine.Clear()
    return OcrPage(
        words=words,
        confidence=mean_confidence(words),
        width=image.width * scale,
        height=image.height * scale,
    )


def _engine(langs: str) -> Any:
    """The process's tesseract engine for ``langs`` (created on first use). Hold ``_lock``."""
    tessdata = find_tessdata(langs)
    assert tessdata is not None  # require_engine() checked
    key = (str(tessdata), langs)
    engine = _engines.get(key)
    if engine is None:
        from tesserocr import OEM, PSM, PyTessBaseAPI

        # AUTO segmentation finds columns and orders blocks; the LSTM engine is the only one the
        # "fast" and "best" language data support.
        engine = PyTessBaseAPI(path=f"{tessdata}/", lang=langs, psm=PSM.AUTO, oem=OEM.LSTM_ONLY)
        _engines[key] = engine
    return engine


def _words(iterator: Any, ril: Any, scale: float) -> list[OcrWord]:
    """Walk the result at word level, numbering blocks, paragraphs and lines across the page."""
    words: list[OcrWord] = []
    if iterator is None or iterator.Empty(ril.WORD):  # a page without text
        return words
    block = paragraph = line = -1
    while True:
        if iterator.IsAtBeginningOf(ril.BLOCK):
            block += 1
        if iterator.IsAtBeginningOf(ril.PARA):
            paragraph += 1
        if iterator.IsAtBeginningOf(ril.TEXTLINE):
            line += 1
        text = (iterator.GetUTF8Text(ril.WORD) or "").strip()
        box = iterator.BoundingBox(ril.WORD)
        if text and box is not None:
            x0, y0, x1, y1 = box
            confidence = max(0.0, min(1.0, iterator.Confidence(ril.WORD) / 100.0))
            words.append(
                OcrWord(
                    text=text,
                    bbox=(x0 * scale, y0 * scale, x1 * scale, y1 * scale),
                    confidence=confidence,
                    block=max(block, 0),
                    paragraph=max(paragraph, 0),
                    line=max(line, 0),
                )
            )
        if not iterator.Next(ril.WORD):
            return words
