"""Data for the blob collector's tests: jobs whose files name blobs, written through the real
upload path (blob first, then the file row), and blobs made to look old."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from ingestd.blobs.base import BlobStore
from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.auth import Principal, Role
from ingestd.services.jobs import create_job, delete_job
from ingestd.services.uploads import IncomingFile, add_uploads
from ingestd.store.db import Database

DAY = 86400.0
ADMIN = Principal("key_test", "default", Role.ADMIN)


async def upload_job(db: Database, blobs: BlobStore, settings: Settings, *bodies: bytes) -> str:
    """A job of uploaded files, one per body; returns its id."""
    job_id = await create_job(
        db, settings, ADMIN, {"sources": [{"type": "upload"}], "options": {}, "start": False}
    )
    incoming = [IncomingFile(f"f{i}.txt", io.BytesIO(b), {}) for i, b in enumerate(bodies)]
    await add_uploads(db, blobs, ADMIN, job_id, incoming, max_size=1 << 20, seal=False)
    return job_id


async def drop_job(db: Database, job_id: str) -> None:
    await delete_job(db, ADMIN, job_id)


def age_local(blobs: LocalBlobStore, key: str, seconds: float = 2 * DAY) -> None:
    """Make a stored blob look ``seconds`` old (its mtime is its age)."""
    age_path(blobs.path(key), seconds)


def age_path(path: Path, seconds: float = 2 * DAY) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def local_keys(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file() and len(p.name) == 64}
