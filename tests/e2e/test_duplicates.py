"""Two real ``ingestd worker`` processes race over 50 copies of one document (issue #12, item
2), on SQLite and on PostgreSQL: exactly one copy is processed, the 49 others end ``skipped``
naming it, and its chunks are stored once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ingestd.config import Settings
from ingestd.domain.auth import Principal, Role
from ingestd.domain.states import JobAction
from ingestd.services import jobs as job_service
from ingestd.store.db import Database
from ingestd.store.notify import notify_workers
from ingestd.store.tables import chunks, files, workers
from tests.eventually import eventually
from tests.queue.factory import job_row

COPIES = 50
ADMIN = Principal(key_id="key_test", tenant="default", role=Role.ADMIN)
DOCUMENT = "# Quarterly notes\n\n" + "\n\n".join(
    f"Paragraph {n}: the same words in every copy, so every copy is the same content." * 4
    for n in range(30)
)


@pytest.fixture
def two_workers(
    database_url: str, tmp_path: Path, source_root: Path
) -> Iterator[Callable[[], None]]:
    processes: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "INGESTD_POLL_SECONDS": "0.1",
        "INGESTD_HEARTBEAT_SECONDS": "0.5",
        "INGESTD_ADMIN_KEY": "ik_e2e_duplicates_key_0123456789abcdef",
    }

    def start() -> None:
        for n in range(2):
            command = [sys.executable, "-m", "ingestd", "worker", "--concurrency", "2"]
            command += ["--database-url", database_url, "--source-root", str(source_root)]
            command += ["--data-dir", str(tmp_path / f"worker{n}")]
            log = open(tmp_path / f"worker{n}.log", "wb")  # noqa: SIM115 - the process owns it
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
            log.close()

    yield start
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def live_workers(db: Database) -> int:
    async with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(workers)
        return int((await conn.execute(query.where(workers.c.stopped_at.is_(None)))).scalar_one())


@pytest.mark.slow
async def test_two_workers_racing_over_50_copies_process_one(
    db: Database,
    source_root: Path,
    make_settings: Callable[..., Settings],
    two_workers: Callable[[], None],
) -> None:
    folder = source_root / "copies"
    folder.mkdir()
    for n in range(COPIES):
        (folder / f"copy{n:02}.md").write_text(DOCUMENT)
    settings = make_settings(database_url=db.url)
    body: dict[str, Any] = {
        "sources": [{"type": "directory", "path": "copies"}],
        "pipeline": "extract",
        "options": {"skip_existing": True},
        "start": False,  # released once both workers are up, so that they race
    }
    job_id = await job_service.create_job(db, settings, ADMIN, body)
    two_workers()
    await eventually(lambda: live_workers(db), until=lambda n: n == 2, what="two workers")
    await job_service.act(db, ADMIN, job_id, JobAction.START)
    if not db.is_sqlite:
        await notify_workers(db)  # as the API does (SQLite workers find it at their poll)
    job = await eventually(
        lambda: job_row(db, job_id),
        until=lambda j: j["status"] in ("completed", "failed"),
        what="the job",
    )
    assert job["status"] == "completed"
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(files.c.id, files.c.status, files.c.duplicate_of).where(
                    files.c.job_id == job_id
                )
            )
        ).all()
        stored = (await conn.execute(sa.select(chunks.c.file_id).distinct())).all()
    [kept] = [r.id for r in rows if r.status == "completed"]
    skipped = [r for r in rows if r.status == "skipped"]
    assert len(rows) == COPIES and len(skipped) == COPIES - 1
    assert {r.duplicate_of for r in skipped} == {kept}
    assert stored == [(kept,)]  # the chunks of one copy, once
