"""Job state transitions: every action from every state either moves or raises 409."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestd.domain.errors import Conflict, InvalidTransition
from ingestd.domain.progress import counts_progress, job_progress
from ingestd.domain.states import JobAction, JobStatus, final_job_status, next_status


@given(st.sampled_from(JobStatus), st.sampled_from(JobAction), st.booleans(), st.booleans())
def test_actions_either_move_or_name_the_current_status(
    current: JobStatus, action: JobAction, started: bool, sealed: bool
) -> None:
    try:
        new = next_status(current, action, started=started, sealed=sealed)
    except InvalidTransition as exc:
        assert exc.current == current.value and current.value in exc.detail
        return
    except Conflict:
        assert action is JobAction.SEAL and sealed
        return
    assert not current.is_terminal or action is JobAction.RETRY
    if action is JobAction.CANCEL:
        assert new is JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("current", "action", "started", "expected"),
    [
        (JobStatus.PENDING, JobAction.START, False, JobStatus.QUEUED),
        (JobStatus.RUNNING, JobAction.PAUSE, True, JobStatus.PAUSED),
        (JobStatus.PAUSED, JobAction.RESUME, True, JobStatus.RUNNING),
        (JobStatus.PAUSED, JobAction.RESUME, False, JobStatus.QUEUED),
        (JobStatus.FAILED, JobAction.RETRY, True, JobStatus.RUNNING),
        (JobStatus.PAUSED, JobAction.RETRY, True, JobStatus.PAUSED),
    ],
)
def test_transitions(
    current: JobStatus, action: JobAction, started: bool, expected: JobStatus
) -> None:
    assert next_status(current, action, started=started, sealed=True) is expected


def test_completed_jobs_cannot_be_paused_or_cancelled() -> None:
    for action in (JobAction.PAUSE, JobAction.CANCEL, JobAction.RESUME, JobAction.START):
        with pytest.raises(InvalidTransition):
            next_status(JobStatus.COMPLETED, action, started=True, sealed=True)


def test_final_status() -> None:
    assert final_job_status(failed=0, cancelled=0) is JobStatus.COMPLETED
    assert final_job_status(failed=1, cancelled=0) is JobStatus.FAILED


counters = st.fixed_dictionaries(
    {
        f"n_{s}": st.integers(0, 10_000)
        for s in ("queued", "running", "completed", "failed", "skipped", "cancelled")
    }
    | {"bytes_total": st.integers(0, 10**12)}
)


@given(counters, st.data())
def test_progress_percentages_stay_in_range(values: dict[str, int], data: st.DataObject) -> None:
    values["bytes_done"] = data.draw(st.integers(0, values["bytes_total"]))
    progress = job_progress(
        values, window_bytes=data.draw(st.integers(0, 10**9)), window_files=5, window_seconds=10
    )
    assert 0 <= progress["percent"] <= 100
    assert 0 <= progress["files"]["percent"] <= 100
    assert progress["files"]["total"] == sum(
        values[f"n_{s}"]
        for s in ("queued", "running", "completed", "failed", "skipped", "cancelled")
    )
    if progress["files"]["queued"] + progress["files"]["running"] == 0:
        assert progress["eta_seconds"] in (0, None)
    else:
        assert progress["eta_seconds"] is None or progress["eta_seconds"] >= 0


def test_api_md_example() -> None:
    progress = counts_progress(
        {
            "n_queued": 2,
            "n_running": 3,
            "n_completed": 14,
            "n_failed": 1,
            "bytes_total": 85899345920,
            "bytes_done": 64424509440,
        }
    )
    assert progress["files"]["percent"] == 75.0 and progress["bytes"]["percent"] == 75.0
