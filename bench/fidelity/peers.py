"""Run the peers on files and write their text and files/s as JSON.

Runs under the peers' own virtualenv (never the project's):

    /tmp/peers-venv/bin/python bench/fidelity/peers.py OUT.json FILE...
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path


def markitdown() -> Callable[[str], str]:
    from markitdown import MarkItDown

    converter = MarkItDown()
    return lambda path: converter.convert(path).text_content


def unstructured() -> Callable[[str], str]:
    from unstructured.partition.auto import partition

    def run(path: str) -> str:
        kwargs = {"strategy": "fast"} if path.endswith(".pdf") else {}
        elements = partition(filename=path, **kwargs)
        return "\n\n".join(
            (getattr(e.metadata, "text_as_html", None) and _html_table(e.metadata.text_as_html))
            or str(e)
            for e in elements
        )

    return run


def _html_table(html: str) -> str:
    """unstructured's table as pipe rows (its plain text runs the cells together)."""
    from lxml import html as lhtml

    rows = lhtml.fromstring(html).iter("tr")
    return "\n".join(
        "| " + " | ".join(c.text_content().strip() for c in r.iter("td", "th")) + " |" for r in rows
    )


def docling() -> Callable[[str], str]:
    from docling.document_converter import DocumentConverter

    converter = DocumentConverter()
    return lambda path: converter.convert(path).document.export_to_markdown()


def main() -> None:
    out, files = Path(sys.argv[1]), sys.argv[2:]
    results = {}
    for name, factory in (
        ("markitdown", markitdown),
        ("unstructured", unstructured),
        ("docling", docling),
    ):
        try:
            convert = factory()
            convert(files[0])  # warm-up: imports and lazy loading are not per-file costs
            texts = {}
            started = time.perf_counter()
            for path in files:
                texts[path] = convert(path)
            rate = len(files) / (time.perf_counter() - started)
            results[name] = {"texts": texts, "rate": rate}
        except Exception as exc:  # a peer that cannot run here (e.g. needs to download models)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
