"""A slice of the fidelity corpus (bench/fidelity/) as a regression test, with thresholds.

The whole corpus, with the peers, is ``bench/fidelity.py``. Each kind here is one generated
document (two for HTML, whose variants differ in how the page marks its content).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from fidelity.corpus import generate  # noqa: E402
from fidelity.score import score  # noqa: E402

from ingestd.pipeline.detect import detect_mime_type  # noqa: E402
from ingestd.pipeline.extractors import extract_document  # noqa: E402

# kind: (documents, body fidelity at least, leakage at most)
THRESHOLDS = {
    "html": (3, 0.99, 0.0),
    "docx": (1, 0.99, 0.0),
    "xlsx": (1, 0.99, 0.0),
    "pptx": (1, 0.99, 0.0),
    # Two columns, running header and footer, a footnote, a list, hyphenated line ends, a ruled
    # and an unruled table, a page turned by /Rotate.
    "pdf": (1, 0.99, 0.0),
}


@pytest.mark.parametrize("kind", sorted(THRESHOLDS))
def test_fidelity_slice(kind: str, tmp_path: Path) -> None:
    count, body, leak = THRESHOLDS[kind]
    for truth in generate(kind, tmp_path, seed=7, count=count):
        mime = detect_mime_type(truth.path.read_bytes()[:8192], truth.path.name)
        text = extract_document(truth.path, mime).text()
        result = score(text, truth)
        assert result["body"] >= body, (truth.path.name, result)
        assert result["leakage"] <= leak, (truth.path.name, result)
        assert result["table_rows"] in (None, 1.0), (truth.path.name, result)
        assert result["order"] in (None, 1.0), (truth.path.name, result)


@pytest.mark.parametrize("kind", ["html", "pdf", "xlsx"])
def test_second_corpus_slice(kind: str, tmp_path: Path) -> None:
    """The second corpus (bench/fidelity/second.py: other fonts, three columns, an unruled
    left-aligned table, nested lists, a div-only HTML template, two tables on one sheet)."""
    from fidelity.second import generate as generate_second

    for truth in generate_second(kind, tmp_path, seed=3, count=1):
        mime = detect_mime_type(truth.path.read_bytes()[:8192], truth.path.name)
        result = score(extract_document(truth.path, mime).text(), truth)
        assert result["body"] >= 0.99, (truth.path.name, result)
        assert result["leakage"] <= 0.0, (truth.path.name, result)
        assert result["table_rows"] in (None, 1.0), (truth.path.name, result)
        assert result["order"] in (None, 1.0), (truth.path.name, result)
