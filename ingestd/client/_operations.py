"""Models of the Operations endpoints: usage, error analysis, the bulk retry, a job's timings."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ingestd.client._models import Model


class UsageRow(Model):
    """Usage of one group: a day, a tenant, a pipeline (whichever ``group_by`` named)."""

    day: str | None = None
    tenant: str | None = None
    pipeline: str | None = None
    jobs: int = 0
    files: int = 0
    bytes: int = 0
    pages: int = 0
    chunks: int = 0
    embeddings: int = 0
    ocr_pages: int = 0
    cpu_seconds: float = 0.0


class Usage(Model):
    """``client.usage()``: the rows, and the range of UTC days they cover (both included)."""

    items: list[UsageRow] = Field(default_factory=list)
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    group_by: list[str] = Field(default_factory=list)


class ErrorGroup(Model):
    """Failures that share a code, type, source type and extractor."""

    code: str | None = None
    mime_type: str | None = None
    source_type: str | None = None
    extractor: str | None = None
    count: int = 0
    buckets: list[dict[str, Any]] = Field(default_factory=list)  # {"start", "count"}
    jobs: list[dict[str, Any]] = Field(default_factory=list)  # {"job_id", "count"}
    example: dict[str, Any] = Field(default_factory=dict)  # {"file_id", "message"}


class ErrorReport(Model):
    """``client.errors()``: failed files grouped, most frequent first."""

    since: str | None = None
    bucket_seconds: int = 3600
    total: int = 0
    items: list[ErrorGroup] = Field(default_factory=list)


class RetryResult(Model):
    """``client.files.retry_matching()``: how many matched, how many were queued again."""

    matched: int = 0
    retried: int = 0
    dry_run: bool = False


class StepTiming(Model):
    wall_ms: int = 0
    cpu_ms: int = 0
    files: int = 0
    mean_wall_ms: float = 0.0
    max_wall_ms: int = 0
    share: float = 0.0


class SlowFile(Model):
    file_id: str
    path: str = ""
    size: int = 0
    mime_type: str | None = None
    duration_ms: int = 0
    steps: dict[str, dict[str, int]] = Field(default_factory=dict)


class JobTimings(Model):
    """``client.jobs.timings()``: where a job's time went."""

    job_id: str
    steps: dict[str, StepTiming] = Field(default_factory=dict)
    queue_wait_ms: float | None = None
    queue_wait: dict[str, Any] = Field(default_factory=dict)
    slowest: list[SlowFile] = Field(default_factory=list)
