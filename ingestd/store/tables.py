"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` must produce exactly this.

Times are stored as float seconds since the epoch (UTC): the same on SQLite and PostgreSQL, cheap
to compare in the claim query, converted to RFC 3339 at the API edge.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Time = sa.Float(precision=53)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("last_used_at", Time),
    sa.Column("revoked_at", Time),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("priority", sa.String(10), nullable=False),
    sa.Column("pipeline", sa.String(10), nullable=False),
    sa.Column("options", Json, nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("sealed", sa.Boolean, nullable=False),
    sa.Column("max_workers", sa.Integer, nullable=False),
    sa.Column("webhook_url", sa.Text),
    sa.Column("error", Json),
    sa.Column("run_at", Time),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("started_at", Time),
    sa.Column("completed_at", Time),
    sa.Index(None, "tenant", "id"),
    sa.Index(None, "status"),
)

# One row per source of a job: its listing state and the job's progress counters for it.
job_sources = sa.Table(
    "job_sources",
    metadata,
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("spec", Json, nullable=False),
    # pending → listing → listed | failed; "open" for upload sources until the job is sealed.
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("error", Json),
    sa.Column("lease_owner", sa.String(40)),
    sa.Column("lease_expires_at", Time),
    sa.Column("n_queued", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_running", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_completed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_cancelled", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bytes_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("bytes_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index(None, "state"),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("source_index", sa.Integer, nullable=False),
    sa.Column("name", sa.String(1000), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mime_type", sa.String(200)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("step", sa.String(20)),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(60)),
    sa.Column("error_message", sa.Text),
    sa.Column("elements", sa.Integer),
    sa.Column("chunks", sa.Integer),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("priority_rank", sa.Integer, nullable=False),
    sa.Column("run_after", Time, nullable=False),  # not claimable before (backoff)
    sa.Column("lease_owner", sa.String(40)),
    sa.Column("lease_token", sa.String(40)),
    sa.Column("lease_expires_at", Time),
    sa.Column("ref", Json),  # where the bytes are (domain/refs.py); NULL for a file listed failed
    sa.Column("blob_key", sa.String(64)),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("started_at", Time),
    sa.Column("completed_at", Time),
    # The file whose output this one shares (skipped), or waits for (queued): see content_claims.
    sa.Column("duplicate_of", sa.String(40)),
    # A completed file's pages, and how many were read by OCR (NULL: no pages, or not known)
    sa.Column("pages", sa.Integer),
    sa.Column("ocr_pages", sa.Integer),
    # The extracted document (JSON, ``ingestd.document/1``) in the blob store: its sha256 key.
    sa.Column("document_key", sa.String(64)),
    sa.UniqueConstraint("job_id", "source_index", "path"),
    sa.Index(None, "status", "lease_expires_at"),  # the rescuer; counts by status
    sa.Index(None, "tenant", "sha256"),
    sa.Index(None, "job_id", "completed_at"),
    sa.Index(None, "blob_key"),  # the blob collector: is this blob still named?
    sa.Index(None, "duplicate_of"),  # the files waiting for an original, woken when it ends
    sa.Index(None, "document_key"),  # the blob collector: is this document still named?
)

# A claim reads each chosen job's queued files in this order and stops at its limit: no sort.
sa.Index(
    "ix_files_job_claim_order",
    files.c.job_id,
    files.c.status,
    files.c.priority_rank.desc(),
    files.c.id,
)

chunks = sa.Table(
    "chunks",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("embedder", sa.String(100)),
    sa.Column("dim", sa.Integer),
    sa.Column("vector", sa.LargeBinary),
    sa.UniqueConstraint("file_id", "idx"),
    sa.Index(None, "tenant", "job_id"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("job_id", sa.String(40)),
    sa.Column("file_id", sa.String(40)),
    sa.Column("at", Time, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Index(None, "job_id", "seq"),
    sa.Index(None, "tenant", "seq"),
    sa.Index(None, "at"),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", Time, nullable=False),
    sa.Column("last_seen", Time, nullable=False),
    sa.Column("running", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stopped_at", Time),
    sa.Index(None, "last_seen"),
)

# Resumable (tus) uploads: where each one stands. The bytes live in a partial file under the blob
# root until the last one lands; then the blob is adopted and the upload points at its job file.
uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("filename", sa.String(1000), nullable=False),
    sa.Column("length", sa.BigInteger),  # NULL while the client defers it
    sa.Column("offset", sa.BigInteger, nullable=False, server_default="0"),
    # open → complete | terminated | expired
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("expected_sha256", sa.String(64)),  # from the client's metadata, checked at the end
    sa.Column("sha256", sa.String(64)),  # set once every byte is in: the finish can be redone
    sa.Column("file_id", sa.String(40)),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Index(None, "tenant", "id"),
    sa.Index(None, "status", "expires_at"),
)

# Who changed what: every mutating API call, kept for admins (GET /api/v1/audit).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("at", Time, nullable=False),
    sa.Column("key_id", sa.String(40)),
    sa.Column("tenant", sa.String(100)),
    sa.Column("role", sa.String(20)),
    sa.Column(
        "action", sa.String(200), nullable=False
    ),  # "POST /api/v1/jobs/{job_id}/actions/{action}"
    sa.Column("target", Json, nullable=False),  # the path parameters: job_id, file_id, action…
    sa.Column("status", sa.Integer, nullable=False),  # the HTTP status answered
    sa.Column("client", sa.String(100)),  # the caller's address
    sa.Column("request_id", sa.String(128)),
    sa.Index(None, "tenant", "seq"),
    sa.Index(None, "at"),
)

# Webhooks: a tenant's subscriptions to its events, and every delivery attempt made for them.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", Json, nullable=False),  # event types, or ["*"]
    sa.Column("secret", sa.String(200), nullable=False),  # "whsec_" + base64
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Time, nullable=False),
    sa.Index(None, "tenant", "id"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "webhook_id",
        sa.String(40),
        sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("next_attempt_at", Time),  # when the next attempt is due; NULL when none follows
    sa.Column("delivered", sa.Boolean, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Index(None, "webhook_id", "created_at"),
)

# The webhook outbox: one row per (event, target) still to deliver or recently finished. Any API
# process claims due rows by pushing next_attempt_at past a lease (so a crashed sender's rows come
# due again); the unique (event_id, target) makes matching an event twice insert nothing.
webhook_outbox = sa.Table(
    "webhook_outbox",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("target", sa.String(40), nullable=False),  # the webhook id, or "job" (webhook_url)
    sa.Column("webhook_id", sa.String(40), sa.ForeignKey("webhooks.id", ondelete="CASCADE")),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the envelope: events may age out before sending
    sa.Column("state", sa.String(20), nullable=False),  # pending | delivered | failed | dropped
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Time, nullable=False),  # due time; while claimed: lease expiry
    sa.Column("lease_owner", sa.String(60)),
    sa.Column("lease_token", sa.String(40)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("finished_at", Time),
    sa.Index(None, "event_id", "target", unique=True),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "finished_at"),
)

# One row: the seq of the last event matched to webhooks. Advanced compare-and-set in the
# transaction that writes the outbox rows, so each event is matched by exactly one process.
webhook_cursor = sa.Table(
    "webhook_cursor",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
)

# The per-tenant secret that signs deliveries to a job's webhook_url (admins read it).
webhook_tenant_secrets = sa.Table(
    "webhook_tenant_secrets",
    metadata,
    sa.Column("tenant", sa.String(100), primary_key=True),
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("created_at", Time, nullable=False),
)

# Idempotency-Key on job creation: per tenant, a key names the first job it created for 24 h. The
# primary key makes two requests racing with one key create one job; ``fingerprint`` (sha256 of
# the canonical request body) tells a retry from a different request reusing the key (409). A row
# goes with its job; an expired one is replaced by the next request that uses its key.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # Deferred: the key is claimed first (that is what serialises two racing requests), the job
    # row follows in the same transaction.
    sa.Column(
        "job_id",
        sa.String(40),
        sa.ForeignKey("jobs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    sa.Column("created_at", Time, nullable=False),
    sa.Index(None, "job_id"),  # the cascade from a deleted job
)

# Content being processed or already ingested, per tenant, with what shapes its output (sha256,
# pipeline, chunking options, embedder, extractor version: ``domain/content.py``). The primary
# key is the claim: of several files with the same key exactly one inserts its row and is
# processed; the others are skipped against it once it completed, or wait until it ends. A file
# that fails gives its claim up (the row goes), so a duplicate is processed after all.
content_claims = sa.Table(
    "content_claims",
    metadata,
    sa.Column("tenant", sa.String(100), primary_key=True),
    sa.Column("content_key", sa.String(64), primary_key=True),
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("state", sa.String(20), nullable=False),  # running | completed
    sa.Column("created_at", Time, nullable=False),
    sa.Index(None, "file_id"),
)

# The storage monitor's probe (services/storage_health.py): a row written, read back and deleted
# every few seconds proves the database takes writes; the table is empty between probes.
storage_probes = sa.Table(
    "storage_probes",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("written_at", Time, nullable=False),
)

# Usage per tenant, day (UTC, "YYYY-MM-DD") and pipeline, kept as work happens: a job adds one to
# ``jobs`` when it is created; a completed file adds its bytes, pages, chunks, vectors and the
# parser CPU it took, in the transaction that completes it (store/usage.py). Never a scan.
usage_daily = sa.Table(
    "usage_daily",
    metadata,
    sa.Column("tenant", sa.String(100), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("pipeline", sa.String(10), primary_key=True),
    sa.Column("jobs", sa.Integer, nullable=False, server_default="0"),
    sa.Column("files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("chunks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("embeddings", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ocr_pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cpu_seconds", sa.Float(precision=53), nullable=False, server_default="0"),
    sa.Index(None, "day"),
)

# Where a completed file's time went: per step (``detecting``, ``parsing``…) its wall and CPU
# milliseconds, written with the file's completion (store/timings.py).
file_timings = sa.Table(
    "file_timings",
    metadata,
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("steps", Json, nullable=False),  # {"parsing": [wall_ms, cpu_ms], …}
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Index(None, "job_id", "duration_ms"),  # a job's slowest files
)

# The same, summed per job and step as files complete: a job's timings are read without
# visiting its files.
job_step_timings = sa.Table(
    "job_step_timings",
    metadata,
    sa.Column(
        "job_id", sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("step", sa.String(20), primary_key=True),
    sa.Column("files", sa.Integer, nullable=False, server_default="0"),
    sa.Column("wall_ms", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cpu_ms", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_wall_ms", sa.BigInteger, nullable=False, server_default="0"),
)


# -- templates (issue #17; docs/templates.md) -------------------------------------------------

# Files waiting for a template mapping (status ``needs_mapping``), counted per source like the
# other file states (store/jobs.py COUNTER).
job_sources.append_column(
    sa.Column("n_needs_mapping", sa.Integer, nullable=False, server_default="0")
)

# A tenant's templates: one recurring table layout each. ``current_version`` is the newest
# version; ``status`` is the template's (discovered, pending_approval, approved, rejected,
# retired), ``approved_version`` the version whose mapping turns tables into records.
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("approved_version", sa.Integer),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Index(None, "tenant", "id"),
)

# Every version of a template: its columns (the signature), target schema and mapping, what
# changed from the version before (``diff``), who or which file made it, and its decision.
template_versions = sa.Table(
    "template_versions",
    metadata,
    sa.Column(
        "template_id",
        sa.String(40),
        sa.ForeignKey("templates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("signature", Json, nullable=False),
    sa.Column("target_schema", Json, nullable=False),
    sa.Column("mapping", Json, nullable=False),
    sa.Column("diff", Json),
    sa.Column("source_file_id", sa.String(40)),
    sa.Column("created_by", sa.String(40)),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("submitted_by", sa.String(40)),
    sa.Column("decided_by", sa.String(40)),
    sa.Column("decided_at", Time),
    sa.Column("comment", sa.Text),
    sa.Index(None, "tenant", "fingerprint"),
)

# One row per table of a file a templates job read: its signature and first rows, the template
# (and version) it matched or waits on, and, once applied, its counts and quality.
file_tables = sa.Table(
    "file_tables",
    metadata,
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("table_index", sa.Integer, primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("location", sa.String(300), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # needs_mapping | applied
    sa.Column("signature", Json, nullable=False),
    sa.Column("samples", Json, nullable=False),
    sa.Column("template_id", sa.String(40)),
    sa.Column("version", sa.Integer),
    sa.Column("score", sa.Float),
    sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("valid_rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("error_counts", Json),
    sa.Column("created_at", Time, nullable=False),
    sa.Index(None, "tenant", "status"),
    sa.Index(None, "template_id", "version"),
    sa.Index(None, "job_id"),
)

# Typed records of applied tables, one per data row.
template_records = sa.Table(
    "template_records",
    metadata,
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("table_index", sa.Integer, primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("valid", sa.Boolean, nullable=False),
    sa.Column("data", Json, nullable=False),
)

# Invalid cells of applied tables (the first MAX_ERRORS per table; all are counted in
# file_tables.error_counts).
template_record_errors = sa.Table(
    "template_record_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "file_id", sa.String(40), sa.ForeignKey("files.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("table_index", sa.Integer, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("column", sa.String(300)),
    sa.Column("field", sa.String(300)),
    sa.Column("value", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index(None, "file_id", "table_index", "row"),
)

# What the tenant's users mapped each column (by normalised name) to: the suggestions' memory.
mapping_history = sa.Table(
    "mapping_history",
    metadata,
    sa.Column("tenant", sa.String(100), primary_key=True),
    sa.Column("source_key", sa.String(300), primary_key=True),
    sa.Column("field", sa.String(300), primary_key=True),
    sa.Column("times", sa.Integer, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
)
