"""Job and file states, and the transitions that job actions may make."""

from __future__ import annotations

from enum import StrEnum

from ingestd.domain.errors import Conflict, InvalidTransition


class JobStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATUSES


TERMINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
# Job states in which workers may claim its files.
CLAIMABLE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


class FileStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    # A table of the file waits for a template mapping (docs/templates.md): not completed, not
    # failed; it has ended for its job (which can end around it) until an approved mapping
    # re-runs it.
    NEEDS_MAPPING = "needs_mapping"

    @property
    def is_final(self) -> bool:
        return self in FINAL_FILE_STATUSES


FINAL_FILE_STATUSES = frozenset(
    {
        FileStatus.COMPLETED,
        FileStatus.FAILED,
        FileStatus.SKIPPED,
        FileStatus.CANCELLED,
        FileStatus.NEEDS_MAPPING,
    }
)


class FileStep(StrEnum):
    ACCESSING = "accessing"
    DOWNLOADING = "downloading"
    DETECTING = "detecting"
    VALIDATING = "validating"
    HASHING = "hashing"
    PARSING = "parsing"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    STORING = "storing"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Higher is claimed first."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Pipeline(StrEnum):
    FULL = "full"  # extract + chunk + embed + store
    EXTRACT = "extract"  # extract + chunk, no embeddings
    STORE = "store"  # fetch, hash and keep the bytes only


class JobAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY = "retry"
    SEAL = "seal"


_ALLOWED: dict[JobAction, frozenset[JobStatus]] = {
    JobAction.START: frozenset({JobStatus.PENDING}),
    JobAction.PAUSE: frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
    JobAction.RESUME: frozenset({JobStatus.PAUSED}),
    JobAction.CANCEL: frozenset(
        {JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED}
    ),
    JobAction.RETRY: frozenset(
        {
            JobStatus.FAILED,
            JobStatus.CANCELLED,
            JobStatus.RUNNING,
            JobStatus.PAUSED,
            JobStatus.QUEUED,
        }
    ),
    JobAction.SEAL: frozenset(
        {JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED}
    ),
}


def next_status(current: JobStatus, action: JobAction, *, started: bool, sealed: bool) -> JobStatus:
    """The status a job moves to when ``action`` is applied, or raise ``InvalidTransition``.

    ``started`` says whether any file of the job was ever claimed: a resumed or retried job that
    had started goes straight back to ``running``.
    """
    if current not in _ALLOWED[action]:
        raise InvalidTransition("job", current.value, action.value)
    if action is JobAction.SEAL:
        if sealed:
            raise Conflict("the job is already sealed")
        return current
    if action is JobAction.START:
        return JobStatus.QUEUED
    if action is JobAction.PAUSE:
        return JobStatus.PAUSED
    if action is JobAction.CANCEL:
        return JobStatus.CANCELLED
    if action is JobAction.RETRY and current is JobStatus.PAUSED:
        return JobStatus.PAUSED  # re-queue the files but keep the pause the user asked for
    return JobStatus.RUNNING if started else JobStatus.QUEUED


def final_job_status(*, failed: int, cancelled: int) -> JobStatus:
    """A job whose files have all ended: completed when none failed, else failed."""
    if failed or cancelled:
        return JobStatus.FAILED
    return JobStatus.COMPLETED
