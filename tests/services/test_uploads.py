"""services/uploads.py, directly: uploaded bytes become queued files of their job, with safe and
unique names, and only a job that takes uploads gets them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from ingestd.domain.states import JobAction
from ingestd.services.jobs import act, create_job
from ingestd.services.uploads import (
    IncomingFile,
    add_uploads,
    check_upload_job,
    refuse_disallowed_types,
    safe_name,
)
from ingestd.store.db import Database
from tests.services.conftest import MEMBER, Signals, job_files, upload_job


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        (".hidden", "hidden"),
        ("a\x00b\x1fc.txt", "abc.txt"),
        ("", "upload"),
        (None, "upload"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_names_are_made_safe(raw: str | None, safe: str) -> None:
    assert safe_name(raw) == safe


async def test_uploads_are_queued_with_unique_names_and_wake_the_workers(
    db: Database, settings: Settings, blobs: LocalBlobStore, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings)
    incoming = [
        IncomingFile("a.txt", io.BytesIO(b"first"), {"team": "x"}),
        IncomingFile("a.txt", io.BytesIO(b"second"), {}),
    ]
    rows = await add_uploads(db, blobs, MEMBER, job_id, incoming, max_size=100, seal=False)
    again = await add_uploads(
        db,
        blobs,
        MEMBER,
        job_id,
        [IncomingFile("a.txt", io.BytesIO(b"third"), {})],
        max_size=100,
        seal=False,
    )
    names = sorted(r["name"] for r in [*rows, *again])
    assert names == ["a (2).txt", "a (3).txt", "a.txt"]
    assert all(r["status"] == "queued" for r in rows)
    assert rows[0]["metadata"]["original_name"] == "a.txt"
    assert blobs.exists(rows[0]["sha256"]) and rows[0]["size"] == len(b"first")
    assert signals.queued == 1 + 2  # the job, then each request


async def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings)
    big = IncomingFile("big.bin", io.BytesIO(b"x" * 101), {})
    with pytest.raises(PayloadTooLarge, match="100-byte"):
        await add_uploads(db, blobs, MEMBER, job_id, [big], max_size=100, seal=False)
    assert await job_files(db, job_id) == []


async def test_only_an_open_upload_job_takes_files(
    db: Database, settings: Settings, blobs: LocalBlobStore, source_root: Path
) -> None:
    (source_root / "docs").mkdir()
    folder = await create_job(
        db, settings, MEMBER, {"sources": [{"type": "directory", "path": "docs"}], "options": {}}
    )
    with pytest.raises(Conflict, match="sealed"):  # sealed from the start: no upload source
        await check_upload_job(db, MEMBER, folder)
    sealed = await upload_job(db, blobs, settings, b"still queued")
    await act(db, MEMBER, sealed, JobAction.SEAL)
    with pytest.raises(Conflict, match="sealed"):
        await check_upload_job(db, MEMBER, sealed)
    cancelled = await upload_job(db, blobs, settings)
    await act(db, MEMBER, cancelled, JobAction.CANCEL)
    with pytest.raises(Conflict, match="takes no more files"):
        await check_upload_job(db, MEMBER, cancelled)


def test_a_type_the_job_does_not_allow_is_refused_by_its_content(tmp_path: Path) -> None:
    pdf = tmp_path / "looks.txt"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")
    job = {"options": {"allowed_types": ["text/*"]}}
    with pytest.raises(UnsupportedMediaType, match="application/pdf"):
        refuse_disallowed_types(job, [("looks.txt", pdf)])
    refuse_disallowed_types({"options": {}}, [("looks.txt", pdf)])  # no list: anything goes
