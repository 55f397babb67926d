"""Request and response bodies of the Operations endpoints (shared/API.md, "Operations"):
usage, error analysis, the bulk retry and a job's timings. Kept apart from ``schemas.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsageItem(BaseModel):
    day: str | None = Field(default=None, description="UTC day, `2026-12-06` (group_by day)")
    tenant: str | None = Field(default=None, description="group_by tenant")
    pipeline: str | None = Field(default=None, description="group_by pipeline")
    jobs: int = Field(description="jobs created")
    files: int = Field(description="files completed")
    bytes: int = Field(description="bytes in: the size of the completed files")
    pages: int = Field(description="pages of the completed documents")
    chunks: int
    embeddings: int = Field(description="vectors made (pipeline full)")
    ocr_pages: int = Field(description="pages whose text came from OCR")
    cpu_seconds: float = Field(description="CPU time of the parser processes, measured there")


class Usage(BaseModel):
    items: list[UsageItem]
    from_: str = Field(alias="from", description="first UTC day included")
    to: str = Field(description="last UTC day included")
    group_by: list[str]

    model_config = ConfigDict(populate_by_name=True)


class ErrorBucket(BaseModel):
    start: str = Field(description="the bucket's start (RFC 3339)")
    count: int


class ErrorExample(BaseModel):
    file_id: str
    message: str | None


class ErrorJob(BaseModel):
    job_id: str
    count: int


class ErrorItem(BaseModel):
    code: str | None
    mime_type: str | None
    source_type: str | None
    extractor: str | None = Field(description="the extractor that read the type (`pdf`, `docx`…)")
    count: int
    buckets: list[ErrorBucket] = Field(description="buckets with failures, oldest first")
    jobs: list[ErrorJob] = Field(description="the jobs it hit most (up to 10)")
    example: ErrorExample


class Errors(BaseModel):
    since: str
    bucket_seconds: int
    total: int
    items: list[ErrorItem]


class RetryFilter(_Strict):
    status: str | None = Field(
        default=None,
        description="`failed` (the default) or `cancelled`, or both joined by a comma",
        max_length=40,
    )
    error_code: str | None = Field(default=None, max_length=60)
    job_id: str | None = Field(default=None, max_length=40)
    mime_type: str | None = Field(default=None, max_length=200)
    source_type: str | None = Field(default=None, max_length=40)


class BulkRetry(_Strict):
    filter: RetryFilter = Field(default_factory=RetryFilter)
    dry_run: bool = Field(default=False, description="only count the files that match")


class BulkRetryResult(BaseModel):
    matched: int
    retried: int
    dry_run: bool


class StepTiming(BaseModel):
    wall_ms: int
    cpu_ms: int
    files: int = Field(description="files that went through the step")
    mean_wall_ms: float
    max_wall_ms: int
    share: float = Field(description="this step's part of the wall time of all steps, 0..1")


class FileStep(BaseModel):
    wall_ms: int
    cpu_ms: int


class SlowFile(BaseModel):
    file_id: str
    path: str
    size: int
    mime_type: str | None
    duration_ms: int
    steps: dict[str, FileStep]


class QueueWait(BaseModel):
    files: int = Field(description="files claimed at least once")
    mean_ms: float | None
    max_ms: float | None


class Timings(BaseModel):
    job_id: str
    steps: dict[str, StepTiming] = Field(
        description="per step (downloading, detecting, scanning, parsing, chunking, embedding, "
        "storing) over the job's completed files"
    )
    queue_wait_ms: float | None = Field(description="mean wait from queued to first claim")
    queue_wait: QueueWait
    slowest: list[SlowFile]


UsageFormat = Literal["json", "csv"]
