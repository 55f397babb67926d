"""Plain text: detect the encoding from the first bytes, then stream paragraphs.

Paragraphs are separated by blank lines. The file is never read whole: a multi-GB log becomes
a stream of bounded paragraphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from ingestd.domain.documents import Element
from ingestd.pipeline.detect import guess_encoding
from ingestd.pipeline.extractors._common import clean, translate_errors

ENCODING_SAMPLE_BYTES = 64 * 1024
# A "paragraph" without blank lines can be megabytes (minified data, logs); cut it at line
# boundaries so one element never holds an unbounded string.
MAX_PARAGRAPH_CHARS = 16 * 1024


def extract(path: Path) -> list[Element]:
    with translate_errors("the text file"), open_text(path) as handle:
        return [Element(kind="paragraph", text=text) for text in paragraphs(bounded_lines(handle))]


def bounded_lines(handle: TextIO) -> Iterator[str]:
    """Lines, but a single giant line (no newline for megabytes) arrives in bounded pieces."""
    return iter(lambda: handle.readline(MAX_PARAGRAPH_CHARS), "")


def detect_encoding(path: Path) -> str:
    """The file's encoding judged from its first 64 KiB; UTF-8 when it can't be told."""
    with path.open("rb") as handle:
        sample = handle.read(ENCODING_SAMPLE_BYTES)
    return guess_encoding(sample) or "utf-8"


def open_text(path: Path, *, newline: str | None = None) -> TextIO:
    # errors="replace": one bad byte deep in a file shouldn't cost the whole document.
    return path.open(encoding=detect_encoding(path), errors="replace", newline=newline)


def paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """Blank-line separated paragraphs, each cleaned and at most ~MAX_PARAGRAPH_CHARS long."""
    buffer: list[str] = []
    size = 0
    for line in lines:
        if not line.strip():
            if buffer:
                yield from _emit(buffer)
                buffer, size = [], 0
            continue
        buffer.append(line)
        size += len(line)
        if size >= MAX_PARAGRAPH_CHARS:
            yield from _emit(buffer)
            buffer, size = [], 0
    if buffer:
        yield from _emit(buffer)


def _emit(lines: list[str]) -> Iterator[str]:
    text = clean("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    if text:
        yield text
