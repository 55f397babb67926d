"""What the SDK returns: Pydantic v2 models of the API's JSON, typed, with enums for the
statuses, and the JSON they were made from kept in ``.raw``.

Every model accepts fields it does not know (a newer server's) and keeps them (attribute access
and ``.raw``); fields a server may leave out have defaults. So an older SDK keeps working
against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from ingestd.client._enums import (
    PERMANENT_ERRORS,
    EventType,
    FileStatus,
    FileStep,
    JobStatus,
    Pipeline,
    Priority,
    Role,
)


class Model(BaseModel):
    """The base of every model: extra fields allowed and kept, the source JSON in ``raw``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, Model):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object this model was made from, exactly as the server sent it."""
        return self._raw


# -- progress -----------------------------------------------------------------------------------
class FileCounts(Model):
    """How many files are in each state."""

    total: int = 0
    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    percent: float = 0.0

    @property
    def done(self) -> int:
        """Files the work reached an end for: completed, failed or skipped (not cancelled)."""
        return self.completed + self.failed + self.skipped

    @property
    def ended(self) -> int:
        """Files in a final state, cancelled ones included."""
        return self.done + self.cancelled

    @property
    def remaining(self) -> int:
        return self.queued + self.running


class ByteCounts(Model):
    total: int = 0
    completed: int = 0
    percent: float = 0.0


class SourceProgress(Model):
    files: FileCounts = Field(default_factory=FileCounts)
    bytes: ByteCounts = Field(default_factory=ByteCounts)


class Progress(SourceProgress):
    """A job's progress: files and bytes, a percent, throughput and an ETA.

    In a ``Job`` these are the server's numbers. The ``Progress`` an ``on_progress`` callback
    gets is measured by the SDK from what it saw: ``throughput_bytes_per_s`` and ``files_per_s``
    are the recent rate (the last few seconds, so they follow a job that speeds up or slows down),
    ``eta_seconds`` is ``None`` until there is evidence to estimate it from, and ``job_id``,
    ``status`` and ``elapsed_seconds`` (since the job started) are set.
    """

    percent: float = 0.0
    throughput_bytes_per_s: float = 0.0
    files_per_s: float = 0.0
    eta_seconds: float | None = None
    job_id: str | None = None
    status: JobStatus | None = None
    elapsed_seconds: float | None = None

    @property
    def files_percent(self) -> float:
        """Files that reached an end (completed, failed, skipped) out of all, in percent:
        the number to show beside a file count. Cancelled files are not work done."""
        total = self.files.total
        return round(100.0 * self.files.done / total, 1) if total else 0.0


# -- jobs ---------------------------------------------------------------------------------------
class ErrorInfo(Model):
    """Why a file or a source failed: a stable ``code`` and a human ``message``."""

    code: str
    message: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether another attempt could succeed: a timeout may, a file too large will not."""
        told = self.raw.get("retryable")
        if isinstance(told, bool):
            return told
        return self.code not in PERMANENT_ERRORS


class JobSource(Model):
    """One of a job's sources, with its own progress and, when it failed as a whole (a zip
    bomb, an unreadable folder), its ``error``."""

    index: int
    type: str
    state: str | None = None
    error: ErrorInfo | None = None
    progress: SourceProgress = Field(default_factory=SourceProgress)
    path: str | None = None


class Job(Model):
    id: str
    tenant: str | None = None
    name: str = ""
    description: str | None = None
    status: JobStatus
    priority: Priority = Priority.NORMAL
    pipeline: Pipeline = Pipeline.FULL
    options: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    sealed: bool = True
    webhook_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    run_at: datetime | None = None
    progress: Progress = Field(default_factory=Progress)
    sources: list[JobSource] = Field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def failed_sources(self) -> list[JobSource]:
        """Sources that failed as a whole: their files were never listed."""
        return [s for s in self.sources if s.error is not None]

    @property
    def max_file_size(self) -> int | None:
        """The job's per-file size limit in bytes (its ``options.max_file_size``)."""
        value = self.options.get("max_file_size")
        return value if isinstance(value, int) else None


class FilePages(Model):
    total: int = 0
    text_layer: int = 0  # read from the file's own text
    ocr: int = 0  # read by OCR


class File(Model):
    id: str
    job_id: str
    source_index: int = 0
    name: str = ""
    path: str = ""
    size: int = 0
    mime_type: str | None = None
    sha256: str | None = None
    status: FileStatus
    step: FileStep | None = None
    progress: float = 0.0
    attempts: int = 0
    error: ErrorInfo | None = None
    elements: int | None = None
    chunks: int | None = None
    duration_ms: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    duplicate_of: str | None = None
    pages: FilePages | None = None  # a completed file's pages by text source
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def relative_path(self) -> str:
        """The path the file had on the uploading machine, else its path in the job."""
        value = self.metadata.get("relative_path")
        return value if isinstance(value, str) and value else self.path


class Chunk(Model):
    index: int
    text: str
    start: int | None = None
    end: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedder: str | None = None


class BulkResult(Model):
    """One job's answer to an action applied to many (``jobs.bulk``)."""

    job_id: str
    ok: bool
    status: JobStatus | None = None
    error: dict[str, Any] | None = None


# -- events -------------------------------------------------------------------------------------
class Event(Model):
    """An event envelope, the same on every channel."""

    id: str
    seq: int
    type: EventType
    job_id: str | None = None
    file_id: str | None = None
    at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def progress(self) -> Progress | None:
        """The job's progress, which ``job.updated`` events carry."""
        value = self.data.get("progress")
        return Progress.model_validate(value) if isinstance(value, dict) else None

    @property
    def status(self) -> JobStatus | None:
        """The job's status after a ``job.*`` event."""
        value = self.data.get("status")
        if isinstance(value, str) and self.type.startswith("job."):
            return JobStatus(value)
        return None

    @property
    def error(self) -> ErrorInfo | None:
        """Why a file failed (``file.failed``, ``file.retrying``)."""
        value = self.data.get("error")
        return ErrorInfo.model_validate(value) if isinstance(value, dict) else None


# -- webhooks and keys --------------------------------------------------------------------------
class Webhook(Model):
    id: str
    tenant: str | None = None
    url: str
    events: list[str] = Field(default_factory=list)
    enabled: bool = True
    consecutive_failures: int = 0
    created_at: datetime | None = None


class WebhookCreated(Webhook):
    secret: str = Field(description="shown once: verify signatures with it")


class Delivery(Model):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int = 1
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    delivered: bool = False
    created_at: datetime | None = None


class Key(Model):
    id: str
    name: str
    role: Role
    tenant: str
    prefix: str = ""
    created_at: datetime | None = None
    last_used_at: datetime | None = None


class KeyCreated(Key):
    key: str = Field(description="the secret: shown only once")


# -- insight and search -------------------------------------------------------------------------
class Health(Model):
    status: str
    version: str | None = None


class WorkerCounts(Model):
    active: int = 0
    gone: int = 0
    running: int = 0


class Stats(Model):
    jobs: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, Any] = Field(default_factory=dict)
    bytes_processed: int = 0
    success_rate: float | None = None
    processing_ms: dict[str, float | None] = Field(default_factory=dict)
    workers: WorkerCounts = Field(default_factory=WorkerCounts)
    pages: dict[str, int] = Field(default_factory=dict)  # total, text_layer, ocr


class Worker(Model):
    id: str
    host: str = ""
    pid: int | None = None
    started_at: datetime | None = None
    last_seen: datetime | None = None
    running: int = 0
    status: str = "active"


class Queue(Model):
    queued: int = 0
    running: int = 0
    workers: list[Worker] = Field(default_factory=list)
    files_per_s: float = 0.0
    bytes_per_s: float = 0.0


class SearchFile(Model):
    id: str
    name: str = ""
    path: str = ""


class SearchChunk(Model):
    index: int
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedder: str | None = None


class SearchPosition(Model):
    start: int | None = None
    end: int | None = None
    page: int | None = None


class SearchHit(Model):
    score: float
    match: str = "lexical"
    job_id: str
    file: SearchFile
    chunk: SearchChunk
    position: SearchPosition = Field(default_factory=SearchPosition)


class SearchResult(Model):
    items: list[SearchHit] = Field(default_factory=list)
    query: str = ""
    mode: str = "lexical"
    truncated: bool = False


# -- uploads and summaries (made by the SDK) --------------------------------------------------
class UploadProgress(Model):
    """Where an upload stands, given to ``on_upload`` callbacks as bytes go out.

    ``bytes_per_s`` is the recent rate; ``eta_seconds`` is ``None`` until there is evidence.
    ``file`` is the file being sent (its path relative to what was given); ``resumed_from`` is
    set on the first report of a resumable upload that continued from a stored offset.
    """

    files_total: int
    files_sent: int = 0
    bytes_total: int
    bytes_sent: int = 0
    bytes_per_s: float = 0.0
    eta_seconds: float | None = None
    file: str | None = None
    resumed_from: int | None = None

    @property
    def percent(self) -> float:
        return round(100.0 * self.bytes_sent / self.bytes_total, 1) if self.bytes_total else 0.0


class Rejected(Model):
    """A local file that was not sent, and why (e.g. ``too_large`` for the job's limit)."""

    path: str
    size: int | None = None
    code: str
    message: str


class UploadReport(Model):
    """What ``jobs.upload`` sent: files and bytes, the real rate, and what it left out.

    ``bytes_sent`` counts the bytes this call moved: a resumed upload's bytes the server already
    had are not in it (nor in ``bytes_per_s``)."""

    job_id: str
    files_sent: int = 0
    bytes_sent: int = 0
    already_uploaded: int = Field(
        default=0, description="files the job had from an earlier, interrupted run: not re-sent"
    )
    resumed: int = Field(default=0, description="resumable uploads continued from an offset")
    rejected: list[Rejected] = Field(default_factory=list)
    seconds: float = 0.0
    sealed: bool = False

    @property
    def bytes_per_s(self) -> float:
        """Bytes sent over the whole upload's duration."""
        return self.bytes_sent / self.seconds if self.seconds > 0 else 0.0


class FailedFile(Model):
    """A file that failed, with the reason."""

    file_id: str
    path: str
    code: str
    message: str | None = None
    retryable: bool = True


class UploadSummary(Model):
    """The outcome of ``upload_and_wait`` and ``SimpleClient.upload_files``.

    ``processed`` counts files completed, ``skipped`` files whose content was already ingested;
    ``failed`` lists each failed file with its reason, ``rejected`` the local files that were not
    sent (over the job's size limit, unreadable). Without waiting, only ``job_id``, ``job`` (as
    created) and ``upload`` mean much.
    """

    job_id: str
    job: Job
    status: JobStatus
    processed: int = 0
    skipped: int = 0
    failed: list[FailedFile] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    upload: UploadReport | None = None

    @property
    def ok(self) -> bool:
        """Every file was sent and the job completed."""
        return self.status is JobStatus.COMPLETED and not self.rejected and not self.failed


# -- documents (docs/documents.md) --------------------------------------------------------------
class DocumentPage(Model):
    """One page (slide, sheet): its size in points and where its text came from."""

    number: int
    width: float = 0.0
    height: float = 0.0
    text_source: str = "text_layer"  # "text_layer" | "ocr"
    ocr_confidence: float | None = None


class DocumentCell(Model):
    text: str = ""
    colspan: int = 1
    rowspan: int = 1


class DocumentTable(Model):
    """Rows of cells as drawn (a merged cell is one cell with spans); the first
    ``header_rows`` rows are headers."""

    header_rows: int = 0
    rows: list[list[DocumentCell]] = Field(default_factory=list)


class DocumentElement(Model):
    """One element in reading order: ``title``, ``heading`` (``level``), ``paragraph``,
    ``list_item`` (``level``), ``table``, ``caption``, ``footnote``, ``code``, ``notes``, ``image``."""

    id: str
    kind: str
    text: str = ""
    level: int | None = None
    page: int | None = None
    bbox: list[float] | None = None  # [x0, y0, x1, y1] in points, y down
    section: list[str] = Field(default_factory=list)  # the heading texts above it
    caption: str | None = None
    table: DocumentTable | None = None
    meta: dict[str, Any] | None = None


class Document(Model):
    """A file's extracted document (schema ``ingestd.document/1``)."""

    schema_: str = Field(default="ingestd.document/1", alias="schema")
    file_id: str
    name: str = ""
    mime_type: str | None = None
    pages: list[DocumentPage] = Field(default_factory=list)
    elements: list[DocumentElement] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def title(self) -> str | None:
        title = self.metadata.get("title")
        return str(title) if title else None

    def text(self) -> str:
        """The elements' texts in reading order, separated by blank lines."""
        return "\n\n".join(e.text for e in self.elements if e.text)


class ConvertedFile(Model):
    """One file of a convert: its document (a ``Document`` for ``format="json"``, else the
    Markdown or text), or its error."""

    file_id: str
    name: str = ""
    status: FileStatus | str = FileStatus.COMPLETED
    document: Document | str | None = None
    error: ErrorInfo | None = None
    chunks: list[Chunk] | None = None


class PendingFile(Model):
    file_id: str
    name: str = ""
    status: FileStatus | str = FileStatus.QUEUED
    url: str = ""


class Conversion(Model):
    """What ``convert()`` returns: ``items`` once every file ended; when the server did not
    finish within ``wait_seconds``, ``pending`` is true and ``job_id``/``files`` say where to
    read the documents later (``files.document(file_id)``)."""

    items: list[ConvertedFile] = Field(default_factory=list)
    pending: bool = False
    job_id: str | None = None
    files: list[PendingFile] = Field(default_factory=list)
