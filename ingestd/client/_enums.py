"""The API's enumerations, open-ended: a value a newer server sends that this SDK does not know
becomes a member of its own (``FileStatus("needs_mapping")``), never an error, so an older SDK
keeps working against a newer server. ``tests/client`` checks they cover the server's own."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class _OpenEnum(StrEnum):
    """A ``StrEnum`` that accepts unknown strings as new (cached) pseudo-members."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str) or not value:
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper().replace(".", "_").replace("-", "_")
        member._value_ = value
        cls._value2member_map_[value] = member
        return member


class JobStatus(_OpenEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """The job has ended (``completed``, ``failed`` or ``cancelled``)."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class FileStatus(_OpenEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    NEEDS_MAPPING = "needs_mapping"


class FileStep(_OpenEnum):
    ACCESSING = "accessing"
    DOWNLOADING = "downloading"
    DETECTING = "detecting"
    VALIDATING = "validating"
    HASHING = "hashing"
    PARSING = "parsing"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    STORING = "storing"


class Priority(_OpenEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Pipeline(_OpenEnum):
    FULL = "full"  # extract, chunk, embed and store
    EXTRACT = "extract"  # extract and chunk, no embeddings
    STORE = "store"  # fetch, hash and keep the bytes only


class JobAction(_OpenEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RETRY = "retry"
    SEAL = "seal"


class Role(_OpenEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class EventType(_OpenEnum):
    JOB_CREATED = "job.created"
    JOB_UPDATED = "job.updated"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    JOB_DELETED = "job.deleted"
    FILE_PROGRESS = "file.progress"
    FILE_COMPLETED = "file.completed"
    FILE_FAILED = "file.failed"
    FILE_SKIPPED = "file.skipped"
    FILE_RETRYING = "file.retrying"
    FILE_CANCELLED = "file.cancelled"
    UPLOAD_PROGRESS = "upload.progress"
    WEBHOOK_DISABLED = "webhook.disabled"
    STORAGE_DEGRADED = "storage.degraded"
    STORAGE_RECOVERED = "storage.recovered"

    @property
    def ends_job(self) -> bool:
        """A job's last event: its stream ends after it."""
        return self in _JOB_ENDS

    @property
    def ends_file(self) -> bool:
        """A file left the worker (done, failed for good, skipped, cancelled or to be retried)."""
        return self in _FILE_ENDS


_JOB_ENDS = frozenset(
    {EventType.JOB_COMPLETED, EventType.JOB_FAILED, EventType.JOB_CANCELLED, EventType.JOB_DELETED}
)
_FILE_ENDS = frozenset(
    {
        EventType.FILE_COMPLETED,
        EventType.FILE_FAILED,
        EventType.FILE_SKIPPED,
        EventType.FILE_RETRYING,
        EventType.FILE_CANCELLED,
    }
)

# Error codes of a failed file that retrying cannot fix: the same bytes fail the same way.
PERMANENT_ERRORS = frozenset(
    {
        "too_large",
        "unsupported_type",
        "type_not_allowed",
        "empty_file",
        "malware_detected",
        "unsafe_path",
        "zip_bomb",
        "invalid_archive",
        "encrypted",
        "parse_error",
    }
)
