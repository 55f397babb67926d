"""OCR engines compared on pages rendered from known text: similarity, pages/s per core, weight.

    .venv/bin/python bench/ocr.py [--pages 6] [--engines tesserocr,pytesseract,rapidocr]

Each engine reads the same 300 dpi pages (one-column and two-column A4 pages rendered by pdfium
from reportlab PDFs, and text drawn by Pillow in DejaVu Sans). For each it prints the token-
sequence similarity to the text we wrote (mean and worst page), pages per second of CPU time
(one thread: OMP_THREAD_LIMIT=1, onnxruntime with one intra-op thread) and the disk its install
takes. The baseline measured in the same run is what any OCR of a PDF page costs before the
engine starts: rendering the page at 300 dpi, and, for scale, reading its text layer instead.

Engines that are not installed are listed with the command that installs them:
``pip install pytesseract`` (plus ``apt-get install tesseract-ocr``), ``pip install
rapidocr-onnxruntime``. Results also go to bench/results/ocr.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
# Per-core numbers: one thread per engine (read when an engine's OpenMP runtime loads, later).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pypdfium2 as pdfium  # noqa: E402
from PIL import Image  # noqa: E402

from tests.pipeline.ocr import corpus  # noqa: E402

DPI = 300
Engine = Callable[[Image.Image], str]


@dataclass
class Page:
    name: str
    truth: str
    image: Image.Image


def make_pages(count: int) -> list[Page]:
    """``count`` pages: two in three one-column, then two-column pages and Pillow-drawn text."""
    pages: list[Page] = []
    for index in range(count):
        seed = 100 + index
        kind = index % 3
        if kind == 0:
            paras = corpus.paragraphs(seed, 6)
            [image] = corpus.render_pages(corpus.text_pdf([paras]), DPI)
            pages.append(Page(f"one-column-{index}", "\n\n".join(paras), image))
        elif kind == 1:
            paras = corpus.paragraphs(seed, 8)
            [image] = corpus.render_pages(corpus.text_pdf([paras], columns=2), DPI)
            pages.append(Page(f"two-column-{index}", "\n\n".join(paras), image))
        else:
            paras = corpus.paragraphs(seed, 5)
            pages.append(Page(f"drawn-{index}", "\n\n".join(paras), corpus.text_image(paras)))
    return pages


def tesserocr_engine() -> Engine:
    from ingestd.pipeline.ocr import ocr_image, require_ocr

    require_ocr()
    return lambda image: ocr_image(image, dpi=DPI).text


def pytesseract_engine() -> Engine:
    import pytesseract

    pytesseract.get_tesseract_version()  # raises when the binary is missing
    config = f"--psm 3 --oem 1 --dpi {DPI}"
    return lambda image: str(pytesseract.image_to_string(image, config=config))


def rapidocr_engine() -> Engine:
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def read(image: Image.Image) -> str:
        result, _ = engine(np.asarray(image.convert("RGB")))
        return "\n".join(line[1] for line in result or [])

    return read


ENGINES: dict[str, tuple[Callable[[], Engine], str]] = {
    "tesserocr": (
        tesserocr_engine,
        "pip install 'ingestd[ocr]'; apt-get install tesseract-ocr-eng",
    ),
    "pytesseract": (pytesseract_engine, "pip install pytesseract; apt-get install tesseract-ocr"),
    "rapidocr": (rapidocr_engine, "pip install rapidocr-onnxruntime"),
}

# What each engine needs on disk: Python distributions, and system files or folders.
WEIGHT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tesserocr": (("tesserocr",), ("/usr/share/tesseract-ocr/5/tessdata/eng.traineddata",)),
    "pytesseract": (
        ("pytesseract",),
        (
            "/usr/bin/tesseract",
            "/usr/lib/x86_64-linux-gnu/libtesseract.so.5",
            "/usr/lib/x86_64-linux-gnu/liblept.so.5",
            "/usr/share/tesseract-ocr/5/tessdata/eng.traineddata",
            "/usr/share/tesseract-ocr/5/tessdata/osd.traineddata",
        ),
    ),
    "rapidocr": (
        ("rapidocr-onnxruntime", "onnxruntime", "opencv-python", "shapely", "pyclipper"),
        (),
    ),
}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (pytesseract runs one per page)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def install_mb(engine: str) -> float:
    dists, paths = WEIGHT[engine]
    total = 0
    for name in dists:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_file():
            total += path.stat().st_size
    return total / 1e6


def measure(read: Engine, pages: list[Page]) -> dict[str, Any]:
    read(pages[0].image)  # warm-up: model loading is paid once per process
    scores = []
    cpu, wall = cpu_seconds(), time.perf_counter()
    for page in pages:
        scores.append(corpus.similarity(page.truth, read(page.image)))
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    return {
        "similarity_mean": round(sum(scores) / len(scores), 4),
        "similarity_min": round(min(scores), 4),
        "pages_per_cpu_second": round(len(pages) / cpu, 3),
        "pages_per_second_wall": round(len(pages) / wall, 3),
    }


def baseline(count: int) -> dict[str, float]:
    """pdfium on the same kind of page: rendering at 300 dpi, and reading the text layer."""
    data = corpus.text_pdf([corpus.paragraphs(200 + i, 6) for i in range(count)])
    pdf = pdfium.PdfDocument(data)
    cpu = cpu_seconds()
    for index in range(len(pdf)):
        pdf[index].render(scale=DPI / 72, grayscale=True).to_pil()
    render = len(pdf) / (cpu_seconds() - cpu)
    cpu = cpu_seconds()
    for _ in range(20):
        for index in range(len(pdf)):
            pdf[index].get_textpage().get_text_range()
    text = 20 * len(pdf) / max(cpu_seconds() - cpu, 1e-9)
    return {
        "render_300dpi_pages_per_cpu_second": round(render, 2),
        "text_layer_pages_per_cpu_second": round(text, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    pages = make_pages(args.pages)
    base = baseline(args.pages)
    print(
        f"{args.pages} pages at {DPI} dpi; baseline (pdfium, same run): "
        f"render {base['render_300dpi_pages_per_cpu_second']} pages/s, "
        f"text layer {base['text_layer_pages_per_cpu_second']} pages/s per core"
    )
    print(
        f"{'engine':<12} {'similarity':>10} {'worst':>6} {'pages/s/core':>12} {'wall p/s':>8} {'install MB':>10}"
    )
    results: dict[str, Any] = {"baseline": base, "pages": args.pages, "dpi": DPI}
    for name in args.engines.split(","):
        make, hint = ENGINES[name]
        try:
            read = make()
        except Exception as exc:  # not installed here: say how to get it, measure the rest
            print(f"{name:<12} skipped ({type(exc).__name__}): {hint}")
            results[name] = {"skipped": hint}
            continue
        row = measure(read, pages)
        row["install_mb"] = round(install_mb(name), 1)
        results[name] = row
        print(
            f"{name:<12} {row['similarity_mean']:>10.4f} {row['similarity_min']:>6.3f} "
            f"{row['pages_per_cpu_second']:>12.3f} {row['pages_per_second_wall']:>8.3f} "
            f"{row['install_mb']:>10.1f}"
        )
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    out = ROOT / "bench" / "results" / "ocr.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
