"""Progress math (domain/progress.py), by its properties: a cancelled file is never counted as
done, an ETA waits for evidence and then follows the recent rate, and the throughput counts the
same bytes as the bar."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingestd.domain.progress import (
    MIN_BYTES_SHARE_FOR_ETA,
    MIN_FILES_FOR_ETA,
    MIN_SECONDS_FOR_ETA,
    counts_progress,
    job_progress,
)

STATES = ("queued", "running", "completed", "failed", "skipped", "cancelled")


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    """Counters as the store keeps them: the bytes of each ended file are in ``bytes_done``,
    cancelled ones included; ``cancelled_bytes`` are theirs."""
    counts = {s: draw(st.integers(0, 500)) for s in STATES}
    sizes = {s: [draw(st.integers(0, 10**6)) for _ in range(min(counts[s], 20))] for s in STATES}
    per = {s: sum(sizes[s]) * (counts[s] // max(len(sizes[s]), 1)) for s in STATES}
    ended = per["completed"] + per["failed"] + per["skipped"] + per["cancelled"]
    return {
        "counters": {f"n_{s}": counts[s] for s in STATES}
        | {"bytes_total": sum(per.values()), "bytes_done": ended},
        "cancelled_bytes": per["cancelled"],
        "left_bytes": per["queued"] + per["running"],
    }


def progress(job: dict[str, Any], **window: Any) -> dict[str, Any]:
    values = {"window_bytes": 0, "window_files": 0, "window_seconds": 60.0} | window
    return job_progress(job["counters"], cancelled_bytes=job["cancelled_bytes"], **values)


@given(jobs(), st.integers(0, 10**9), st.integers(0, 1000), st.floats(0, 10**5))
def test_percentages_stay_in_range_and_add_up(
    job: dict[str, Any], window_bytes: int, window_files: int, elapsed: float
) -> None:
    shown = progress(
        job, window_bytes=window_bytes, window_files=window_files, elapsed_seconds=elapsed
    )
    files, sizes = shown["files"], shown["bytes"]
    assert 0 <= shown["percent"] <= 100 and 0 <= files["percent"] <= 100
    assert 0 <= sizes["percent"] <= 100
    assert files["total"] == sum(files[s] for s in STATES)
    assert sizes["completed"] + sizes["cancelled"] == job["counters"]["bytes_done"]
    assert shown["eta_seconds"] is None or shown["eta_seconds"] >= 0


@given(jobs())
def test_a_cancelled_file_is_never_counted_as_done(job: dict[str, Any]) -> None:
    files = counts_progress(job["counters"], cancelled_bytes=job["cancelled_bytes"])["files"]
    if files["cancelled"] or files["queued"] or files["running"]:
        assert files["percent"] < 100
    elif files["total"]:
        assert files["percent"] == 100


def test_a_job_cancelled_half_way_shows_half_not_a_full_bar() -> None:
    """The case from the issue: 1,506 files ended, 931 of them cancelled."""
    counters = {"n_completed": 575, "n_cancelled": 931, "bytes_total": 1506, "bytes_done": 1506}
    shown = job_progress(
        counters,
        window_bytes=575,
        window_files=575,
        window_seconds=100.0,
        elapsed_seconds=100.0,
        cancelled_bytes=931,
    )
    assert shown["files"]["percent"] == 38.2 and shown["bytes"]["percent"] == 38.2
    assert shown["files"]["cancelled"] == 931 and shown["bytes"]["cancelled"] == 931
    assert shown["eta_seconds"] == 0  # nothing is left to run


@given(jobs(), st.floats(0, MIN_SECONDS_FOR_ETA, exclude_max=True))
def test_no_eta_in_the_first_seconds(job: dict[str, Any], elapsed: float) -> None:
    shown = progress(job, window_bytes=10**6, window_files=100, elapsed_seconds=elapsed)
    left = shown["files"]["queued"] + shown["files"]["running"]
    assert shown["eta_seconds"] == (None if left else (0 if shown["files"]["total"] else None))


@given(st.integers(0, MIN_FILES_FOR_ETA - 1), st.integers(1, 1000))
def test_no_eta_before_a_few_files_or_a_share_of_the_bytes(done: int, queued: int) -> None:
    size = 1000
    counters = {
        "n_completed": done,
        "n_queued": queued,
        "bytes_total": size * (done + queued) * 100,  # done files are < 5 % of the bytes
        "bytes_done": size * done,
    }
    assert size * done < MIN_BYTES_SHARE_FOR_ETA * counters["bytes_total"]
    shown = job_progress(
        counters,
        window_bytes=size * done,
        window_files=done,
        window_seconds=10.0,
        elapsed_seconds=600.0,
    )
    assert shown["eta_seconds"] is None


@given(jobs(), st.integers(1, 10**9), st.floats(1.0, 60.0))
def test_with_evidence_the_eta_is_what_is_left_at_the_recent_rate(
    job: dict[str, Any], window_bytes: int, window_seconds: float
) -> None:
    counters = job["counters"]
    counters["n_completed"] = max(counters["n_completed"], MIN_FILES_FOR_ETA)
    shown = progress(
        job, window_bytes=window_bytes, window_files=5, window_seconds=window_seconds,
        elapsed_seconds=600.0,
    )  # fmt: skip
    rate = window_bytes / window_seconds
    left = shown["files"]["queued"] + shown["files"]["running"]
    if not left:
        assert shown["eta_seconds"] == 0
    elif counters["bytes_total"]:
        assert shown["eta_seconds"] == round(job["left_bytes"] / rate)
    assert shown["throughput_bytes_per_s"] == round(rate, 1)


def test_the_eta_follows_the_recent_rate_not_the_average() -> None:
    """Same job, same bytes done: a fast last minute gives a short ETA, a slow one a long ETA."""
    counters = {"n_completed": 50, "n_queued": 50, "bytes_total": 100_000, "bytes_done": 50_000}
    fast, slow = (
        job_progress(
            counters,
            window_bytes=window,
            window_files=10,
            window_seconds=60.0,
            elapsed_seconds=3600.0,
        )
        for window in (30_000, 3_000)
    )
    assert fast["eta_seconds"] == 100 and slow["eta_seconds"] == 1000
