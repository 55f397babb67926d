"""The event envelope, the same on every channel, serialised once per event (not per subscriber)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ingestd.services.views import rfc3339

# A per-job stream ends after one of these: nothing else happens to the job unless retried.
TERMINAL_JOB_EVENTS = frozenset({"job.completed", "job.failed", "job.cancelled", "job.deleted"})


@dataclass(slots=True, frozen=True)
class LiveEvent:
    seq: int
    tenant: str
    job_id: str | None
    type: str
    text: str  # the JSON envelope

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_JOB_EVENTS

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LiveEvent:
        return cls(
            seq=int(row["seq"]),
            tenant=row["tenant"],
            job_id=row["job_id"],
            type=row["type"],
            text=orjson.dumps(envelope(row)).decode(),
        )


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
