"""Timestamps as the API shows them."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(value: float | None) -> str | None:
    """Unix seconds → ``2026-01-02T03:04:05.678Z`` (UTC, milliseconds); None stays None."""
    if value is None:
        return None
    return (
        datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


__all__ = ["rfc3339"]
