"""The worker registry: who is working, from which host and process, and who went silent.

Each worker process has a row (id, host, pid, started_at, last_seen, running; statements in
``store/workers.py``). Its heartbeat renews ``last_seen`` in the same transaction that renews its
leases. A worker not seen for ``gone_after`` seconds is shown ``gone`` and the rescuer returns its
files to the queue at once; a row not seen for ``FORGET_AFTER_SECONDS`` is deleted, so the table
stays small however many workers come and go.
"""

from __future__ import annotations

from typing import Any

FORGET_AFTER_SECONDS = 24 * 3600  # a stopped or gone worker stays listed for a day


def gone_after(*, heartbeat_seconds: float, lease_seconds: float) -> float:
    """Seconds of silence after which a worker is gone: three missed heartbeats, and never less
    than a lease, so a worker that merely missed a few beats does not lose files it still holds."""
    return max(3 * heartbeat_seconds, lease_seconds)


def status_of(row: dict[str, Any], *, gone_before: float) -> str:
    """``active``, ``stopped`` (it said goodbye) or ``gone`` (it went silent)."""
    if row["stopped_at"] is not None:
        return "stopped"
    return "gone" if row["last_seen"] < gone_before else "active"
