"""Metrics across the processes of one ``ingestd serve``: prometheus_client's multiprocess mode.

``ingestd serve`` runs its API in one process and its workers in a child (and parsers in
grandchildren, which record nothing: the worker measures their work). Each process writes its
counters and histograms to memory-mapped files in one directory (``PROMETHEUS_MULTIPROC_DIR``),
and ``/metrics`` sums them (``MultiProcessCollector``). The variable must be set before
prometheus_client is imported, so ``serve`` calls :func:`prepare` first thing; children inherit it.

Without the variable (``ingestd worker`` with ``--metrics-port``, tests in one process) every
metric lives in the process's own registry.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(data_dir: Path) -> Path:
    """Use ``data_dir/metrics`` (emptied: counters restart with the server) unless the
    operator set ``PROMETHEUS_MULTIPROC_DIR`` already. Returns the directory."""
    given = os.environ.get(ENV)
    where = Path(given) if given else data_dir / "metrics"
    if not given:
        shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(where)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported already: metric children made from now on use the files
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return where


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def process_exited(pid: int | None) -> None:
    """Forget a dead process's live gauges (files in flight, open connections)."""
    if pid is None or not enabled():
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def leave() -> None:
    """For a process that must not write metric files (parser children, recycled often)."""
    os.environ.pop(ENV, None)
