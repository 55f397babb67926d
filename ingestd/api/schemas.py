"""Request and response bodies of the HTTP API (see shared/API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from ingestd.domain import options
from ingestd.domain.auth import Role
from ingestd.domain.states import FileStatus, JobStatus, Pipeline, Priority
from ingestd.sources.registry import installed_sources

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UploadSource(Strict):
    type: Literal["upload"]


class DirectorySource(Strict):
    type: Literal["directory"]
    path: str = Field(min_length=1, max_length=4096)
    recursive: bool = True
    include: list[str] = Field(default_factory=list, max_length=100)
    exclude: list[str] = Field(default_factory=list, max_length=100)


class ZipSource(Strict):
    type: Literal["zip"]
    path: str = Field(min_length=1, max_length=4096)
    include: list[str] = Field(default_factory=list, max_length=100)
    exclude: list[str] = Field(default_factory=list, max_length=100)


class UrlSource(Strict):
    type: Literal["url"]
    urls: list[str] = Field(min_length=1, max_length=10_000)


class S3Source(Strict):
    """Every object under ``prefix`` in ``bucket``, read with the server's own credentials;
    ``endpoint_url`` (an S3-compatible service) must be one the server allows."""

    type: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field(default="", max_length=1024)
    endpoint_url: str | None = Field(default=None, max_length=2000)
    recursive: bool = True
    include: list[str] = Field(default_factory=list, max_length=100)
    exclude: list[str] = Field(default_factory=list, max_length=100)


class ConnectorSource(BaseModel):
    """A source of an installed connector (docs/sources.md): its fields are the connector's,
    checked by its adapter when the job is created."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(max_length=40, description="the connector's source type, e.g. gdrive")


def _source_tag(value: Any) -> str:
    """The model for a source: a built-in type's own, an installed connector's, or (an unknown
    type) none, which is a 422 naming the types there are."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if isinstance(kind, str) and kind in installed_sources().connector_types:
        return "connector"
    return str(kind)


Source = Annotated[
    Annotated[UploadSource, Tag("upload")]
    | Annotated[DirectorySource, Tag("directory")]
    | Annotated[ZipSource, Tag("zip")]
    | Annotated[UrlSource, Tag("url")]
    | Annotated[S3Source, Tag("s3")]
    | Annotated[ConnectorSource, Tag("connector")],
    Discriminator(
        _source_tag,
        custom_error_type="invalid_source_type",
        custom_error_message="unknown source type: use 'upload', 'directory', 'zip', 'url', 's3', or the "
        "type of a connector installed with this server (docs/sources.md)",
    ),
]


class JobOptions(options.JobOptions):
    """The options of a new job: the fields and defaults of ``domain/options.py``, no others."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, value: str | None) -> str | None:
        from ingestd.pipeline.embed import available_embedders

        if value is not None and value not in ("default", *available_embedders()):
            raise ValueError(
                f"unknown embedder {value!r}; available: {', '.join(available_embedders())}"
            )
        return value


class JobCreate(Strict):
    name: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)
    priority: Priority = Priority.NORMAL
    pipeline: Pipeline = Pipeline.FULL
    sources: list[Source] = Field(min_length=1, max_length=100)
    options: JobOptions = Field(default_factory=JobOptions)
    start: bool = True
    run_at: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    webhook_url: str | None = Field(default=None, max_length=2000)

    @field_validator("run_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("run_at needs a time zone, e.g. 2026-01-01T12:00:00Z")
        return value


class FilesProgress(BaseModel):
    total: int
    queued: int
    running: int
    completed: int
    failed: int
    skipped: int
    cancelled: int = Field(description="counted in total, never as done")
    needs_mapping: int = Field(
        default=0,
        description="processed, a table waiting for a template mapping (docs/templates.md): "
        "done for the bar; an approved mapping runs them again",
    )
    percent: float = Field(
        description="files done (completed, failed, skipped or needs_mapping) of total: a "
        "cancelled file is not done, so a job cancelled half-way shows about 50"
    )


class BytesProgress(BaseModel):
    total: int
    completed: int = Field(description="bytes of the done files (cancelled ones not included)")
    cancelled: int = Field(default=0, description="bytes of the cancelled files")
    percent: float = Field(description="completed of total")


class SourceProgress(BaseModel):
    files: FilesProgress
    bytes: BytesProgress


class Progress(SourceProgress):
    percent: float = Field(description="bytes.percent when sizes are known, else files.percent")
    throughput_bytes_per_s: float = Field(
        description="bytes of files done over the last minute while the job runs (the recent "
        "rate), over the whole run once it has stopped"
    )
    files_per_s: float = Field(description="files done per second, over the same window")
    eta_seconds: int | None = Field(
        description="seconds left at the recent rate; 0 when nothing is left; null until at "
        "least 3 files (or 5 % of the bytes) are done and 2 s have passed since the start"
    )


class SourceView(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: int
    type: str
    state: str = Field(
        description="pending | listing | listed | failed | open (uploads, until sealed)"
    )
    error: dict[str, Any] | None
    progress: SourceProgress


class Job(BaseModel):
    id: str
    tenant: str
    name: str
    description: str | None
    status: JobStatus
    priority: Priority
    pipeline: Pipeline
    options: dict[str, Any]
    labels: dict[str, str]
    sealed: bool
    webhook_url: str | None
    created_at: str
    updated_at: str
    started_at: str | None
    completed_at: str | None
    run_at: str | None
    progress: Progress
    sources: list[SourceView]
    error: dict[str, Any] | None


class FileErrorView(BaseModel):
    code: str
    message: str | None


class FilePages(BaseModel):
    total: int
    text_layer: int  # read from the file's own text
    ocr: int  # read by OCR from the page's image


class File(BaseModel):
    id: str
    job_id: str
    source_index: int
    name: str
    path: str
    size: int
    mime_type: str | None
    sha256: str | None
    status: FileStatus
    step: str | None
    progress: float
    attempts: int
    error: FileErrorView | None
    elements: int | None
    chunks: int | None
    duration_ms: int | None
    duplicate_of: str | None = Field(
        default=None,
        description="skipped: the file whose output this one shares (same content, processed "
        "the same way); queued: the file it waits for (docs/queue.md)",
    )
    pages: FilePages | None = Field(
        default=None,
        description="a completed file with pages (PDF, image, deck): how many, and by where "
        "their text came from (docs/extraction.md#ocr)",
    )
    metadata: dict[str, Any]
    created_at: str
    started_at: str | None
    completed_at: str | None


class ChunkView(BaseModel):
    index: int
    text: str
    start: int
    end: int
    metadata: dict[str, Any]
    embedder: str | None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="cursor for ?after=, null on the last page")


class RetryBody(Strict):
    failed_only: bool = True


class BulkAction(Strict):
    job_ids: list[str] = Field(min_length=1, max_length=500)
    failed_only: bool = True


class BulkResult(BaseModel):
    job_id: str
    ok: bool
    status: JobStatus | None = None
    error: dict[str, Any] | None = None


class KeyCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.MEMBER
    tenant: str = Field(
        default="default", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$"
    )


class KeyView(BaseModel):
    id: str
    name: str
    role: Role
    tenant: str
    prefix: str
    created_at: str
    last_used_at: str | None


class KeyCreated(KeyView):
    key: str = Field(description="the secret; shown only in this response")


class Health(BaseModel):
    status: str
    version: str


class Check(BaseModel):
    ok: bool
    latency_ms: float
    error: str | None = None


class Ready(BaseModel):
    status: str
    checks: dict[str, Check]


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    request_id: str | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


# Documented on every /api/v1 route: the problem+json errors any of them may answer.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _problem(
        "The request cannot be read as sent: not multipart where files are expected, a malformed "
        "header, text that cannot be stored (a NUL character)"
    ),
    401: _problem("No key, or the key is not valid"),
    403: _problem("The key's role does not allow this"),
    404: _problem("Not found (or another tenant's)"),
    409: _problem("The resource's state does not allow this"),
    413: _problem("Payload too large"),
    415: _problem("Unsupported media type"),
    422: _problem(
        "A value is refused: `detail` names each field and why (`options.chunk_szie: unknown "
        "field`), `errors` lists them; enums list their allowed values"
    ),
    429: _problem("Rate limit exceeded; see Retry-After"),
}


class StoreHealthView(BaseModel):
    """One store as the storage monitor last saw it (``services/storage_health.py``)."""

    healthy: bool | None = Field(description="the last probe worked and the average is not slow")
    latency_ms: float | None = Field(description="the last probe's latency")
    average_latency_ms: float | None = Field(description="the average of the last 3 probes")
    history_ms: list[float] = Field(description="the last 60 probe latencies, oldest first")
    last_check: float | None = Field(description="seconds since the epoch (UTC)")
    check_count: int
    error: str | None = Field(default=None, description="why it is unhealthy")


class StorageHealthView(BaseModel):
    database: StoreHealthView
    blobs: StoreHealthView
