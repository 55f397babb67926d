"""Blob garbage collection: mark and sweep with a grace period.

Blobs are shared by content across jobs and tenants, so deleting a job never deletes bytes.
Instead a sweep lists the blobs older than a grace period (a day by default), asks the database
which of them a file row (or an open tus upload) still names, and deletes the rest. It runs
every ``blob_gc_seconds`` in each API process (:class:`BlobCollector`) and on demand with
``ingestd gc``; several sweeps at once are harmless (a delete of a missing blob is a no-op).

Why the grace period, and what keeps a blob alive before its file row exists:

- A write stores the blob first and commits the row naming it afterwards (multipart and tus
  uploads, zip entries, the ``store`` pipeline). A new blob is young, so the sweep leaves it
  alone for the whole grace period: the row has a day to commit.
- A write that finds its blob already stored makes it young again (local: ``utime``; S3: a
  server-side self-copy, when older than the store's ``refresh_after``), so an orphan being
  reused gets a new grace period too.
- The sweep decides in this order: list (old) → reference check → the store's
  :meth:`~ingestd.blobs.base.BlobStore.delete_stale`, which checks the age again right at the
  delete. A reuse that began before the reference check shows up there as a young blob and is
  kept. On a local store the re-check comes after an atomic rename, so no window is left; on S3
  it is a HEAD just before the DELETE (see docs/storage.md).
- Unfinished tus uploads keep their bytes in ``<blob root>/uploads`` (never listed); one whose
  blob was adopted just before a crash is named by its ``uploads`` row until it is finished
  again or expires.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingestd.blobs.base import BlobStore, StoredBlob
from ingestd.config_parts import StorageSettings
from ingestd.lifecycle import PeriodicService, jittered
from ingestd.store.blobrefs import referenced_blob_keys
from ingestd.store.db import Database

BATCH = 500  # blobs per reference query (and per trip to a listing thread)
FIRST_SWEEP_AFTER = 300.0  # seconds after start (at most): restarts must not starve the sweep

log = logging.getLogger("ingestd.blobs.gc")


@dataclass
class SweepReport:
    """What one sweep found and did; in a dry run ``deleted`` and ``bytes_freed`` are what a
    real sweep would delete and free."""

    store: str
    grace: float  # seconds
    dry_run: bool
    listed: int = 0  # blobs older than the grace period
    referenced: int = 0  # kept: a file row or an open upload names them
    reused: int = 0  # kept: written or reused since they were listed (or already gone)
    deleted: int = 0
    bytes_freed: int = 0
    seconds: float = 0.0
    sample: list[StoredBlob] = field(default_factory=list)  # the first blobs deleted

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"blob gc of {self.store}: {verb} {self.deleted} blob(s), {human_bytes(self.bytes_freed)}; "
            f"kept {self.referenced} referenced and {self.reused} reused of {self.listed} older "
            f"than {self.grace:.0f} s, in {self.seconds:.1f} s"
        )


def min_grace(blobs: BlobStore) -> float:
    """The shortest safe grace period for ``blobs``: a reused blob younger than its
    ``refresh_after`` is not refreshed, so it must still have time left to be named."""
    return 2 * blobs.refresh_after


async def sweep_blobs(
    db: Database,
    blobs: BlobStore,
    *,
    grace: float,
    dry_run: bool = False,
    now: float | None = None,
    batch: int = BATCH,
    sample: int = 0,
) -> SweepReport:
    """Delete the blobs that nothing names and that are older than ``grace`` seconds (none in a
    dry run), and say what was found. ``ValueError`` when ``grace`` is too short for the store.
    """
    if grace < min_grace(blobs):
        raise ValueError(
            f"the grace period must be at least {min_grace(blobs):.0f} s for {blobs.describe()}, "
            f"not {grace:.0f} s (reused blobs younger than {blobs.refresh_after:.0f} s are not "
            "refreshed)"
        )
    started = time.monotonic()
    cutoff = (time.time() if now is None else now) - grace
    report = SweepReport(blobs.describe(), grace, dry_run)
    listing = blobs.iter_blobs(cutoff)
    while page := await asyncio.to_thread(_take, listing, batch):
        report.listed += len(page)
        async with db.read() as conn:
            named = await referenced_blob_keys(conn, [blob.key for blob in page])
        report.referenced += len(named)
        stale = [blob for blob in page if blob.key not in named]
        if dry_run:
            deleted = stale
        else:
            deleted = await asyncio.to_thread(_delete_stale, blobs, stale, cutoff)
            report.reused += len(stale) - len(deleted)
        report.deleted += len(deleted)
        report.bytes_freed += sum(blob.size for blob in deleted)
        report.sample.extend(deleted[: max(0, sample - len(report.sample))])
    report.seconds = time.monotonic() - started
    return report


def _take(listing: Iterator[StoredBlob], count: int) -> list[StoredBlob]:
    return list(itertools.islice(listing, count))


def _delete_stale(blobs: BlobStore, stale: list[StoredBlob], cutoff: float) -> list[StoredBlob]:
    """Delete each blob still older than ``cutoff``; the ones deleted, with their real sizes."""
    deleted = []
    for blob in stale:
        size = blobs.delete_stale(blob.key, cutoff)
        if size is not None:
            deleted.append(blob._replace(size=size))
    return deleted


class BlobCollector(PeriodicService):
    """The periodic sweep of an API process: every ``blob_gc_seconds`` (0 = never), with the
    grace period ``blob_gc_grace_seconds``; the first sweep comes soon after start, at a random
    moment so that API processes started together do not sweep together."""

    name = "blob-gc"
    logger = log

    def __init__(self, storage: StorageSettings, db: Database, blobs: BlobStore) -> None:
        super().__init__()
        self.every = storage.blob_gc_seconds
        self.grace = storage.blob_gc_grace_seconds
        self.db = db
        self.blobs = blobs

    async def start(self) -> None:
        if self.every <= 0:
            return
        if self.grace < min_grace(self.blobs):
            log.error(
                "blob gc is off: INGESTD_BLOB_GC_GRACE_SECONDS=%.0f is below the %.0f s that %s "
                "needs",
                self.grace,
                min_grace(self.blobs),
                self.blobs.describe(),
            )
            return
        await super().start()

    def first_delay(self) -> float:
        return jittered(min(self.every, FIRST_SWEEP_AFTER))

    async def tick(self) -> None:
        report = await sweep_blobs(self.db, self.blobs, grace=self.grace)
        log.info("%s", report.summary())


def human_bytes(size: int) -> str:
    """``1.5 MB`` (decimal units, as disks are sold)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


__all__ = ["BlobCollector", "SweepReport", "human_bytes", "min_grace", "sweep_blobs"]
