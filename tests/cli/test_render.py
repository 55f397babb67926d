"""What the command line draws: numbers that agree, lines that never wrap, no retry offered
where a retry cannot help (issue #12: 3, 9, 10)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from ingestd.cli.render import file_count, job_line, rate, size, upload_line
from ingestd.cli.watch import JobView, _InFlight, summary
from ingestd.client import AsyncClient, FileCounts, Job, JobStatus, Progress, UploadProgress


def progress(status: str = "running", **files: int) -> Progress:
    counts = {"total": 0, "queued": 0, "running": 0, "completed": 0, "failed": 0}
    counts.update(files)
    return Progress.model_validate(
        {"files": counts, "bytes": {"total": 10_000_000, "completed": 2_500_000}, "status": status}
    )


def test_counts_and_percent_agree_and_skipped_files_show() -> None:
    files = FileCounts(total=304, completed=300, skipped=2, queued=2)
    assert file_count(files) == "302/304 (2 skipped)"
    line = job_line("papers", progress(total=304, completed=300, skipped=2, queued=2), 120)
    assert "99.3%" in line.plain and "302/304 (2 skipped) files" in line.plain


def test_a_cancelled_job_does_not_look_finished() -> None:
    state = progress("cancelled", total=1506, completed=570, failed=5, cancelled=931)
    line = job_line("big", state, 120).plain
    assert "38.2%" in line and "575/1,506 (5 failed, 931 cancelled)" in line
    assert "100" not in line


def test_the_eta_shows_only_once_known() -> None:
    state = progress(total=10, completed=2, queued=8)
    assert "ETA" not in job_line("j", state, 120).plain
    known = state.model_copy(update={"eta_seconds": 75.0, "throughput_bytes_per_s": 212_800.0})
    line = job_line("j", known, 120).plain
    assert "ETA 0:01:15" in line and "212.8 kB/s" in line


@given(
    width=st.integers(20, 200),
    name=st.text(min_size=1, max_size=60),
    done=st.integers(0, 10**6),
    eta=st.none() | st.floats(0, 10**6),
)
def test_the_lines_never_wrap(width: int, name: str, done: int, eta: float | None) -> None:
    state = progress(total=10**6, completed=done, queued=10**6 - done).model_copy(
        update={"eta_seconds": eta, "throughput_bytes_per_s": 123456.0}
    )
    assert job_line(name, state, width).cell_len <= width
    upload = UploadProgress(
        files_total=200, files_sent=10, bytes_total=10**9, bytes_sent=done, file=name
    )
    assert upload_line(upload, width).cell_len <= width


def test_files_in_flight_show_their_real_bytes() -> None:
    view = JobView("papers", progress(total=3, running=1, queued=2))
    view.files["file_1"] = _InFlight("report.pdf", "parsing", 0.5, 24_600)
    console = Console(file=io.StringIO(), width=80)
    console.print(view)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "report.pdf parsing" in shown and "12.3 kB/24.6 kB" in shown
    assert "0/1" not in shown


def job(status: str, failed: int) -> Job:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return Job.model_validate(
        {
            "id": "job_1",
            "name": "papers",
            "status": status,
            "started_at": start.isoformat(),
            "completed_at": (start + timedelta(seconds=4)).isoformat(),
            "progress": {
                "files": {"total": 10, "completed": 10 - failed, "failed": failed},
                "bytes": {"total": 851_200, "completed": 851_200},
            },
        }
    )


def failed_files(*codes: str) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": f"file_{i}",
                "job_id": "job_1",
                "status": "failed",
                "path": f"f{i}",
                "error": {"code": code, "message": f"{code} happened"},
            }
            for i, code in enumerate(codes)
        ],
        "next": None,
    }


@pytest.mark.parametrize(
    ("codes", "suggested"),
    [
        (("too_large", "unsupported_type", "type_not_allowed"), False),
        (("parse_error",), False),
        (("timeout", "too_large"), True),
        (("scan_unavailable",), True),
    ],
)
async def test_a_retry_is_offered_only_when_it_could_help(
    codes: tuple[str, ...], suggested: bool
) -> None:
    answer = failed_files(*codes)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    console = Console(file=io.StringIO(), width=80)
    async with AsyncClient("http://x.test", transport=transport, upload_store=False) as client:
        code = await summary(client, job("failed", len(codes)), console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert code == 1 and all(f"{c} happened" in out for c in codes)
    assert ("ingestd jobs retry job_1" in out) is suggested


async def test_the_summary_rate_is_bytes_over_the_jobs_time() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=failed_files()))
    console = Console(file=io.StringIO(), width=200)
    async with AsyncClient("http://x.test", transport=transport, upload_store=False) as client:
        code = await summary(client, job("completed", 0), console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert code == 0 and f"851.2 kB in 0:00:04 ({rate(851_200 / 4)})" in out
    assert rate(851_200 / 4) == "212.8 kB/s" and size(999) == "999 B"
    assert JobStatus.COMPLETED in out
