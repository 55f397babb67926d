"""The SDK's own throughput and ETA: none before there is evidence, then the recent rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ingestd.client import JobStatus, Progress
from ingestd.client._progress import MIN_SECONDS, WINDOW, JobMeter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def snapshot(done_files: int, total_files: int, done_bytes: int, total_bytes: int) -> Progress:
    return Progress.model_validate(
        {
            "files": {
                "total": total_files,
                "completed": done_files,
                "queued": total_files - done_files,
            },
            "bytes": {"total": total_bytes, "completed": done_bytes},
        }
    )


def test_no_eta_until_there_is_evidence_then_the_recent_rate() -> None:
    clock = Clock()
    meter = JobMeter("job_1", clock=clock)
    first = meter.observe(snapshot(0, 100, 0, 100_000), JobStatus.RUNNING)
    assert first.eta_seconds is None and first.throughput_bytes_per_s == 0
    clock.now += 0.5  # a fast start: lots done, but too soon to say
    early = meter.observe(snapshot(20, 100, 20_000, 100_000), JobStatus.RUNNING)
    assert early.eta_seconds is None
    for _ in range(int(WINDOW) + 2):  # then 1,000 bytes a second, for longer than the window
        clock.now += 1
        latest = meter.observe(
            snapshot(early.files.done, 100, int(early.bytes.completed) + 1000, 100_000),
            JobStatus.RUNNING,
        )
        early = latest
    assert latest.throughput_bytes_per_s == 1000.0
    assert latest.eta_seconds is not None
    left = (100_000 - latest.bytes.completed) / 1000
    assert abs(latest.eta_seconds - left) < 1


def test_the_eta_follows_a_change_of_pace() -> None:
    clock = Clock()
    meter = JobMeter("job_1", clock=clock)
    done = 0
    for _ in range(20):  # 10 kB/s for 20 s
        meter.observe(snapshot(0, 10, done, 1_000_000), JobStatus.RUNNING)
        clock.now += 1
        done += 10_000
    fast = meter.observe(snapshot(0, 10, done, 1_000_000), JobStatus.RUNNING)
    for _ in range(int(WINDOW) + 2):  # then 1 kB/s
        clock.now += 1
        done += 1_000
        slow = meter.observe(snapshot(0, 10, done, 1_000_000), JobStatus.RUNNING)
    assert fast.eta_seconds is not None and slow.eta_seconds is not None
    assert slow.throughput_bytes_per_s == 1000.0
    assert slow.eta_seconds > 5 * fast.eta_seconds


def test_a_stalled_job_has_no_eta_and_an_ended_one_has_its_average() -> None:
    clock = Clock()
    meter = JobMeter("job_1", clock=clock)
    for second in range(5):
        clock.now += 1
        meter.observe(snapshot(second, 10, second * 100, 1000), JobStatus.RUNNING)
    for _ in range(int(WINDOW) + 1):
        clock.now += 1
        stalled = meter.observe(snapshot(4, 10, 400, 1000), JobStatus.RUNNING)
    assert stalled.eta_seconds is None and stalled.throughput_bytes_per_s == 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    done = meter.observe(
        snapshot(10, 10, 1000, 1000),
        JobStatus.COMPLETED,
        started_at=start,
        completed_at=start + timedelta(seconds=4),
    )
    assert done.eta_seconds == 0 and done.throughput_bytes_per_s == 250.0
    assert done.elapsed_seconds == 4.0 and done.files_percent == 100.0


def test_files_count_when_sizes_are_unknown() -> None:
    clock = Clock()
    meter = JobMeter("job_1", clock=clock)
    for second in range(6):
        latest = meter.observe(snapshot(second * 2, 100, 0, 0), JobStatus.RUNNING)
        clock.now += 1
    assert latest.files_per_s == 2.0 and latest.eta_seconds is not None
    assert abs(latest.eta_seconds - (100 - 10) / 2) < 1


@given(
    steps=st.lists(
        st.tuples(st.floats(0.01, 5), st.integers(0, 50), st.integers(0, 5000)), max_size=40
    )
)
def test_never_an_eta_before_min_seconds_and_never_a_negative_one(
    steps: list[tuple[float, int, int]],
) -> None:
    clock = Clock()
    meter = JobMeter("job_1", clock=clock)
    files, size, watched = 0, 0, 0.0
    for pause, more_files, more_bytes in steps:
        files, size = min(files + more_files, 500), min(size + more_bytes, 100_000)
        progress = meter.observe(snapshot(files, 500, size, 100_000), JobStatus.RUNNING)
        if watched < MIN_SECONDS:
            assert progress.eta_seconds is None
        assert progress.eta_seconds is None or progress.eta_seconds >= 0
        assert progress.throughput_bytes_per_s >= 0
        clock.now += pause
        watched += pause
