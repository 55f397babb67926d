"""The examples in the OCR modules' docstrings run as printed."""

from __future__ import annotations

import doctest

import pytest

import ingestd.pipeline.ocr._decision
import ingestd.pipeline.ocr.testing


@pytest.mark.parametrize(
    "module",
    [ingestd.pipeline.ocr._decision, ingestd.pipeline.ocr.testing],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
