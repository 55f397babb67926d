"""Token counts for ``options.chunk_unit: "tokens"``, with a real tokenizer and no download.

The vocabulary is the WordPiece tokenizer of all-MiniLM-L6-v2 (BERT uncased, 30,522 tokens;
Apache-2.0), shipped in this package as ``minilm-tokenizer.json``: a token here is a token of the
default semantic embedder (``embedder: "minilm"``, which reads at most 256 of them). The
``tokenizers`` library (Hugging Face, Rust) runs it; it is the ``ingestd[tokens]`` extra (the
``embeddings`` extra brings it too). Nothing is fetched at run time.

WordPiece splits on whitespace and punctuation first, so the count of a text joined from pieces
at whitespace is the sum of the pieces' counts: the chunker counts each piece once.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["TOKENS_EXTRA", "TokenCounter", "counter", "is_installed"]

VOCABULARY = Path(__file__).with_name("minilm-tokenizer.json")
TOKENS_EXTRA = "pip install 'ingestd[tokens]'"
_lock = threading.Lock()


def is_installed() -> bool:
    """Whether ``tokenizers`` can be imported (without importing it)."""
    return importlib.util.find_spec("tokenizers") is not None


class TokenCounter:
    """Counts the tokens of texts: ``counter()(["a text", …]) -> [n, …]``."""

    def __init__(self) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:  # the pipeline turns this into the file's error
            raise ImportError(
                f"chunk_unit 'tokens' needs the tokenizers package: {TOKENS_EXTRA}"
            ) from None
        tokenizer: Any = Tokenizer.from_file(str(VOCABULARY))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def one(self, text: str) -> int:
        return self([text])[0]


@cache
def _shared() -> TokenCounter:
    return TokenCounter()


def counter() -> Callable[[Sequence[str]], list[int]]:
    """The process's token counter (loaded once, ~50 ms)."""
    with _lock:
        return _shared()
