"""Where the live metrics feed reads storage health from: a port, so the feed does not depend on
how health is measured (the storage monitor probes the database and the blob store in the
background; see docs/operations.md).

``snapshot()`` answers at once, from memory: per store (``database``, ``blobs``) a mapping with
``healthy`` (bool, or None while unknown), ``latency_ms``, ``average_latency_ms`` (the last 3),
``history_ms`` (the last 60), ``last_check`` and ``check_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

STORES = ("database", "blobs")


class StorageHealthSource(Protocol):
    def snapshot(self) -> Mapping[str, Mapping[str, Any]]: ...


class UnknownStorageHealth:
    """Health nobody measures (no monitor runs in this process): every store ``unknown``."""

    def snapshot(self) -> Mapping[str, Mapping[str, Any]]:
        return {
            store: {
                "status": "unknown",
                "healthy": None,
                "latency_ms": None,
                "average_latency_ms": None,
                "history_ms": [],
                "last_check": None,
                "check_count": 0,
            }
            for store in STORES
        }
