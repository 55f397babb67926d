"""The extractors package boundary: dispatch, unsupported types, no library exception escapes."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.detect import SUPPORTED_TYPES
from ingestd.pipeline.extractors import can_extract, extract
from ingestd.pipeline.extractors._common import MAX_UNCOMPRESSED_BYTES

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_every_supported_type_has_an_extractor() -> None:
    assert all(can_extract(mime) for mime in SUPPORTED_TYPES)
    assert can_extract("text/plain; charset=utf-8")
    assert not can_extract("image/gif")


def test_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "image.gif"
    path.write_bytes(b"GIF89a")
    with pytest.raises(FileError) as info:
        extract(path, "image/gif")
    assert info.value.code == "unsupported_type"
    assert "image/gif" in info.value.message


def test_missing_file_is_a_retryable_read_error(tmp_path: Path) -> None:
    with pytest.raises(FileError) as info:
        extract(tmp_path / "gone.txt", "text/plain")
    assert info.value.code == "read_error"
    assert info.value.retryable


def test_file_error_survives_pickling(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{")
    with pytest.raises(FileError) as info:
        extract(path, "application/json")
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.code, clone.message) == (info.value.code, info.value.message)


def _docx_like_zip(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        for name, data in parts.items():
            archive.writestr(name, data)


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    _docx_like_zip(
        path,
        {"word/document.xml": b"<w:document/>", "word/media/pad.bin": b"\0" * (8 * 1024 * 1024)},
    )
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"
    assert "zip bomb" in info.value.message


def test_declared_size_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingestd.pipeline.extractors import _common

    monkeypatch.setattr(_common, "MAX_UNCOMPRESSED_BYTES", 1000)
    path = tmp_path / "big.docx"
    _docx_like_zip(path, {"word/document.xml": bytes(range(256)) * 8})
    with pytest.raises(FileError) as info:
        extract(path, DOCX)
    assert info.value.code == "parse_error"
    assert "MB" in info.value.message
    assert MAX_UNCOMPRESSED_BYTES == 512 * 1024 * 1024


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol3;</w:t></w:r></w:p></w:body></w:document>"""


@pytest.mark.parametrize(
    ("mime", "part"),
    [
        (DOCX, "word/document.xml"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/workbook.xml"),
        (
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "ppt/presentation.xml",
        ),
    ],
)
def test_entity_expansion_is_refused(tmp_path: Path, mime: str, part: str) -> None:
    path = tmp_path / "lol.zip"
    _docx_like_zip(path, {part: BILLION_LAUGHS})
    with pytest.raises(FileError) as info:
        extract(path, mime)
    assert info.value.code == "parse_error"
    assert "entity" in info.value.message
