"""Settings from ``INGESTD_*`` environment variables, overridden by command-line flags.

:class:`Settings` is the one place that names a variable, declares its default and validates
it; the command line derives its ``serve``/``worker`` options from these fields
(``ingestd/cli/options.py``). Code receives the typed part it reads (``settings.queue``,
``settings.webhooks``, …; see ``ingestd/config_parts.py``), not the whole object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingestd.config_parts import (
    DatabaseSettings,
    EventSettings,
    OutboundSettings,
    QueueSettings,
    RateLimitSettings,
    ServerSettings,
    SourceSettings,
    StorageSettings,
    TemplateSettings,
    UploadSettings,
    WebhookSettings,
)
from ingestd.domain.addresses import parse_clamd_url, parse_outbound_allow


def _default_workers() -> int:
    return os.cpu_count() or 2


# Files per parser process a worker may hold: the bound of --prefetch and of the claim window.
MAX_PREFETCH = 64


class Settings(BaseSettings):
    """Everything that configures a process. Field ``x`` reads env var ``INGESTD_X``."""

    model_config = SettingsConfigDict(env_prefix="INGESTD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".ingestd")
    database_url: str | None = None  # default: SQLite file in the data directory
    # PostgreSQL connections a process keeps open (and may add as many again at peak); budget
    # processes * 2 * this (+2 each for LISTEN) below the server's max_connections.
    database_pool_size: int = Field(default=10, ge=1, le=100)
    workers: int = Field(default_factory=_default_workers, ge=0)  # parser processes; 0 = API only
    # Files a worker holds per parser process at least, so parsers never wait on I/O or the
    # database; its claim window grows to MAX_PREFETCH per parser while files are tiny.
    prefetch: int = Field(default=8, ge=1, le=MAX_PREFETCH)
    # serve runs its workers in a child process, keeping the API's event loop free.
    worker_process: bool = True
    # Directory and zip sources may only read below these; default: where `serve` started.
    source_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # Client-side path forms translated to server paths, e.g. "C:\\Docs=/srv/docs".
    path_maps: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_key: str | None = None

    # Queue behaviour.
    lease_seconds: float = Field(default=30.0, gt=0)  # a claimed file is lost after this silence
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    poll_seconds: float = Field(default=0.5, gt=0)  # idle wait between claim attempts
    retry_base_seconds: float = Field(default=2.0, ge=0)  # backoff: base * 2**(attempt-1)
    retry_max_seconds: float = Field(default=300.0, ge=0)
    extract_processes: int | None = Field(default=None, ge=1)  # default: min(workers, cpus)

    # Limits on what a single request or source may bring in.
    max_upload_size: int = Field(default=1024**3, gt=0)  # bytes per uploaded file
    max_files_per_request: int = Field(default=1000, gt=0)
    # POST /api/v1/convert (docs/documents.md): files and URLs per request, their bytes in all.
    convert_max_files: int = Field(default=20, gt=0)
    convert_max_bytes: int = Field(default=100 * 1024**2, gt=0)

    # Live events (issue #4): the event log is tailed and fanned out to WebSocket/SSE clients.
    event_poll_seconds: float = Field(default=0.025, gt=0)  # tail poll; in-process appends wake it
    event_gap_seconds: float = Field(default=0.5, ge=0)  # wait for a lower seq still committing
    event_queue_size: int = Field(default=2000, ge=10)  # per connection; past it: "lagged"
    event_keepalive_seconds: float = Field(default=15.0, gt=0)  # SSE comment lines
    event_retention_seconds: float = Field(default=7 * 86400.0, gt=0)
    event_retention_count: int | None = Field(default=None, ge=1)  # also keep at most N events
    event_retention_check_seconds: float = Field(default=300.0, gt=0)
    # How API processes learn of events written elsewhere: "auto" = Redis pub/sub with
    # redis_url, else PostgreSQL LISTEN/NOTIFY, else polling (SQLite). The log stays the truth;
    # with a push feed connected the tail polls only every event_fallback_poll_seconds.
    event_feed: Literal["auto", "redis", "postgres", "poll"] = "auto"
    event_fallback_poll_seconds: float = Field(default=1.0, gt=0)
    event_channel: str = Field(default="ingestd_events", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Source-side throttles: at most one file.progress per file per interval, and one
    # progress-carrying job.updated per job per interval. Final events are never throttled.
    progress_event_seconds: float = Field(default=0.25, gt=0)
    job_progress_event_seconds: float = Field(default=0.5, gt=0)

    # Rate limits per key ("N/second|minute|hour"); shared across processes with redis_url.
    rate_limits: bool = True
    rate_limit_reads: str = "6000/minute"
    rate_limit_writes: str = "600/minute"
    rate_limit_upload_mb: str = "100000/hour"
    redis_url: str | None = None
    # Browser origins allowed to call the API (CORS); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Memory a parser process may use, in MB; a document that needs more fails that file alone.
    parser_memory_mb: int = Field(default=4096, ge=128)
    # Malware scanning (docs/security.md): with a ClamAV daemon here (tcp://HOST:PORT or
    # unix:///PATH), every file is scanned before it is parsed or stored; infected files fail
    # with malware_detected, and while clamd is down files fail retryably (never pass unscanned).
    clamd: str | None = None
    clamd_timeout_seconds: float = Field(default=120.0, gt=0)  # connect, each send, the verdict

    # Storage health (issue #18): the database and the blob store are probed this often; a store
    # is degraded when a probe fails or the average of its last 3 latencies passes storage_slow_ms.
    storage_check_seconds: float = Field(default=5.0, gt=0)
    storage_slow_ms: float = Field(default=1000.0, gt=0)
    # Logs: "text" (for people) or "json" (one object a line, with request, job, file, worker
    # and tenant ids); and `ingestd worker` serves its Prometheus metrics on this port (0 = off).
    log_format: Literal["text", "json"] = "text"
    metrics_port: int = Field(default=0, ge=0, le=65535)

    @field_validator("clamd")
    @classmethod
    def _check_clamd(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_clamd_url(value)  # ValueError names the accepted forms
            return value.strip()
        return None

    @field_validator("cors_origins", "s3_allowed_endpoints", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("source_roots", "path_maps", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ingestd.db').resolve()}"

    @property
    def resolved_source_roots(self) -> list[Path]:
        roots = self.source_roots or [Path.cwd()]
        return [root.expanduser().resolve() for root in roots]

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def process_count(self) -> int:
        return self.extract_processes or max(1, self.workers)

    @property
    def files_in_flight(self) -> int:
        return max(1, self.workers) * self.prefetch

    @property
    def files_in_flight_max(self) -> int:
        """The widest a worker's claim window grows, while files are tiny (queue/window.py)."""
        return max(self.files_in_flight, self.process_count * MAX_PREFETCH)

    # Resumable (tus) uploads: an unfinished upload expires this long after its last byte; the
    # sweep removes expired ones; progress events go out at most this often per upload.
    tus_expiry_seconds: float = Field(default=24 * 3600.0, gt=0)
    tus_cleanup_seconds: float = Field(default=300.0, gt=0)
    tus_progress_seconds: float = Field(default=0.5, gt=0)

    # Webhooks: attempts per event (backoff base * 2**n, with jitter), a webhook is disabled after
    # this many failed deliveries in a row; private/loopback targets are refused unless allowed.
    webhook_retry_base_seconds: float = Field(default=1.0, gt=0)
    webhook_max_attempts: int = Field(default=5, ge=1, le=20)
    webhook_disable_after: int = Field(default=20, ge=1)
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # The durable outbox: how often each API process looks for new events and due deliveries
    # (appends in this process wake it at once), deliveries in flight per process, and how long
    # finished deliveries (outbox rows and the attempt log) are kept.
    webhook_poll_seconds: float = Field(default=0.5, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    webhook_retention_seconds: float = Field(default=7 * 86400.0, gt=0)

    # Templates (docs/templates.md): a submitted mapping waits for an admin's approval while
    # true; when false a member's mapping is approved at once.
    templates_require_approval: bool = True
    # The embedder whose similarity of column and field names (and sample values) counts in
    # mapping suggestions; None = the built-in hash-384, "minilm" with the embeddings extra.
    templates_embedder: str | None = None

    # Outbound requests (URL sources, webhooks; docs/sources.md): loopback, private, link-local
    # and metadata addresses are refused unless allowed here: comma-separated CIDRs or addresses
    # (127.0.0.1, 10.0.0.0/8) and host names (files.corp, *.corp). Checked after DNS, per hop.
    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    url_max_bytes: int = Field(default=1024**3, gt=0)  # per downloaded file (and max_file_size)
    url_max_per_source: int = Field(default=1000, ge=1, le=10_000)
    url_max_redirects: int = Field(default=5, ge=0, le=20)
    url_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    url_read_timeout_seconds: float = Field(default=30.0, gt=0)  # silence between bytes
    url_total_timeout_seconds: float = Field(default=600.0, gt=0)  # one whole download

    # Blob storage (docs/storage.md): unset = <data_dir>/blobs; file:///path = a directory (a
    # shared mount when scaled out); s3://bucket/prefix?endpoint=…&region=… = S3-compatible
    # storage (the ingestd[s3] extra), credentials from the standard AWS_* variables.
    blob_url: str | None = None
    # Blob garbage collection (docs/storage.md): blobs that no file row names and that are
    # older than the grace period are deleted by a sweep every blob_gc_seconds in each API
    # process (0 = never; `ingestd gc` runs one). The grace period is what a stored blob gets
    # for the row naming it to commit; S3 stores need at least 2 h (reuse refresh, see there).
    blob_gc_seconds: float = Field(default=6 * 3600.0, ge=0)
    blob_gc_grace_seconds: float = Field(default=24 * 3600.0, ge=0)
    # s3 sources: the endpoint they use (unset: AWS, or AWS_ENDPOINT_URL), its region, and the
    # other endpoints a request's endpoint_url may name (exact scheme://host:port; any other is
    # refused). Credentials are the server's (AWS_* variables), never taken from a request.
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_allowed_endpoints: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("outbound_allow", mode="before")
    @classmethod
    def _split_allow(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            parse_outbound_allow(value)  # ValueError names a malformed entry
        return value

    # -- the parts (ingestd/config_parts.py): what each concern reads -------------------------

    @property
    def server(self) -> ServerSettings:
        return ServerSettings(
            host=self.host,
            port=self.port,
            cors_origins=tuple(self.cors_origins),
            admin_key=self.admin_key,
            log_format=self.log_format,
            metrics_port=self.metrics_port,
        )

    @property
    def database(self) -> DatabaseSettings:
        return DatabaseSettings(
            url=self.resolved_database_url,
            pool_size=self.database_pool_size,
            is_default_sqlite=not self.database_url,
        )

    @property
    def queue(self) -> QueueSettings:
        return QueueSettings(
            workers=self.workers,
            prefetch=self.prefetch,
            worker_process=self.worker_process,
            lease_seconds=self.lease_seconds,
            heartbeat_seconds=self.heartbeat_seconds,
            poll_seconds=self.poll_seconds,
            retry_base_seconds=self.retry_base_seconds,
            retry_max_seconds=self.retry_max_seconds,
            process_count=self.process_count,
            files_in_flight=self.files_in_flight,
            files_in_flight_max=self.files_in_flight_max,
            parser_memory_mb=self.parser_memory_mb,
            clamd=self.clamd,
            clamd_timeout_seconds=self.clamd_timeout_seconds,
        )

    @property
    def events(self) -> EventSettings:
        return EventSettings(
            poll_seconds=self.event_poll_seconds,
            gap_seconds=self.event_gap_seconds,
            queue_size=self.event_queue_size,
            keepalive_seconds=self.event_keepalive_seconds,
            retention_seconds=self.event_retention_seconds,
            retention_count=self.event_retention_count,
            retention_check_seconds=self.event_retention_check_seconds,
            feed=self.event_feed,
            fallback_poll_seconds=self.event_fallback_poll_seconds,
            channel=self.event_channel,
            redis_url=self.redis_url,
            progress_event_seconds=self.progress_event_seconds,
            job_progress_event_seconds=self.job_progress_event_seconds,
        )

    @property
    def rate_limiting(self) -> RateLimitSettings:
        return RateLimitSettings(
            enabled=self.rate_limits,
            reads=self.rate_limit_reads,
            writes=self.rate_limit_writes,
            upload_mb=self.rate_limit_upload_mb,
            redis_url=self.redis_url,
        )

    @property
    def uploads(self) -> UploadSettings:
        return UploadSettings(
            max_upload_size=self.max_upload_size,
            max_files_per_request=self.max_files_per_request,
            convert_max_files=self.convert_max_files,
            convert_max_bytes=self.convert_max_bytes,
            tus_expiry_seconds=self.tus_expiry_seconds,
            tus_cleanup_seconds=self.tus_cleanup_seconds,
            tus_progress_seconds=self.tus_progress_seconds,
        )

    @property
    def outbound(self) -> OutboundSettings:
        return OutboundSettings(
            allow=tuple(self.outbound_allow),
            url_max_bytes=self.url_max_bytes,
            url_max_per_source=self.url_max_per_source,
            url_max_redirects=self.url_max_redirects,
            url_connect_timeout_seconds=self.url_connect_timeout_seconds,
            url_read_timeout_seconds=self.url_read_timeout_seconds,
            url_total_timeout_seconds=self.url_total_timeout_seconds,
        )

    @property
    def webhooks(self) -> WebhookSettings:
        return WebhookSettings(
            retry_base_seconds=self.webhook_retry_base_seconds,
            max_attempts=self.webhook_max_attempts,
            disable_after=self.webhook_disable_after,
            allow_private=self.webhook_allow_private,
            timeout_seconds=self.webhook_timeout_seconds,
            poll_seconds=self.webhook_poll_seconds,
            concurrency=self.webhook_concurrency,
            retention_seconds=self.webhook_retention_seconds,
            outbound_allow=tuple(self.outbound_allow),
            gap_seconds=self.event_gap_seconds,
        )

    @property
    def templates(self) -> TemplateSettings:
        return TemplateSettings(
            require_approval=self.templates_require_approval, embedder=self.templates_embedder
        )

    @property
    def storage(self) -> StorageSettings:
        return StorageSettings(
            data_dir=self.data_dir,
            blob_url=self.blob_url,
            blob_dir=self.blob_dir,
            blob_gc_seconds=self.blob_gc_seconds,
            blob_gc_grace_seconds=self.blob_gc_grace_seconds,
            check_seconds=self.storage_check_seconds,
            slow_ms=self.storage_slow_ms,
        )

    @property
    def sources(self) -> SourceSettings:
        return SourceSettings(
            roots=tuple(self.resolved_source_roots),
            path_maps=tuple(self.path_maps),
            s3_endpoint_url=self.s3_endpoint_url,
            s3_region=self.s3_region,
            s3_allowed_endpoints=tuple(self.s3_allowed_endpoints),
        )


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgresql://``, ``sqlite:///x.db``) and pick async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url
