"""files: typed references instead of local_path; duplicate_of; content claims

Revision ID: 0008
Revises: 0007

- ``files.ref`` (JSON, see ``ingestd/domain/refs.py``) replaces ``files.local_path``, one string
  that held a path, an ``s3://`` URI or an ``http(s)://`` URL told apart by its prefix. Existing
  rows are converted, then the old column goes.
- ``files.duplicate_of``: the file whose output a skipped file shares (or a queued one waits for).
- ``content_claims``: one row per tenant and content key; its primary key makes "is this content
  already being processed?" atomic. Completed files are entered, so content ingested before this
  migration is still skipped.

The conversions are written out here, not imported: a migration must mean tomorrow what it
means today.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 2000
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Time = sa.Float(precision=53)

_files = sa.table(
    "files",
    sa.column("id", sa.String),
    sa.column("job_id", sa.String),
    sa.column("tenant", sa.String),
    sa.column("source_index", sa.Integer),
    sa.column("status", sa.String),
    sa.column("sha256", sa.String),
    sa.column("local_path", sa.Text),
    sa.column("blob_key", sa.String),
    sa.column("completed_at", Time),
    sa.column("ref", Json),
)
_sources = sa.table(
    "job_sources", sa.column("job_id", sa.String), sa.column("idx", sa.Integer), sa.column("type")
)
_jobs = sa.table(
    "jobs", sa.column("id", sa.String), sa.column("pipeline", sa.String), sa.column("options", Json)
)
_claims = sa.table(
    "content_claims",
    sa.column("tenant", sa.String),
    sa.column("content_key", sa.String),
    sa.column("file_id", sa.String),
    sa.column("state", sa.String),
    sa.column("created_at", Time),
)


def upgrade() -> None:
    op.add_column("files", sa.Column("ref", Json, nullable=True))
    op.add_column("files", sa.Column("duplicate_of", sa.String(40), nullable=True))
    op.create_index("ix_files_duplicate_of", "files", ["duplicate_of"], unique=False)
    op.create_table(
        "content_claims",
        sa.Column("tenant", sa.String(100), nullable=False),
        sa.Column("content_key", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name="fk_content_claims_file_id_files",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant", "content_key", name="pk_content_claims"),
    )
    op.create_index("ix_content_claims_file_id", "content_claims", ["file_id"], unique=False)
    bind = op.get_bind()
    _convert_paths(bind)
    _claim_completed_content(bind)
    _drop_local_path(bind)


def downgrade() -> None:
    op.add_column("files", sa.Column("local_path", sa.Text(), nullable=True))
    bind = op.get_bind()
    for rows in _pages(bind, sa.select(_files.c.id, _files.c.ref, _files.c.blob_key)):
        values = [{"b_id": r.id, "b_path": _legacy_path(r.ref, r.blob_key)} for r in rows]
        bind.execute(
            _files.update()
            .where(_files.c.id == sa.bindparam("b_id"))
            .values(local_path=sa.bindparam("b_path")),
            values,
        )
    op.drop_index("ix_content_claims_file_id", table_name="content_claims")
    op.drop_table("content_claims")
    op.drop_index("ix_files_duplicate_of", table_name="files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("duplicate_of")
        batch.drop_column("ref")


# -- local_path → ref ---------------------------------------------------------------------------
def _convert_paths(bind: sa.Connection) -> None:
    query = (
        sa.select(_files.c.id, _files.c.local_path, _files.c.blob_key, _sources.c.type)
        .join(
            _sources,
            sa.and_(_sources.c.job_id == _files.c.job_id, _sources.c.idx == _files.c.source_index),
        )
        .where(_files.c.local_path.is_not(None), _files.c.local_path != "")
    )
    for rows in _pages(bind, query):
        values = [{"b_id": r.id, "b_ref": _ref(r.local_path, r.blob_key, r.type)} for r in rows]
        bind.execute(
            _files.update()
            .where(_files.c.id == sa.bindparam("b_id"))
            .values(ref=sa.bindparam("b_ref", type_=Json)),
            values,
        )


def _ref(local_path: str, blob_key: str | None, source_type: str) -> dict[str, Any]:
    if local_path.startswith("s3://"):
        parts = urlsplit(local_path)
        ref = {"kind": "s3", "bucket": parts.netloc, "key": unquote(parts.path[1:])}
        endpoint = dict(parse_qsl(parts.query)).get("endpoint_url")
        return {**ref, "endpoint_url": endpoint} if endpoint else ref
    if local_path.startswith(("http://", "https://")):
        return {"kind": "url", "url": local_path}
    if blob_key and source_type in ("upload", "zip"):
        return {"kind": "blob", "key": blob_key}
    return {"kind": "path", "path": local_path}


def _legacy_path(ref: dict[str, Any] | None, blob_key: str | None) -> str | None:
    if not ref:
        return None
    if ref["kind"] == "path":
        return str(ref["path"])
    if ref["kind"] == "url":
        return str(ref["url"])
    if ref["kind"] == "s3":
        query = f"?endpoint_url={ref['endpoint_url']}" if ref.get("endpoint_url") else ""
        return f"s3://{ref['bucket']}/{ref['key']}{query}"
    return blob_key


# -- completed content → content claims -----------------------------------------------------
def _claim_completed_content(bind: sa.Connection) -> None:
    """Enter every completed file's content, the first of each key winning, so that
    ``skip_existing`` still skips what was ingested before this migration."""
    query = (
        sa.select(
            _files.c.id,
            _files.c.tenant,
            _files.c.sha256,
            _files.c.completed_at,
            _jobs.c.pipeline,
            _jobs.c.options,
        )
        .join(_jobs, _jobs.c.id == _files.c.job_id)
        .where(_files.c.status == "completed", _files.c.sha256.is_not(None))
    )
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(_claims).on_conflict_do_nothing()
    for rows in _pages(bind, query):
        values: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:  # in id order: the oldest file of a key keeps it
            key = (row.tenant, _content_key_v1(row.sha256, row.pipeline, row.options or {}))
            values.setdefault(
                key,
                {
                    "tenant": key[0],
                    "content_key": key[1],
                    "file_id": row.id,
                    "state": "completed",
                    "created_at": row.completed_at or 0.0,
                },
            )
        if values:
            bind.execute(insert, list(values.values()))


def _content_key_v1(sha256: str, pipeline: str, options: dict[str, Any]) -> str:
    """``ingestd.domain.content.content_key`` as of key format 1, extractor version 1."""
    shape: dict[str, object] = {"format": 1, "sha256": sha256, "pipeline": pipeline}
    if pipeline != "store":
        shape.update(
            chunk_size=int(options.get("chunk_size") or 1000),
            chunk_overlap=int(options.get("chunk_overlap", 200)),
            extractor=1,
        )
    if pipeline == "full":
        embedder = options.get("embedder")
        shape["embedder"] = "hash-384" if embedder in (None, "default") else embedder
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# -- helpers ------------------------------------------------------------------------------------
def _pages(bind: sa.Connection, query: sa.Select[Any]) -> Any:
    """The rows of ``query`` (whose first column is the file id), a page at a time."""
    after = ""
    while True:
        rows = bind.execute(
            query.where(_files.c.id > after).order_by(_files.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _drop_local_path(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        op.execute("ALTER TABLE files DROP COLUMN local_path")  # in place: no table copy
        return
    with op.batch_alter_table("files") as batch:
        batch.drop_column("local_path")
