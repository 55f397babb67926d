"""What the service tests share: settings, principals, and jobs made through the services."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.auth import Principal, Role
from ingestd.domain.states import FileStatus
from ingestd.services.jobs import create_job
from ingestd.services.uploads import IncomingFile, add_uploads
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database

ADMIN = Principal("key_admin", "default", Role.ADMIN)
MEMBER = Principal("key_member", "default", Role.MEMBER)
VIEWER = Principal("key_viewer", "default", Role.VIEWER)
OTHER_TENANT = Principal("key_other", "acme", Role.MEMBER)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


class Signals:
    """Records what ``db.signals`` announced."""

    def __init__(self, db: Database) -> None:
        self.queued = 0
        self.cancelled: list[str] = []
        db.signals.on_work_queued(self._queued)
        db.signals.on_job_cancelled(self.cancelled.append)

    def _queued(self) -> None:
        self.queued += 1


@pytest.fixture
def signals(db: Database) -> Signals:
    return Signals(db)


async def upload_job(
    db: Database,
    blobs: LocalBlobStore,
    settings: Settings,
    *bodies: bytes,
    start: bool = True,
    options: dict[str, Any] | None = None,
) -> str:
    """A job with an upload source and one file per body (unsealed); returns its id."""
    job_id = await create_job(
        db,
        settings,
        MEMBER,
        {"sources": [{"type": "upload"}], "options": options or {}, "start": start},
    )
    if bodies:
        incoming = [IncomingFile(f"f{i}.txt", io.BytesIO(b), {}) for i, b in enumerate(bodies)]
        await add_uploads(db, blobs, MEMBER, job_id, incoming, max_size=1 << 20, seal=False)
    return job_id


async def set_file_status(db: Database, file_id: str, status: FileStatus) -> None:
    """As a worker would leave it (the counters follow)."""
    async with db.write() as conn:
        row = await file_store.get_file(conn, file_id, None)
        assert row is not None
        await file_store.update_file(conn, file_id, status=status.value, completed_at=1.0)
        await job_store.recount(conn, row["job_id"])


async def job_files(db: Database, job_id: str) -> list[dict[str, Any]]:
    async with db.read() as conn:
        return await file_store.list_files(conn, job_id, statuses=[], after_id=None, limit=500)
