"""Parser CPU and pages are measured in the parser process and carried back with the result
(issue #18, item 4): what usage and timings add up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reportlab.pdfgen import canvas

from ingestd.domain.timings import StepTimes
from ingestd.pipeline import stages
from ingestd.pipeline.pool import ExtractionPool

PDF = "application/pdf"


def two_page_pdf(path: Path) -> None:
    pdf = canvas.Canvas(str(path))
    for page in range(2):
        for line in range(40):
            pdf.drawString(
                72, 760 - 16 * line, f"Page {page + 1}, line {line}: the quick brown fox."
            )
        pdf.showPage()
    pdf.save()


def burn(seconds: float) -> dict[str, list[float]]:
    """Runs in a pool process: spins its CPU for ``seconds`` and times it there."""
    import time

    clock = StepTimes()
    with clock.process("parsing"):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
    return clock.as_dict()


def test_parse_and_chunk_counts_pages_and_times_its_steps(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    two_page_pdf(path)
    parsed = stages.parse_and_chunk(str(path), PDF, 500, 50)
    assert parsed.pages == 2 and parsed.ocr_pages == 0
    assert set(parsed.timings) == {"parsing", "chunking"}  # no embedding asked for
    wall, cpu = parsed.timings["parsing"]
    assert wall > 0 and cpu > 0


async def test_cpu_is_measured_in_the_parser_process_and_carried_back(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    two_page_pdf(path)
    pool = ExtractionPool(1)
    try:
        parsed: stages.ParsedFile = await pool.run(
            stages.parse_and_chunk, str(path), PDF, 500, 50, time_limit=60
        )
        spun = await pool.run(burn, 0.2, time_limit=60)
    finally:
        await asyncio.to_thread(pool.close)
    assert parsed.pages == 2 and parsed.timings["parsing"][1] > 0
    # 0.2 s of CPU spent in the child is 0.2 s here, whatever this process did meanwhile.
    assert spun["parsing"][1] >= 200


def test_step_times_add_up_and_merge() -> None:
    clock = StepTimes()
    clock.add("parsing", wall_ms=10, cpu_ms=8)
    clock.merge({"parsing": [5, 2], "embedding": (20.0, 19.0)})
    assert clock.as_dict() == {"parsing": [15, 10], "embedding": [20.0, 19.0]}
    assert clock.cpu_seconds == 0.029
    with clock.thread("detecting"):
        sum(range(10_000))
    assert clock.steps["detecting"][0] >= 0 and clock.steps["detecting"][1] >= 0
