"""SIGTERM on a real ``ingestd worker`` mid-job: it stops claiming, finishes or releases what it
holds within the grace period, says goodbye in the registry, and exits 0 holding nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestd.store.db import Database
from ingestd.store.tables import files, workers
from tests.eventually import eventually
from tests.queue.factory import job_row, make_job

FILES = 80


def write_corpus(folder: Path) -> list[str]:
    folder.mkdir()
    paths = []
    paragraph = "The quick brown fox jumps over the lazy dog, again and again. " * 40
    for i in range(FILES):
        path = folder / f"doc{i:03}.txt"
        path.write_text(f"Document {i}\n\n" + "\n\n".join([paragraph] * 60))  # ~150 KB
        paths.append(str(path))
    return paths


async def count(db: Database, status: str) -> int:
    async with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(files).where(files.c.status == status)
        return int((await conn.execute(query)).scalar_one())


@pytest.mark.slow
async def test_sigterm_finishes_or_releases_in_flight_files(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    job_id = await make_job(db, FILES, local_paths=write_corpus(tmp_path / "corpus"))
    env = {
        **os.environ,
        "INGESTD_HEARTBEAT_SECONDS": "0.5",
        "INGESTD_POLL_SECONDS": "0.1",
        "INGESTD_ADMIN_KEY": "ik_shutdown_test_key_0123456789abcdef",
    }
    command = [sys.executable, "-m", "ingestd", "worker", "--data-dir", str(tmp_path / "data")]
    command += ["--database-url", database_url, "--concurrency", "2"]
    log = tmp_path / "worker.log"
    output = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    os.close(output)
    try:

        async def completed() -> int:
            assert process.returncode is None, log.read_text()[-3000:]
            return await count(db, "completed")

        # working, with files in flight
        await eventually(completed, until=lambda n: n >= 2, seconds=90, what="two files done")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, log.read_text()[-3000:]  # it ended by itself (the grace period is 10 s)
    async with db.read() as conn:
        held = (
            await conn.execute(sa.select(files.c.id).where(files.c.lease_owner.is_not(None)))
        ).all()
        registered = (await conn.execute(sa.select(workers))).mappings().all()
    assert await count(db, "running") == 0 and held == []
    assert await count(db, "completed") + await count(db, "queued") == FILES
    assert await count(db, "queued") > 0  # it stopped claiming: the job was not drained
    job = await job_row(db, job_id)
    assert job["sources"][0]["n_running"] == 0
    assert [(w["stopped_at"] is not None, w["running"]) for w in registered] == [(True, 0)]
