"""Progress math: counts and bytes into percentages, throughput and ETA.

What the numbers mean (the API documents the same on ``Progress``):

- A file's work is **done** once it has an outcome: ``completed``, ``failed``, ``skipped`` or
  ``needs_mapping`` (processed; a table waits for a template mapping: docs/templates.md).
  A ``cancelled`` file has none: it is counted in ``total`` and shown as ``cancelled``, never as
  done. So a job cancelled half-way shows about 50 %, not a full bar, and running it again
  (retry with ``failed_only: false``) moves on from there.
- ``files.percent`` is done files of all files; ``bytes.percent`` is the bytes of done files
  (``bytes.completed``) of all bytes. ``percent`` is the byte one when sizes are known, else the
  file one.
- ``throughput_bytes_per_s`` and ``files_per_s`` count done files only, over the last minute
  while the job runs (the recent rate, not the average since the start) and over the whole run
  once it has stopped: the same bytes the bar counts.
- ``eta_seconds`` is ``0`` when nothing is left, ``null`` until there is evidence — at least
  ``MIN_FILES_FOR_ETA`` files done or ``MIN_BYTES_SHARE_FOR_ETA`` of the bytes, and
  ``MIN_SECONDS_FOR_ETA`` since the job started — and otherwise what is left (bytes when sizes are
  known, else files) at the recent rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FILE_STATES = (
    "queued",
    "running",
    "completed",
    "failed",
    "skipped",
    "cancelled",
    "needs_mapping",
)
# Files whose work has an outcome; ``needs_mapping`` was processed and waits for a person
# (docs/templates.md): its bytes are done, and an approved mapping re-runs it.
DONE = ("completed", "failed", "skipped", "needs_mapping")
ENDED = (*DONE, "cancelled")  # files that will not run again unless retried

MIN_FILES_FOR_ETA = 3
MIN_BYTES_SHARE_FOR_ETA = 0.05
MIN_SECONDS_FOR_ETA = 2.0


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def counts_progress(counters: Mapping[str, int], *, cancelled_bytes: int = 0) -> dict[str, Any]:
    """``{"files": {...}, "bytes": {...}}`` from counters named ``n_<state>``, ``bytes_total`` and
    ``bytes_done`` (the bytes of every ended file, cancelled ones included: the store's counter),
    and the bytes of the cancelled files."""
    files = {state: int(counters.get(f"n_{state}", 0)) for state in FILE_STATES}
    total = sum(files.values())
    done = sum(files[s] for s in DONE)
    bytes_total = int(counters.get("bytes_total", 0))
    cancelled = min(max(cancelled_bytes, 0), int(counters.get("bytes_done", 0)))
    bytes_done = max(int(counters.get("bytes_done", 0)) - cancelled, 0)
    return {
        "files": {"total": total, **files, "percent": _percent(done, total)},
        "bytes": {
            "total": bytes_total,
            "completed": bytes_done,
            "cancelled": cancelled,
            "percent": _percent(bytes_done, bytes_total),
        },
    }


def sum_counters(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    keys = [f"n_{s}" for s in FILE_STATES] + ["bytes_total", "bytes_done"]
    totals = dict.fromkeys(keys, 0)
    for row in rows:
        for key in keys:
            totals[key] += int(row.get(key) or 0)
    return totals


def job_progress(
    counters: Mapping[str, int],
    *,
    window_bytes: int,
    window_files: int,
    window_seconds: float,
    elapsed_seconds: float | None = None,
    cancelled_bytes: int = 0,
) -> dict[str, Any]:
    """The Job ``progress`` object. ``window_*`` are the done files and their bytes over the recent
    window (or the whole run of a stopped job) and its length; ``elapsed_seconds`` is how long the
    job has run (None: unknown, so no ETA)."""
    progress = counts_progress(counters, cancelled_bytes=cancelled_bytes)
    files, sizes = progress["files"], progress["bytes"]
    percent = sizes["percent"] if sizes["total"] else files["percent"]
    throughput = window_bytes / window_seconds if window_seconds > 0 else 0.0
    files_rate = window_files / window_seconds if window_seconds > 0 else 0.0
    return {
        **progress,
        "percent": percent,
        "throughput_bytes_per_s": round(throughput, 1),
        "files_per_s": round(files_rate, 2),
        "eta_seconds": _eta(
            counters, files, sizes, throughput, files_rate, elapsed_seconds=elapsed_seconds
        ),
    }


def _eta(
    counters: Mapping[str, int],
    files: Mapping[str, int],
    sizes: Mapping[str, int],
    throughput: float,
    files_rate: float,
    *,
    elapsed_seconds: float | None,
) -> int | None:
    remaining_files = files["queued"] + files["running"]
    if remaining_files == 0:
        return 0 if files["total"] else None
    if not has_evidence(files, sizes, elapsed_seconds):
        return None
    if throughput > 0 and sizes["total"]:
        # what is left: the bytes of the files not ended yet (cancelled ones never run)
        left = max(int(counters.get("bytes_total", 0)) - int(counters.get("bytes_done", 0)), 0)
        return round(left / throughput)
    if files_rate > 0:
        return round(remaining_files / files_rate)
    return None


def has_evidence(
    files: Mapping[str, int], sizes: Mapping[str, int], elapsed_seconds: float | None
) -> bool:
    """Enough done, for long enough, that a rate means something."""
    if elapsed_seconds is None or elapsed_seconds < MIN_SECONDS_FOR_ETA:
        return False
    done = sum(files[s] for s in DONE)
    share = sizes["completed"] / sizes["total"] if sizes["total"] else 0.0
    return done >= MIN_FILES_FOR_ETA or share >= MIN_BYTES_SHARE_FOR_ETA


__all__ = [
    "DONE",
    "ENDED",
    "FILE_STATES",
    "MIN_BYTES_SHARE_FOR_ETA",
    "MIN_FILES_FOR_ETA",
    "MIN_SECONDS_FOR_ETA",
    "counts_progress",
    "has_evidence",
    "job_progress",
    "sum_counters",
]
