"""services/blob_gc.py as the lifecycle runs it (the sweep itself: tests/blobs/test_gc.py)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.services.blob_gc import BlobCollector
from ingestd.store.db import Database
from tests.blobs.gcdata import age_local
from tests.eventually import eventually


async def test_the_collector_sweeps_soon_after_start(
    db: Database, blobs: LocalBlobStore, make_settings: Callable[..., Settings]
) -> None:
    key = blobs.write_file(io.BytesIO(b"named by nothing")).key
    assert key == hashlib.sha256(b"named by nothing").hexdigest()
    age_local(blobs, key)
    collector = BlobCollector(
        make_settings(blob_gc_seconds=0.01, blob_gc_grace_seconds=3600).storage, db, blobs
    )
    collector.first_delay = lambda: 0.0  # type: ignore[method-assign]
    await collector.start()
    try:
        await eventually(lambda: not blobs.exists(key), what="the orphan blob swept")
    finally:
        await collector.stop()
    assert not collector.running


async def test_zero_turns_the_collector_off(
    db: Database, blobs: LocalBlobStore, make_settings: Callable[..., Settings]
) -> None:
    collector = BlobCollector(make_settings(blob_gc_seconds=0).storage, db, blobs)
    await collector.start()
    assert not collector.running
    await collector.stop()
