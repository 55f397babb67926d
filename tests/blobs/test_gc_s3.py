"""The blob collector on an S3 store (moto's ThreadedMotoServer, tests/s3server.py), against
SQLite and PostgreSQL. Objects are made to look old by moving moto's ``last_modified`` back:
S3 offers no way to set it, and the server runs in this process."""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestd.blobs.s3 import S3BlobStore, S3Config
from ingestd.config import Settings
from ingestd.services.blob_gc import sweep_blobs
from ingestd.store.db import Database
from tests.blobs.gcdata import DAY, drop_job, upload_job
from tests.s3server import S3Env


@pytest.fixture
def store(s3: S3Env, tmp_path: Path) -> S3BlobStore:
    return S3BlobStore(
        s3.bucket, "blobs/", S3Config(endpoint_url=s3.endpoint), tmp_path / "staging"
    )


def _age(s3: S3Env, object_key: str, seconds: float = 2 * DAY) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[s3.bucket].keys.get(object_key)
    stored.last_modified -= datetime.timedelta(seconds=seconds)


def _modified(s3: S3Env, object_key: str) -> float:
    head = s3.client.head_object(Bucket=s3.bucket, Key=object_key)
    return float(head["LastModified"].timestamp())


async def test_sweep_deletes_old_orphans_and_keeps_the_rest(
    db: Database, store: S3BlobStore, s3: S3Env, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    await upload_job(db, store, settings, b"kept: its job lives")
    await drop_job(db, await upload_job(db, store, settings, b"orphan: its job was deleted"))
    young = store.write_chunks([b"young orphan: its row may be on the way"]).key
    s3.put("blobs/notes.txt", b"not in the blob layout")
    s3.put("elsewhere/" + "ab" * 32, b"outside the prefix")
    stored = s3.keys()  # a list (S3Env's), not a dict's keys
    for key in stored:
        if key.startswith("blobs/") and not key.endswith(young):
            _age(s3, key)
    _age(s3, "blobs/notes.txt")
    _age(s3, "elsewhere/" + "ab" * 32)

    dry = await sweep_blobs(db, store, grace=DAY, dry_run=True)
    assert (dry.listed, dry.referenced, dry.deleted) == (2, 1, 1)
    assert len(s3.keys()) == 5

    report = await sweep_blobs(db, store, grace=DAY)
    assert (report.listed, report.referenced, report.reused, report.deleted) == (2, 1, 0, 1)
    assert report.bytes_freed == len(b"orphan: its job was deleted")
    orphan = hashlib.sha256(b"orphan: its job was deleted").hexdigest()
    left = set(s3.keys())
    assert store.object_key(orphan) not in left
    assert store.object_key(young) in left
    assert {"blobs/notes.txt", "elsewhere/" + "ab" * 32} <= left
    assert (await sweep_blobs(db, store, grace=DAY)).deleted == 0  # idempotent


async def test_listing_pages_through_the_bucket(
    db: Database, store: S3BlobStore, s3: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [store.write_chunks([f"orphan {i}".encode()]).key for i in range(12)]
    for key in keys:
        _age(s3, store.object_key(key))
    paginator = store._client.get_paginator("list_objects_v2")
    real_paginate = paginator.paginate
    pages: list[int] = []

    def small_pages(**kwargs: Any) -> Iterator[Any]:
        for page in real_paginate(**kwargs, PaginationConfig={"PageSize": 5}):
            pages.append(page["KeyCount"])
            yield page

    monkeypatch.setattr(paginator, "paginate", small_pages)
    monkeypatch.setattr(store._client, "get_paginator", lambda _name: paginator)
    report = await sweep_blobs(db, store, grace=DAY, batch=4)
    assert pages == [5, 5, 2]
    assert (report.listed, report.deleted) == (12, 12)
    assert s3.keys() == []


async def test_a_reused_old_object_is_refreshed_and_kept(
    db: Database, store: S3BlobStore, s3: S3Env
) -> None:
    """The same bytes written again (an upload whose file row is not committed yet) make an
    old orphan young again: a server-side self-copy, so the sweep leaves it alone."""
    body = b"an orphan, then the same bytes uploaded again"
    key = store.write_chunks([body]).key
    _age(s3, store.object_key(key))
    assert store.write_chunks([body]).key == key
    assert time.time() - _modified(s3, store.object_key(key)) < 120
    head = s3.client.head_object(Bucket=s3.bucket, Key=store.object_key(key))
    assert "ingestd-reused-at" in head["Metadata"]
    report = await sweep_blobs(db, store, grace=DAY)
    assert (report.listed, report.deleted) == (0, 0)
    assert store.exists(key)


async def test_a_recent_object_is_reused_without_a_copy(store: S3BlobStore, s3: S3Env) -> None:
    """Younger than ``refresh_after`` (an hour): a dedup hit costs one HEAD, no copy."""
    body = b"uploaded twice within the hour"
    key = store.write_chunks([body]).key
    _age(s3, store.object_key(key), 600)
    before = _modified(s3, store.object_key(key))
    store.write_chunks([body])
    assert _modified(s3, store.object_key(key)) == before
    head = s3.client.head_object(Bucket=s3.bucket, Key=store.object_key(key))
    assert "ingestd-reused-at" not in head["Metadata"]


async def test_delete_stale_rechecks_the_age(store: S3BlobStore, s3: S3Env) -> None:
    body = b"listed as old, refreshed before the delete"
    key = store.write_chunks([body]).key
    _age(s3, store.object_key(key))
    cutoff = time.time() - DAY
    assert [b.key for b in store.iter_blobs(cutoff)] == [key]
    store.write_chunks([body])  # the reuse lands between the listing and the delete
    assert store.delete_stale(key, cutoff) is None
    assert store.exists(key)
    _age(s3, store.object_key(key))
    assert store.delete_stale(key, cutoff) == len(body)
    assert store.delete_stale(key, cutoff) is None  # gone already: another sweeper
    assert s3.keys() == []


async def test_the_grace_period_must_outlast_the_reuse_refresh(
    db: Database, store: S3BlobStore
) -> None:
    with pytest.raises(ValueError, match=r"at least 7200 s for s3://"):
        await sweep_blobs(db, store, grace=3600)
