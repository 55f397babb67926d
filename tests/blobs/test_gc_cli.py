"""``ingestd gc``: what it would free, what it freed, and its refusals, on SQLite and PostgreSQL
(the command runs ``asyncio.run``, so it is invoked from a thread)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from ingestd.blobs.local import LocalBlobStore
from ingestd.cli import app
from ingestd.config import Settings
from ingestd.store.db import Database
from tests.blobs.gcdata import age_local, drop_job, local_keys, upload_job
from tests.s3server import S3Env

KEPT, ORPHAN = b"named by a live job", b"its job was deleted"


async def _gc(*args: str) -> Result:
    runner = CliRunner()
    env = {"COLUMNS": "200", "INGESTD_BLOB_URL": None, "INGESTD_BLOB_GC_GRACE_SECONDS": None}
    return await asyncio.to_thread(runner.invoke, app, ["gc", *args], env=env)


async def test_dry_run_then_sweep(
    db: Database, database_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url)
    blobs = LocalBlobStore(settings.blob_dir)
    await upload_job(db, blobs, settings, KEPT)
    await drop_job(db, await upload_job(db, blobs, settings, ORPHAN))
    for key in local_keys(blobs.root):
        age_local(blobs, key)
    where = ["--data-dir", str(settings.data_dir), "--database-url", database_url]
    orphan = hashlib.sha256(ORPHAN).hexdigest()

    dry = await _gc("--dry-run", *where)
    assert dry.exit_code == 0, dry.output
    assert "would delete (first 1)" in dry.output
    assert orphan in dry.output
    assert "Would free 19 bytes (1 blob); dry run: nothing deleted." in dry.output
    assert len(local_keys(blobs.root)) == 2

    done = await _gc(*where)
    assert done.exit_code == 0, done.output
    assert "Freed 19 bytes (1 blob)" in done.output
    assert "kept: still named by a file │ 1 │" in " ".join(done.output.split())
    assert local_keys(blobs.root) == {hashlib.sha256(KEPT).hexdigest()}

    again = await _gc(*where)
    assert "Freed 0 bytes (0 blobs)" in again.output


async def test_a_short_grace_period_is_allowed_with_a_warning(
    db: Database, database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=database_url)
    blobs = LocalBlobStore(settings.blob_dir)
    blobs.write_chunks([ORPHAN])  # written a moment ago
    where = ["--data-dir", str(settings.data_dir), "--database-url", database_url]
    kept = await _gc("--grace", "3600", *where)
    assert "Freed 0 bytes" in kept.output and "warning" not in kept.output
    result = await _gc("--grace", "0", *where)
    assert result.exit_code == 0, result.output
    assert "warning: a grace period of 0 s may delete blobs" in " ".join(result.output.split())
    assert "Freed 19 bytes (1 blob)" in result.output
    assert local_keys(blobs.root) == set()


async def test_a_grace_period_too_short_for_s3_is_refused(s3: S3Env, tmp_path: Path) -> None:
    blob_url = f"s3://{s3.bucket}/blobs?endpoint={s3.endpoint}"
    result = await _gc("--grace", "3600", "--data-dir", str(tmp_path), "--blob-url", blob_url)
    assert result.exit_code == 1
    assert "error: the grace period must be at least 7200 s for s3://" in " ".join(
        result.output.split()
    )


def test_help_names_the_options() -> None:
    result = CliRunner().invoke(app, ["gc", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--dry-run", "--grace", "--data-dir", "--database-url", "--blob-url"):
        assert option in result.output
