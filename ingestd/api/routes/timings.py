"""Where a job's time went: per step, queue wait, slowest files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ingestd.api.deps import Caller, DbDep
from ingestd.api.operations import Timings
from ingestd.api.schemas import ERRORS
from ingestd.services.timings import job_timings

router = APIRouter(prefix="/api/v1/jobs", tags=["operations"], responses=ERRORS)


@router.get(
    "/{job_id}/timings",
    response_model=Timings,
    summary="Where a job's time went: wall and CPU per step, queue wait, slowest files",
    description="Per step, the wall and CPU milliseconds of the job's completed files (CPU of "
    "parsing, chunking and embedding is measured in the parser process); the wait from queued "
    "to first claim; the slowest files with their own steps.",
)
async def timings(
    job_id: str,
    db: DbDep,
    caller: Caller,
    slowest: Annotated[int, Query(ge=0, le=100, description="how many slowest files")] = 10,
) -> Any:
    return await job_timings(db, caller, job_id, slowest=slowest)
