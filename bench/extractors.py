"""Extractor throughput on generated ~1 MB documents.

    .venv/bin/python bench/extractors.py [--size-mb 1] [--repeat 3]

Prints MB/s (and pages/s for PDF) per format and writes bench/results/extractors.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import docx  # noqa: E402
import openpyxl  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from ingestd.pipeline.extractors import extract  # noqa: E402

WORDS = [
    *("ingest", "document", "pipeline", "extract", "chunk", "embed", "vector", "search"),
    *("quarterly", "revenue", "growth", "north", "south", "region", "customer", "invoice"),
    *("contract", "clause", "liability", "payment", "schedule", "delivery"),
]


def sentence(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def make_pdf(path: Path, target: int, rng: random.Random) -> int:
    pdf = canvas.Canvas(str(path), pagesize=A4, pageCompression=0)
    pages = 0
    written = 0
    while written < target:
        for line in range(50):
            text = sentence(rng, 14)
            pdf.drawString(40, 800 - line * 15, text)
            written += len(text) + 40  # uncompressed content-stream overhead per line
        pdf.showPage()
        pages += 1
    pdf.save()
    return pages


def make_docx(path: Path, target: int, rng: random.Random) -> int:
    document = docx.Document()
    section = 0
    while True:
        for _ in range(25):
            section += 1
            document.add_heading(f"Section {section}", level=2)
            for _ in range(8):
                document.add_paragraph(" ".join(sentence(rng) for _ in range(4)))
            table = document.add_table(rows=6, cols=3)
            for row in table.rows:
                for cell in row.cells:
                    cell.text = rng.choice(WORDS)
        # The zip compresses text several-fold: measure the real size now and then.
        document.save(str(path))
        if path.stat().st_size >= target:
            return 0


def make_xlsx(path: Path, target: int, rng: random.Random) -> int:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Data")
    sheet.append(["id", "region", "product", "amount", "note"])
    rows = max(1, target // 60)  # ~60 bytes per row once zipped
    for i in range(rows):
        sheet.append(
            [i, rng.choice(WORDS), rng.choice(WORDS), rng.random() * 1000, sentence(rng, 5)]
        )
    workbook.save(str(path))
    return 0


def make_csv(path: Path, target: int, rng: random.Random) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "region", "product", "amount", "note"])
        i = 0
        while handle.tell() < target:
            writer.writerow(
                [
                    i,
                    rng.choice(WORDS),
                    rng.choice(WORDS),
                    f"{rng.random() * 1000:.2f}",
                    sentence(rng, 6),
                ]
            )
            i += 1
    return 0


def make_markdown(path: Path, target: int, rng: random.Random) -> int:
    parts: list[str] = []
    size = 0
    section = 0
    while size < target:
        section += 1
        block = (
            f"## Section {section}\n\n{sentence(rng, 30)}\n\n"
            f"- {sentence(rng)}\n- {sentence(rng)}\n\n"
            f"| a | b |\n|---|---|\n| {rng.choice(WORDS)} | {rng.choice(WORDS)} |\n\n"
            f"```\ncode {section}\n```\n\n"
        )
        parts.append(block)
        size += len(block)
    path.write_text("".join(parts), encoding="utf-8")
    return 0


def make_html(path: Path, target: int, rng: random.Random) -> int:
    parts = ["<!DOCTYPE html><html><head><title>Bench</title></head><body><nav>menu</nav>"]
    size = 0
    section = 0
    while size < target:
        section += 1
        block = (
            f"<h2>Section {section}</h2><p>{sentence(rng, 30)}</p><ul><li>{sentence(rng)}</li>"
            f"<li>{sentence(rng)}</li></ul><table><tr><th>a</th><th>b</th></tr><tr><td>"
            f"{rng.choice(WORDS)}</td><td>{rng.choice(WORDS)}</td></tr></table>"
        )
        parts.append(block)
        size += len(block)
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return 0


FORMATS: dict[str, tuple[str, str, Callable[[Path, int, random.Random], int]]] = {
    "pdf": ("doc.pdf", "application/pdf", make_pdf),
    "docx": (
        "doc.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        make_docx,
    ),
    "xlsx": (
        "doc.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        make_xlsx,
    ),
    "csv": ("doc.csv", "text/csv", make_csv),
    "markdown": ("doc.md", "text/markdown", make_markdown),
    "html": ("doc.html", "text/html", make_html),
}


def bench(size_mb: float, repeat: int) -> dict[str, dict[str, float | int]]:
    rng = random.Random(42)
    target = int(size_mb * 1024 * 1024)
    results: dict[str, dict[str, float | int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (name, mime, make) in FORMATS.items():
            path = Path(tmp) / name
            pages = make(path, target, rng)
            size = path.stat().st_size
            best = float("inf")
            elements = 0
            for _ in range(repeat):
                start = time.process_time()
                elements = len(extract(path, mime))
                best = min(best, time.process_time() - start)
            row: dict[str, float | int] = {
                "bytes": size,
                "elements": elements,
                "seconds": round(best, 4),
                "mb_per_s": round(size / (1024 * 1024) / best, 2),
            }
            if pages:
                row["pages"] = pages
                row["pages_per_s"] = round(pages / best, 1)
            results[fmt] = row
            extra = f"  {row['pages_per_s']:>8} pages/s" if pages else ""
            print(
                f"{fmt:<9} {size / 1024:>8.0f} KiB  {elements:>6} elements  "
                f"{best * 1000:>8.1f} ms  {row['mb_per_s']:>7} MB/s{extra}"
            )
    return results


def bench_layout(repeat: int) -> None:
    """PDF layout analysis against raw pypdfium2 text extraction, on the same files in the
    same run (target: at most 2x). Pages are opened and closed the same way in both."""
    import pypdfium2 as pdfium

    sys.path.insert(0, str(ROOT / "bench"))
    from fidelity.corpus import make_pdf as make_fidelity_pdf

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for seed in range(4):
            path = Path(tmp) / f"report-{seed}.pdf"
            make_fidelity_pdf(path, seed)
            paths.append(path)
        dense = Path(tmp) / "dense.pdf"
        make_pdf(dense, 300_000, random.Random(1))
        for label, files in (("reports (layout corpus)", paths), ("dense text pages", [dense])):
            raw = layout = float("inf")
            pages = 0
            for _ in range(repeat):
                started = time.process_time()
                pages = 0
                for path in files:
                    pdf = pdfium.PdfDocument(path)
                    for index in range(len(pdf)):
                        page = pdf[index]
                        textpage = page.get_textpage()
                        textpage.get_text_range()
                        textpage.close()
                        page.close()
                        pages += 1
                    pdf.close()
                raw = min(raw, time.process_time() - started)
                started = time.process_time()
                for path in files:
                    extract(path, "application/pdf")
                layout = min(layout, time.process_time() - started)
            print(
                f"{label:26} {pages:4d} pages  raw pypdfium2 {pages / raw:7.1f} pages/s  "
                f"ingestd layout {pages / layout:7.1f} pages/s  cost {layout / raw:4.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layout", action="store_true", help="PDF layout vs raw pypdfium2 only")
    args = parser.parse_args()
    if args.layout:
        bench_layout(args.repeat)
        return
    results = bench(args.size_mb, args.repeat)
    out = ROOT / "bench" / "results" / "extractors.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "size_mb": args.size_mb,
        "repeat": args.repeat,
        "results": results,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
