"""Chunking on the fidelity corpus: ``size`` against ``structure``, same documents, same run.

    .venv/bin/python bench/chunking.py [--count 3] [--size 1000] [--overlap 200]

Generates the fidelity corpus (bench/fidelity: PDF, DOCX, XLSX, PPTX, HTML with headings, lists
and tables), extracts each file once, and chunks it both ways. Per strategy it prints:

- ``rows whole``: table rows and list items found whole inside one chunk (1.0 = none split);
- ``one section``: chunks whose body elements all share one section path;
- ``no dangling``: chunks that do not end on a heading (a heading cut from its content);
- ``chunks`` and ``chunks/s`` (chunking only).

``structure`` becomes the default when it scores at least as well as ``size`` on all three.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fidelity.corpus import KINDS, generate  # noqa: E402

from ingestd.domain.documents import Chunk, Element  # noqa: E402
from ingestd.pipeline.chunk import chunk_elements  # noqa: E402
from ingestd.pipeline.chunk_structure import chunk_by_units  # noqa: E402
from ingestd.pipeline.detect import detect_mime_type  # noqa: E402
from ingestd.pipeline.extractors import extract_document  # noqa: E402

HEADINGS = ("title", "heading")


def scores(elements: list[Element], chunks: list[Chunk]) -> dict[str, float]:
    units = [
        line
        for e in elements
        if e.kind in ("table", "list_item")
        for line in (e.text.splitlines() if e.kind == "table" else [e.text])
        if line.strip()
    ]
    texts = [c.text for c in chunks]
    whole = sum(any(u in t for t in texts) for u in units)
    by_id = {e.id: e for e in elements}
    one_section = 0
    for chunk in chunks:
        body = [by_id[i] for i in chunk.metadata.get("element_ids", []) if i in by_id]
        sections = {e.section for e in body if e.kind not in HEADINGS}
        one_section += len(sections) <= 1
    headings = {e.text.strip() for e in elements if e.kind in HEADINGS and e.text.strip()}
    dangling = sum(any(t.rstrip().endswith(h) and t.strip() != h for h in headings) for t in texts)
    n = max(1, len(chunks))
    return {
        "rows whole": whole / len(units) if units else 1.0,
        "one section": one_section / n,
        "no dangling": 1 - dangling / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--overlap", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        documents = []
        for kind in KINDS:
            for truth in generate(kind, Path(tmp) / kind, count=args.count):
                head = truth.path.read_bytes()[:8192]
                doc = extract_document(truth.path, detect_mime_type(head, truth.path.name))
                documents.append(doc.body())
        strategies = {
            "size": lambda els: chunk_elements(els, size=args.size, overlap=args.overlap),
            "structure": lambda els: chunk_by_units(els, size=args.size, overlap=args.overlap),
        }
        print(f"{len(documents)} documents, size {args.size}, overlap {args.overlap}")
        print(f"{'strategy':<10} {'rows whole':>10} {'one section':>12} {'no dangling':>12} "
              f"{'chunks':>7} {'chunks/s':>9}")  # fmt: skip
        for name, cut in strategies.items():
            started = time.perf_counter()
            results = [(els, cut(els)) for els in documents]
            seconds = time.perf_counter() - started
            rows = [scores(els, chunks) for els, chunks in results]
            count = sum(len(chunks) for _, chunks in results)
            means = {key: mean(r[key] for r in rows) for key in rows[0]}
            print(
                f"{name:<10} {means['rows whole']:>10.3f} {means['one section']:>12.3f} "
                f"{means['no dangling']:>12.3f} {count:>7} {count / seconds:>9.0f}"
            )


if __name__ == "__main__":
    main()
