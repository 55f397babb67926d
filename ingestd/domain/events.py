"""Every event type, and the sets of them that mean something, defined once.

Members are ``str`` (a ``StrEnum``), so they are written to the log and compared with what a
client sends as they are.

>>> EventType.FILE_SKIPPED == "file.skipped"
True
>>> EventType.JOB_DELETED in TERMINAL_JOB_EVENTS
True
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    JOB_CREATED = "job.created"
    JOB_UPDATED = "job.updated"  # status or progress; carries the Job's ``progress``
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    JOB_DELETED = "job.deleted"
    FILE_PROGRESS = "file.progress"  # ``step``, ``progress``
    FILE_COMPLETED = "file.completed"  # ``elements``, ``chunks``, ``duration_ms``
    FILE_FAILED = "file.failed"  # ``error``
    FILE_SKIPPED = "file.skipped"  # ``duplicate_of``
    FILE_RETRYING = "file.retrying"  # ``error``, ``attempts``, ``retry_at``
    FILE_CANCELLED = "file.cancelled"
    UPLOAD_PROGRESS = "upload.progress"
    WEBHOOK_DISABLED = "webhook.disabled"
    STORAGE_DEGRADED = "storage.degraded"  # ``store``, ``reason``, ``latency_ms``, ``error``
    STORAGE_RECOVERED = "storage.recovered"  # ``store``, ``latency_ms``, ``degraded_seconds``

    @classmethod
    def job_ended(cls, status: str) -> EventType:
        """The event that says a job ended with ``status`` (completed, failed or cancelled)."""
        return cls(f"job.{status}")


# After one of these nothing more happens to the job (unless it is retried, which starts a new
# chapter with ``job.updated``): a per-job stream ends with it, and a job's own ``webhook_url``
# is told of it. ``job.deleted`` belongs here: a deleted job has certainly ended, and a client
# watching it, or the URL it gave, must not wait for an ending that will never come.
TERMINAL_JOB_EVENTS = frozenset(
    {
        EventType.JOB_COMPLETED,
        EventType.JOB_FAILED,
        EventType.JOB_CANCELLED,
        EventType.JOB_DELETED,
    }
)

# A file's last word for this attempt: it has left the workers' hands.
FILE_END_EVENTS = frozenset(
    {
        EventType.FILE_COMPLETED,
        EventType.FILE_FAILED,
        EventType.FILE_SKIPPED,
        EventType.FILE_CANCELLED,
    }
)

# Files that finished (for rates: cancelled files were not worked through).
FILE_FINISHED_EVENTS = (EventType.FILE_COMPLETED, EventType.FILE_FAILED, EventType.FILE_SKIPPED)

# What a ``detail=summary`` subscription gets: every job event (its state changes, and its
# progress as ``job.updated`` with ``progress``, coalesced to a few a second per job) and every
# file failure; not each file's steps.
SUMMARY_EVENTS = frozenset(
    {
        EventType.JOB_CREATED,
        EventType.JOB_UPDATED,
        EventType.JOB_COMPLETED,
        EventType.JOB_FAILED,
        EventType.JOB_CANCELLED,
        EventType.JOB_DELETED,
        EventType.FILE_FAILED,
    }
)
