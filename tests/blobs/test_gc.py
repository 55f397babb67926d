"""The blob collector on a local store, against SQLite and PostgreSQL: only blobs that no file
row names and that are older than the grace period go, and never one that is being reused."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.blobs import local as local_module
from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.services import blob_gc
from ingestd.services.blob_gc import sweep_blobs
from ingestd.store.blobrefs import referenced_blob_keys
from ingestd.store.db import Database
from ingestd.store.tables import uploads
from tests.blobs.gcdata import DAY, age_local, age_path, drop_job, local_keys, upload_job


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


def _key(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def test_a_deleted_jobs_blobs_go_once_past_the_grace_period(
    db: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    job_id = await upload_job(db, blobs, settings, b"only in this job", b"also only here")
    await drop_job(db, job_id)
    young = await sweep_blobs(db, blobs, grace=DAY)
    assert (young.listed, young.deleted) == (0, 0)  # unreferenced, but written just now
    assert len(local_keys(blobs.root)) == 2
    for key in local_keys(blobs.root):
        age_local(blobs, key)
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.referenced, report.reused, report.deleted) == (2, 0, 0, 2)
    assert report.bytes_freed == len(b"only in this job") + len(b"also only here")
    assert local_keys(blobs.root) == set()
    assert "deleted 2 blob(s), 30 bytes" in report.summary()


async def test_referenced_blobs_stay_whatever_their_age(
    db: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    shared, own = b"the same bytes in two jobs", b"only in the deleted job"
    await upload_job(db, blobs, settings, shared, b"kept by its own job")
    deleted = await upload_job(db, blobs, settings, shared, own)
    await drop_job(db, deleted)
    for key in local_keys(blobs.root):
        age_local(blobs, key)
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.referenced, report.deleted) == (3, 2, 1)
    assert local_keys(blobs.root) == {_key(shared), _key(b"kept by its own job")}


async def test_a_young_unreferenced_blob_stays(db: Database, blobs: LocalBlobStore) -> None:
    stored = blobs.write_chunks([b"written, its file row not committed yet"])
    age_local(blobs, stored.key, DAY - 60)  # a minute short of the grace period
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.deleted) == (0, 0)
    assert blobs.exists(stored.key)


async def test_dry_run_deletes_nothing(db: Database, blobs: LocalBlobStore) -> None:
    keys = [blobs.write_chunks([f"orphan {i}".encode()]).key for i in range(3)]
    for key in keys:
        age_local(blobs, key)
    report = await sweep_blobs(db, blobs, grace=DAY, dry_run=True, sample=2)
    assert (report.dry_run, report.listed, report.deleted, report.bytes_freed) == (True, 3, 3, 24)
    assert len(report.sample) == 2 and {b.key for b in report.sample} <= set(keys)
    assert "would delete 3 blob(s)" in report.summary()
    assert local_keys(blobs.root) == set(keys)


async def test_a_reused_old_blob_is_young_again(
    db: Database, blobs: LocalBlobStore, settings: Settings
) -> None:
    """An upload of bytes that an orphan already holds refreshes the orphan before its file row
    exists, so a sweep between the two keeps it; once the row commits it is referenced."""
    body = b"uploaded, deleted with its job, uploaded again"
    await drop_job(db, await upload_job(db, blobs, settings, body))
    age_local(blobs, _key(body))
    again = blobs.write_chunks([body])  # the first half of an upload: no file row yet
    assert again.key == _key(body)
    assert time.time() - blobs.path(again.key).stat().st_mtime < 60
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.deleted) == (0, 0)
    assert blobs.exists(again.key)


async def test_a_reuse_during_the_sweep_keeps_the_blob(
    db: Database, blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst moment: the sweep has listed the orphan as old and found no row naming it,
    then an upload of the same bytes reuses it (its row commits later). The delete re-checks
    the age and keeps it."""
    body = b"reused between the reference check and the delete"
    key = blobs.write_chunks([body]).key
    age_local(blobs, key)
    check = referenced_blob_keys

    async def check_then_reuse(conn: AsyncConnection, keys: Collection[str]) -> set[str]:
        named = await check(conn, keys)
        assert key in keys and key not in named
        blobs.write_chunks([body])  # another process's upload
        return named

    monkeypatch.setattr(blob_gc, "referenced_blob_keys", check_then_reuse)
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.referenced, report.reused, report.deleted) == (1, 0, 1, 0)
    assert blobs.exists(key)


@pytest.mark.parametrize("writer_comes", ["before the rename", "after the rename"])
async def test_a_reuse_racing_the_delete_itself_never_loses_the_blob(
    blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch, writer_comes: str
) -> None:
    """``delete_stale`` renames the blob aside before its final age check: a writer's refresh
    either lands before the rename (the blob is put back) or finds no blob and stores it anew."""
    body = b"written again at the very moment of the delete"
    key = blobs.write_chunks([body]).key
    age_local(blobs, key)
    rename = os.rename

    def racing_rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if writer_comes == "before the rename":
            blobs.write_chunks([body])
        rename(src, dst)
        if writer_comes == "after the rename":
            blobs.write_chunks([body])

    monkeypatch.setattr(local_module.os, "rename", racing_rename)
    freed = blobs.delete_stale(key, time.time() - DAY)
    monkeypatch.undo()
    assert freed == (None if writer_comes == "before the rename" else len(body))
    assert blobs.path(key).read_bytes() == body
    assert time.time() - blobs.path(key).stat().st_mtime < 60  # young: a full grace ahead
    assert [p.name for p in blobs.path(key).parent.iterdir()] == [key]  # nothing left aside


async def test_an_open_tus_upload_names_its_adopted_blob(
    db: Database, blobs: LocalBlobStore
) -> None:
    """A tus upload adopted as a blob just before a crash has no file row yet: its upload row
    keeps the blob until the upload is finished again or expires."""
    key = blobs.write_chunks([b"adopted, file row not written"]).key
    age_local(blobs, key)
    now = time.time()
    row = {
        "id": "upl_test",
        "tenant": "default",
        "job_id": "job_test",
        "filename": "big.bin",
        "length": 29,
        "offset": 29,
        "status": "open",
        "metadata": {},
        "sha256": key,
        "created_at": now,
        "updated_at": now,
        "expires_at": now + DAY,
    }
    async with db.write() as conn:
        await conn.execute(uploads.insert().values(row))
    assert (await sweep_blobs(db, blobs, grace=DAY)).referenced == 1
    async with db.write() as conn:
        await conn.execute(uploads.update().values(status="expired"))
    assert (await sweep_blobs(db, blobs, grace=DAY)).deleted == 1
    assert not blobs.exists(key)


async def test_sweeps_at_once_delete_each_blob_once(db: Database, blobs: LocalBlobStore) -> None:
    keys = [blobs.write_chunks([f"orphan number {i}".encode()]).key for i in range(40)]
    for key in keys:
        age_local(blobs, key)
    reports = await asyncio.gather(*(sweep_blobs(db, blobs, grace=DAY, batch=7) for _ in range(3)))
    assert sum(r.deleted for r in reports) == 40
    assert sum(r.bytes_freed for r in reports) == sum(len(f"orphan number {i}") for i in range(40))
    assert local_keys(blobs.root) == set()


async def test_only_blobs_are_listed(db: Database, blobs: LocalBlobStore) -> None:
    """Staging files, tus partials and anything not in the ``ab/cd/<sha256>`` layout stay."""
    strays = [
        blobs.tmp_dir() / "tmpabc123",
        blobs.root / "uploads" / "upl_1.part",
        blobs.root / "ab" / "cd" / "notes.txt",
        blobs.root / "ab" / "cd" / ("ef" * 32),  # a sha256 name in the wrong folder
        blobs.root / "zz" / "zz" / ("ab" * 32),
    ]
    for path in strays:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not a blob of ours")
        age_path(path)
    report = await sweep_blobs(db, blobs, grace=DAY)
    assert (report.listed, report.deleted) == (0, 0)
    assert all(path.exists() for path in strays)


async def test_a_blob_left_aside_by_a_dead_collector_is_put_back(
    blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = blobs.write_chunks([b"set aside, then the collector died"]).key
    aside = blobs.path(key).with_name(f"{key}.gc-0123abcd")
    os.rename(blobs.path(key), aside)
    assert list(blobs.iter_blobs(time.time() + DAY)) == []  # a live collector may be deciding
    monkeypatch.setattr(local_module, "SET_ASIDE_RECOVERY", 0.0)
    assert list(blobs.iter_blobs(time.time() - DAY)) == []  # put back as young
    assert blobs.exists(key) and not aside.exists()


async def test_the_grace_period_cannot_be_shorter_than_the_reuse_refresh(
    db: Database, blobs: LocalBlobStore
) -> None:
    blobs.refresh_after = 3600.0
    with pytest.raises(ValueError, match="at least 7200 s"):
        await sweep_blobs(db, blobs, grace=3600)


@pytest.mark.parametrize("write", ["write_chunks", "adopt", "put_file"])
def test_every_write_makes_its_blob_young(
    blobs: LocalBlobStore, tmp_path: Path, write: str
) -> None:
    """Uploads (write_chunks), tus and multipart parts (adopt) and the store pipeline (put_file)
    all refresh a stored blob; a new one is young even if its staging file was written long
    ago (a tus partial whose last byte came days before the finish)."""
    body = b"stored once, written again by another path"
    key = _key(body)

    def write_once() -> None:
        staged = blobs.tmp_dir() / "staged.part"
        staged.write_bytes(body)
        age_path(staged)
        if write == "write_chunks":
            blobs.write_chunks([body])
        elif write == "adopt":
            blobs.adopt(staged, key, len(body))
        else:
            blobs.put_file(staged, key)
        staged.unlink(missing_ok=True)

    write_once()
    assert time.time() - blobs.path(key).stat().st_mtime < 60
    age_local(blobs, key)
    write_once()
    assert time.time() - blobs.path(key).stat().st_mtime < 60
    assert blobs.path(key).read_bytes() == body
