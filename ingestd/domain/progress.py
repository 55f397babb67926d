"""Progress math: counts and bytes into percentages, throughput and ETA."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FILE_STATES = ("queued", "running", "completed", "failed", "skipped", "cancelled")
ENDED = ("completed", "failed", "skipped", "cancelled")


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def counts_progress(counters: Mapping[str, int]) -> dict[str, Any]:
    """``{"files": {...}, "bytes": {...}}`` from counters named ``n_<state>``, ``bytes_total``, ``bytes_done``."""
    files = {state: int(counters.get(f"n_{state}", 0)) for state in FILE_STATES}
    total = sum(files.values())
    ended = sum(files[s] for s in ENDED)
    bytes_total = int(counters.get("bytes_total", 0))
    bytes_done = int(counters.get("bytes_done", 0))
    return {
        "files": {"total": total, **files, "percent": _percent(ended, total)},
        "bytes": {
            "total": bytes_total,
            "completed": bytes_done,
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
    counters: Mapping[str, int], *, window_bytes: int, window_files: int, window_seconds: float
) -> dict[str, Any]:
    """The Job ``progress`` object. Throughput is bytes (and files) ended over a recent window;
    the ETA extrapolates it to what remains, by bytes when sizes are known, else by files."""
    progress = counts_progress(counters)
    files, sizes = progress["files"], progress["bytes"]
    percent = sizes["percent"] if sizes["total"] else files["percent"]
    throughput = window_bytes / window_seconds if window_seconds > 0 else 0.0
    files_rate = window_files / window_seconds if window_seconds > 0 else 0.0
    remaining_files = files["queued"] + files["running"]
    eta: int | None = None
    if remaining_files == 0:
        eta = 0 if files["total"] else None
    elif throughput > 0 and sizes["total"]:
        eta = round(max(sizes["total"] - sizes["completed"], 0) / throughput)
    elif files_rate > 0:
        eta = round(remaining_files / files_rate)
    return {
        **progress,
        "percent": percent,
        "throughput_bytes_per_s": round(throughput, 1),
        "files_per_s": round(files_rate, 2),
        "eta_seconds": eta,
    }
