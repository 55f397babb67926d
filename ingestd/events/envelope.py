"""The event envelope, the same on every channel, serialised once per event (not per subscriber)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import orjson

from ingestd.domain.events import SUMMARY_EVENTS, TERMINAL_JOB_EVENTS, EventType
from ingestd.domain.times import rfc3339


@dataclass(slots=True, frozen=True)
class LiveEvent:
    seq: int
    tenant: str
    job_id: str | None
    type: str
    text: str  # the JSON envelope
    # The envelope as one WebSocket text frame (server to client: unmasked, no extension), so
    # a live event is framed once, not once per subscriber (see events/stream.py, deliver).
    frame: bytes
    # For a subscriber that lags (events/pending.py): the key under which this event, while
    # still pending, is superseded by a later one (``file:<id>`` for ``file.progress``,
    # ``job:<id>`` for a ``job.updated`` that carries progress), and the key of the pending
    # event this one supersedes (any later event of the same file; a newer progress update
    # of the same job). None: never collapsed / supersedes nothing.
    coalesce: str | None = None
    supersedes: str | None = None
    summary: bool = False  # delivered to ``detail=summary`` subscriptions

    @property
    def progress_only(self) -> bool:
        """A job's progress report (no state change): what summary streams coalesce."""
        return self.coalesce is not None and self.coalesce.startswith("job:")

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_JOB_EVENTS

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LiveEvent:
        body = orjson.dumps(envelope(row))
        coalesce, supersedes = coalescing_keys(row)
        return cls(
            seq=int(row["seq"]),
            tenant=row["tenant"],
            job_id=row["job_id"],
            type=row["type"],
            text=body.decode(),
            frame=text_frame(body),
            coalesce=coalesce,
            supersedes=supersedes,
            summary=row["type"] in SUMMARY_EVENTS,
        )


def coalescing_keys(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(coalesce, supersedes)`` for an event row (see :class:`LiveEvent`).

    >>> coalescing_keys({"type": "file.progress", "file_id": "f1", "job_id": "j", "data": {}})
    ('file:f1', 'file:f1')
    >>> coalescing_keys({"type": "file.completed", "file_id": "f1", "job_id": "j", "data": {}})
    (None, 'file:f1')
    >>> coalescing_keys({"type": "job.updated", "file_id": None, "job_id": "j",
    ...                  "data": {"status": "paused", "action": "pause"}})
    (None, None)
    """
    kind, file_id, job_id = row["type"], row["file_id"], row["job_id"]
    if kind == EventType.FILE_PROGRESS and file_id is not None:
        return f"file:{file_id}", f"file:{file_id}"
    if file_id is not None:
        return None, f"file:{file_id}"
    data = row["data"] or {}
    if kind == EventType.JOB_UPDATED and job_id and "progress" in data and "action" not in data:
        return f"job:{job_id}", f"job:{job_id}"
    return None, None


def batch_text(events: list[LiveEvent] | tuple[LiveEvent, ...]) -> str:
    """Several envelopes as one JSON array (a batched frame's payload)."""
    return "[" + ",".join(event.text for event in events) + "]"


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked WebSocket text frame (RFC 6455 section 5.2) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def envelope(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "seq": int(row["seq"]),
        "type": row["type"],
        "job_id": row["job_id"],
        "file_id": row["file_id"],
        "at": rfc3339(row["at"]),
        "data": row["data"] or {},
    }
