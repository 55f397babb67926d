"""HTML main content: ingestd's structural rules against trafilatura and readability-lxml.

    .venv/bin/pip install trafilatura readability-lxml     # for this benchmark only
    .venv/bin/python bench/html_main_content.py [--seeds 6] [--count 3] [--second]

The same generated pages (``bench/fidelity`` corpus, and with ``--second`` the second corpus's
other template family) go through three tools, scored by the fidelity scorer: body fidelity,
boilerplate leakage, table rows, reading order, and files/s in one run.

- **ingestd**: ``pipeline/extractors/html.py`` (main content by structure).
- **trafilatura**: ``trafilatura.extract(html, include_tables=True)`` — its text output.
- **readability + ingestd**: readability-lxml's ``Document(html).summary()`` (the main content
  as HTML), rendered by ingestd's own HTML extractor, so only the choice of main content differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fidelity.corpus import generate  # noqa: E402
from fidelity.score import summarise  # noqa: E402
from fidelity.truth import Truth  # noqa: E402

from ingestd.pipeline.extractors import extract_document  # noqa: E402

HTML = "text/html"


def ingestd_text(path: Path) -> str:
    return extract_document(path, HTML).text()


def trafilatura_text(path: Path) -> str:
    import trafilatura

    return trafilatura.extract(path.read_text(encoding="utf-8"), include_tables=True) or ""


def readability_text(path: Path) -> str:
    from readability import Document

    summary = Document(path.read_text(encoding="utf-8")).summary()
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8", delete=False) as out:
        out.write(summary)
    try:
        return extract_document(Path(out.name), HTML).text()
    finally:
        Path(out.name).unlink()


TOOLS: dict[str, Callable[[Path], str]] = {
    "ingestd": ingestd_text,
    "trafilatura": trafilatura_text,
    "readability+ingestd": readability_text,
}


def run(truths: list[Truth], repeat: int) -> None:
    print(f"{'tool':22} {'body':>6} {'leak':>6} {'rows':>6} {'order':>6} {'files/s':>8}")
    for name, tool in TOOLS.items():
        try:
            tool(truths[0].path)  # warm-up: imports
        except ImportError as exc:
            print(f"{name:22} not installed ({exc.name})")
            continue
        best = float("inf")
        texts: dict[str, str] = {}
        for _ in range(repeat):
            started = time.process_time()
            texts = {str(t.path): tool(t.path) for t in truths}
            best = min(best, time.process_time() - started)
        row = summarise(texts, truths)
        print(
            f"{name:22} {row['body']:6.3f} {row['leakage']:6.3f} "
            f"{_fmt(row['table_rows'])} {_fmt(row['order'])} {len(truths) / best:8.1f}"
        )


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--second", action="store_true", help="the second corpus's HTML")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.second:
            from fidelity.second import generate as generate_second

            truths = [
                t
                for s in range(args.seeds)
                for t in generate_second("html", Path(tmp), s, args.count)
            ]
        else:
            truths = [
                t for s in range(args.seeds) for t in generate("html", Path(tmp), s, args.count)
            ]
        print(f"{len(truths)} pages")
        run(truths, args.repeat)


if __name__ == "__main__":
    main()
