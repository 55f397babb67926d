"""Where a job's time went (``GET /api/v1/jobs/{id}/timings``): wall and CPU per step, summed
as files completed (``store/timings.py``); how long its files waited to be claimed; its slowest
files, each with its own steps."""

from __future__ import annotations

from typing import Any

from ingestd.domain.auth import Principal
from ingestd.domain.timings import TIMED_STEPS
from ingestd.services.jobs import get_job_row
from ingestd.store import timings as timing_store
from ingestd.store.db import Database

SLOWEST = 10


def _step_order(step: str) -> int:
    return TIMED_STEPS.index(step) if step in TIMED_STEPS else len(TIMED_STEPS)


async def job_timings(
    db: Database, principal: Principal, job_id: str, *, slowest: int = SLOWEST
) -> dict[str, Any]:
    async with db.read() as conn:
        job = await get_job_row(conn, principal, job_id)
        steps = await timing_store.job_steps(conn, job_id)
        wait = await timing_store.queue_wait(conn, job_id)
        files = await timing_store.slowest_files(conn, job_id, slowest)
    wall_total = sum(int(s["wall_ms"]) for s in steps)
    return {
        "job_id": job["id"],
        "steps": {
            s["step"]: {
                "wall_ms": int(s["wall_ms"]),
                "cpu_ms": int(s["cpu_ms"]),
                "files": int(s["files"]),
                "mean_wall_ms": round(int(s["wall_ms"]) / max(1, int(s["files"])), 1),
                "max_wall_ms": int(s["max_wall_ms"]),
                "share": round(int(s["wall_ms"]) / wall_total, 4) if wall_total else 0.0,
            }
            for s in sorted(steps, key=lambda s: _step_order(s["step"]))
        },
        "queue_wait_ms": wait["mean_ms"],
        "queue_wait": wait,
        "slowest": [
            {
                "file_id": f["file_id"],
                "path": f["path"],
                "size": int(f["size"]),
                "mime_type": f["mime_type"],
                "duration_ms": int(f["duration_ms"]),
                "steps": {
                    step: {"wall_ms": round(wall), "cpu_ms": round(cpu)}
                    for step, (wall, cpu) in sorted(
                        (f["steps"] or {}).items(), key=lambda item: _step_order(item[0])
                    )
                },
            }
            for f in files
        ],
    }
