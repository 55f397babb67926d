"""Type detection from the first bytes of a file (magic bytes first, the extension only refines).

A user can name anything ``report.txt``; trusting the extension would send a PDF to the text
extractor or index binary junk as text. So: binary signatures win, then we decide whether the
head is text at all, and only for text (or an ambiguous zip) does the extension pick the flavour.
"""

from __future__ import annotations

import codecs
import re
import struct
import unicodedata
from pathlib import PurePath

import orjson
import puremagic
from charset_normalizer import from_bytes

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ZIP = "application/zip"
HTML = "text/html"
MARKDOWN = "text/markdown"
CSV = "text/csv"
JSON = "application/json"
EML = "message/rfc822"
TEXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
WEBP = "image/webp"
BMP = "image/bmp"
OCTET_STREAM = "application/octet-stream"
EMPTY = "application/x-empty"

SUPPORTED_TYPES: frozenset[str] = frozenset(
    {PDF, DOCX, XLSX, PPTX, HTML, MARKDOWN, CSV, JSON, EML, TEXT}
)
IMAGE_TYPES: frozenset[str] = frozenset({PNG, JPEG, TIFF, WEBP, BMP})
"""Read by OCR (the ``ocr`` extra); without it they fail as ``ocr_unavailable``."""

HEAD_SIZE = 8192

# Checked before anything else, in order. Our own table (rather than only puremagic) because
# puremagic reports several candidates for one signature and some non-canonical names.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # legacy .doc/.xls/.msg
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/vnd.microsoft.portable-executable"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_PUREMAGIC_ALIASES = {"application/x-gzip": "application/gzip", "application/x-zip": ZIP}

_OOXML_BY_PREFIX = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
_OOXML_BY_EXT = {".docx": DOCX, ".docm": DOCX, ".xlsx": XLSX, ".xlsm": XLSX, ".pptx": PPTX}

_MARKDOWN_EXTS = frozenset({".md", ".markdown", ".mdown", ".mkd"})
_CSV_EXTS = frozenset({".csv", ".tsv"})
_JSON_EXTS = frozenset({".json", ".geojson", ".webmanifest"})
_HTML_EXTS = frozenset({".html", ".htm", ".xhtml"})
_EML_EXTS = frozenset({".eml", ".mht", ".mhtml"})

# Headers that (almost) only appear at the top of an RFC 822 message.
_MAIL_HEADERS = frozenset(
    {"from", "received", "mime-version", "return-path", "message-id", "delivered-to", "x-mailer"}
)
_HEADER_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9-]{0,75}):[ \t]")
_HTML_TAG = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.I)
# Control characters that legitimately occur in text files.
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_MAX_CONTROL_RATIO = 0.05
_MIN_PUREMAGIC_MATCH = 4


def detect_mime_type(head: bytes, name: str) -> str:
    """Return the mime type of a file from its first bytes; ``name`` only refines text and zips."""
    if not head:
        return EMPTY
    ext = PurePath(name).suffix.lower()
    binary = _binary_signature(head)
    if binary == ZIP:
        return _zip_flavour(head, ext)
    if binary is not None:
        return binary
    text = decode_text_head(head)
    if text is None:
        return _puremagic_guess(head)
    return _text_flavour(text, ext, head)


def _binary_signature(head: bytes) -> str | None:
    if head.startswith(_ZIP_SIGNATURES):
        return ZIP
    # PDF readers accept junk before the header within the first KiB, so we do too.
    if b"%PDF-" in head[:1024]:
        return PDF
    for signature, mime in _SIGNATURES:
        if head.startswith(signature):
            return mime
    if _looks_like_bmp(head):
        return BMP
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": WEBP, b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}[head[8:12]]
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return None


# The sizes of the DIB headers BMP writers use (OS/2 1.x and 2.x, Windows 3.x to 5).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def _looks_like_bmp(head: bytes) -> bool:
    """``BM`` alone is too weak (a text file can start with it): also require a known DIB header
    size and a pixel-data offset inside the file as its header declares it."""
    if len(head) < 18 or head[:2] != b"BM":
        return False
    file_size, offset, dib_size = struct.unpack_from("<I4xII", head, 2)
    return (
        dib_size in _BMP_DIB_SIZES
        and 14 + dib_size <= offset
        and (file_size == 0 or offset < file_size)
    )


def _zip_entry_names(head: bytes) -> list[tuple[str, bytes]]:
    """Names (and, for stored entries, the start of the data) of local file headers in ``head``.

    We only have the head, so the central directory at the end is out of reach; local headers
    precede each entry's data, and OOXML writers put ``[Content_Types].xml`` and the main parts
    first. Scanning for the signature (instead of hopping by compressed size) also copes with
    entries that use a trailing data descriptor.
    """
    entries: list[tuple[str, bytes]] = []
    pos = head.find(b"PK\x03\x04")
    while pos != -1 and pos + 30 <= len(head):
        method, _, _, _, size, _, name_len, extra_len = struct.unpack_from(
            "<HHHIIIHH", head, pos + 8
        )
        name_end = pos + 30 + name_len
        if name_end <= len(head):
            raw_name = head[pos + 30 : name_end]
            data_start = name_end + extra_len
            stored = head[data_start : data_start + min(size, 100)] if method == 0 else b""
            entries.append((raw_name.decode("utf-8", "replace"), stored))
        pos = head.find(b"PK\x03\x04", pos + 4)
    return entries


def _zip_flavour(head: bytes, ext: str) -> str:
    entries = _zip_entry_names(head)
    names = [entry_name for entry_name, _ in entries]
    # ODF and EPUB declare their type in a first, uncompressed "mimetype" entry.
    if entries and names[0] == "mimetype" and entries[0][1]:
        declared = entries[0][1].decode("ascii", "replace").strip()
        if re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", declared):
            return declared
    # A zip of some folder called "word/" is not a DOCX: require the OOXML manifest as well.
    if "[Content_Types].xml" in names:
        for name in names:
            for prefix, mime in _OOXML_BY_PREFIX.items():
                if name.startswith(prefix):
                    return mime
    # Head inconclusive (main parts beyond 8 KiB or written in an unusual order): trust the
    # extension among the OOXML types; a plain zip only when nothing suggests OOXML.
    if ext in _OOXML_BY_EXT:
        return _OOXML_BY_EXT[ext]
    return ZIP


def _puremagic_guess(head: bytes) -> str:
    try:
        matches = puremagic.magic_string(head)
    except Exception:  # puremagic raises PureError (and occasionally others) on no match
        return OCTET_STREAM
    # One- and two-byte signatures ("{" → JSON, "\x01\xda" → SGI image) match random junk.
    matches = [match for match in matches if len(match.byte_match) >= _MIN_PUREMAGIC_MATCH]
    if not matches:
        return OCTET_STREAM
    best = max(matches, key=lambda match: match.confidence)
    mime = best.mime_type or OCTET_STREAM
    # A binary head must never come back as a text type just because puremagic matched a word.
    if mime.startswith("text/"):
        return OCTET_STREAM
    return _PUREMAGIC_ALIASES.get(mime, mime)


def _strip_partial_tail(data: bytes, encoding: str) -> str:
    """Decode, tolerating a multi-byte character cut in half at the end of the head."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    return decoder.decode(data, final=False)


def guess_encoding(sample: bytes) -> str | None:
    """The encoding of ``sample`` (a file's first bytes), or None if it does not look like text.

    Order matters: BOMs are certain, UTF-8 is by far the most common and decodes strictly, and
    only then do we ask charset_normalizer, which is slower and guesses.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        return _bomless_utf16(sample)
    try:
        _strip_partial_tail(sample, "utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    return _charset_normalizer_guess(sample)


def _bomless_utf16(sample: bytes) -> str | None:
    """UTF-16 without BOM shows NULs in every other byte (for mostly-ASCII text); else binary."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _charset_normalizer_guess(sample: bytes) -> str | None:
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    # Several single-byte code pages decode short Western text with equal "chaos"; the library
    # then picks the first alphabetically (often cp1250, turning "è" into "č"). Like browsers,
    # prefer windows-1252 (a superset of Latin-1) whenever it is one of the equally good answers.
    for match in matches:
        if match.chaos <= best.chaos and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding


_BOMS = (
    codecs.BOM_UTF8,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)


def decode_text_head(head: bytes) -> str | None:
    """The head decoded as text, or None when it is binary."""
    encoding = guess_encoding(head)
    if encoding is None:
        return None
    try:
        text = _strip_partial_tail(head, encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if not text and head:
        # Nothing but a byte-order mark is an empty text file, not binary; otherwise bytes that
        # decode to nothing are not text.
        return "" if head.startswith(_BOMS) else None
    return text if _mostly_printable(text) else None


def _mostly_printable(text: str) -> bool:
    if "\x00" in text:
        return False
    controls = sum(
        1 for ch in text if ch not in _TEXT_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs")
    )
    return controls <= _MAX_CONTROL_RATIO * len(text)


def _text_flavour(text: str, ext: str, head: bytes) -> str:
    if ext in _MARKDOWN_EXTS:
        return MARKDOWN
    if ext in _CSV_EXTS:
        return CSV
    if ext in _JSON_EXTS:
        return JSON if _looks_like_json(text, complete=len(head) < HEAD_SIZE) else TEXT
    if ext in _HTML_EXTS or _looks_like_html(text):
        return HTML
    if ext in _EML_EXTS or _looks_like_email(head):
        return EML
    if not ext and len(head) < HEAD_SIZE and _looks_like_json(text, complete=True):
        # Without an extension we sniff JSON only when the whole file is in the head and parses:
        # a leading "{" alone proves nothing.
        return JSON
    return TEXT


def _looks_like_html(text: str) -> bool:
    """Starts with ``<!doctype html`` or ``<html``, after an XML prolog and comments.

    A loop, not one regex: a repeated lazy comment group backtracks exponentially on many
    comments (each "-->" can end any of the earlier ones).
    """
    rest = text.lstrip("\ufeff \t\r\n")
    if rest.startswith("<?xml"):
        rest = rest[rest.find(">") + 1 :].lstrip()
    while rest.startswith("<!--"):
        end = rest.find("-->")
        if end == -1:
            return False
        rest = rest[end + 3 :].lstrip()
    return _HTML_TAG.match(rest) is not None


def _looks_like_json(text: str, *, complete: bool) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith(("{", "[")):
        return False
    return _parses_as_json(text) if complete else True


def _parses_as_json(text: str) -> bool:
    try:
        orjson.loads(text.lstrip("\ufeff"))
    except orjson.JSONDecodeError:
        return False
    return True


def _looks_like_email(head: bytes) -> bool:
    """The head starts with an RFC 822 header block containing at least one mail-only header."""
    lines = head.lstrip(b"\r\n").splitlines()[:40]
    if lines and lines[0].startswith(b"From "):  # mbox "From_" line before the headers
        lines = lines[1:]
    names: list[str] = []
    for line in lines:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):  # folded continuation of the previous header
            if not names:
                return False
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            return False
        names.append(match.group(1).decode("ascii").lower())
    return len(names) >= 2 and any(name in _MAIL_HEADERS for name in names)
