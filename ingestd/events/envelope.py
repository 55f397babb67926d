"""The event envelope, the same on every channel, serialised once per event (not per subscriber)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import orjson

from ingestd.domain.events import TERMINAL_JOB_EVENTS
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

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_JOB_EVENTS

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LiveEvent:
        body = orjson.dumps(envelope(row))
        return cls(
            seq=int(row["seq"]),
            tenant=row["tenant"],
            job_id=row["job_id"],
            type=row["type"],
            text=body.decode(),
            frame=text_frame(body),
        )


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
