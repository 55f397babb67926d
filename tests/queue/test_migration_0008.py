"""Migration 0008 on both dialects: every ``local_path`` becomes a typed reference, completed
content is claimed (so ``skip_existing`` still skips it), and the way down restores the paths."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ingestd.domain.content import content_key
from ingestd.store.migrate import alembic_config, upgrade

BLOB = "ab" * 32
SHA = "cd" * 32
LEGACY = {  # file id: (source index, local_path, blob_key, status, sha256)
    "file_dir": (0, "/srv/docs/a.pdf", None, "queued", None),
    "file_up": (1, "/data/blobs/ab/ab/" + BLOB, BLOB, "failed", BLOB),
    "file_s3": (
        2,
        "s3://docs/in/a%20b.md?endpoint_url=http%3A%2F%2Fminio%3A9000",
        None,
        "queued",
        None,
    ),
    "file_url": (3, "https://example.org/a.pdf", None, "queued", None),
    "file_failed": (0, "", None, "failed", None),
    "file_done_1": (0, "/srv/docs/b.pdf", None, "completed", SHA),
    "file_done_2": (0, "/srv/docs/c.pdf", None, "completed", SHA),  # the same content again
}


def _run(connection: Connection, url: str, verb: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    getattr(command, verb)(config, revision)


def _seed(connection: Connection) -> None:
    now = time.time()
    connection.execute(
        sa.text(
            "INSERT INTO jobs (id, tenant, name, status, priority, pipeline, options, labels,"
            " sealed, max_workers, created_at, updated_at) VALUES ('job_1', 't', 'j', 'running',"
            " 'normal', 'full', :options, '{}', true, 5, :now, :now)"
        ),
        {"options": '{"chunk_size": 800}', "now": now},
    )
    for idx, kind in enumerate(("directory", "upload", "s3", "url")):
        connection.execute(
            sa.text(
                "INSERT INTO job_sources (job_id, idx, type, spec, state) "
                "VALUES ('job_1', :idx, :type, '{}', 'listed')"
            ),
            {"idx": idx, "type": kind},
        )
    for file_id, (idx, path, blob, status, sha) in LEGACY.items():
        connection.execute(
            sa.text(
                "INSERT INTO files (id, job_id, tenant, source_index, name, path, size, status,"
                " priority_rank, run_after, local_path, blob_key, sha256, metadata, created_at,"
                " completed_at) VALUES (:id, 'job_1', 't', :idx, :name, :path, 1, :status, 1, :now,"
                " :local_path, :blob, :sha, '{}', :now, :now)"
            ),
            {
                "id": file_id,
                "name": file_id,
                "path": file_id,
                "idx": idx,
                "status": status,
                "local_path": path,
                "blob": blob,
                "sha": sha,
                "now": now,
            },
        )


def _read(connection: Connection, query: str) -> list[Any]:
    return list(connection.execute(sa.text(query)).all())


async def test_0008_converts_paths_and_claims_completed_content(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, database_url, "downgrade", "0007")
            await connection.run_sync(_seed)
        await upgrade(database_url)
        async with engine.connect() as connection:
            refs = dict(await connection.run_sync(_read, "SELECT id, ref FROM files"))
            claims = await connection.run_sync(
                _read, "SELECT tenant, content_key, file_id, state FROM content_claims"
            )
        refs = {k: json.loads(v) if isinstance(v, str) else v for k, v in refs.items()}
        assert refs == {
            "file_dir": {"kind": "path", "path": "/srv/docs/a.pdf"},
            "file_up": {"kind": "blob", "key": BLOB},
            "file_s3": {
                "kind": "s3",
                "bucket": "docs",
                "key": "in/a b.md",
                "endpoint_url": "http://minio:9000",
            },
            "file_url": {"kind": "url", "url": "https://example.org/a.pdf"},
            "file_failed": None,
            "file_done_1": {"kind": "path", "path": "/srv/docs/b.pdf"},
            "file_done_2": {"kind": "path", "path": "/srv/docs/c.pdf"},
        }
        key = content_key(
            SHA, "full", chunk_size=800, chunk_overlap=200, embedder="hash-384", extractor_version=1
        )
        assert claims == [("t", key, "file_done_1", "completed")]
        async with engine.begin() as connection:
            await connection.run_sync(_run, database_url, "downgrade", "0007")
            paths = dict(await connection.run_sync(_read, "SELECT id, local_path FROM files"))
        assert paths["file_s3"] == "s3://docs/in/a b.md?endpoint_url=http://minio:9000"
        assert paths["file_up"] == BLOB and paths["file_dir"] == "/srv/docs/a.pdf"
    finally:
        await engine.dispose()
        await upgrade(database_url)
