"""Whatever bytes arrive, an extractor returns elements or raises FileError, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline.detect import SUPPORTED_TYPES
from ingestd.pipeline.extractors import extract

_TEXTY = [b"# h\n", b"<p>x</p>", b"a,b\n1,2\n", b'{"a": [1]}', b"From: a@b\n\n", b"\r\n\r\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.lists(st.sampled_from(_TEXTY), max_size=20).map(b"".join),
        st.text(max_size=500).map(lambda text: text.encode("utf-8")),
    ),
    mime=st.sampled_from(sorted(SUPPORTED_TYPES)),
)
def test_extract_only_ever_raises_file_error(data: bytes, mime: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        try:
            elements = extract(path, mime)
        except FileError as exc:
            assert exc.code in {"parse_error", "too_large"}
            assert exc.message
            return
    assert all(isinstance(element, Element) and element.text.strip() for element in elements)
    # The contract: meta is JSON-serialisable.
    json.dumps([element.meta for element in elements])
