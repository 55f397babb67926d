"""Acting on many files at once: retry every file that matches a filter."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ingestd.api.deps import DbDep, Writer
from ingestd.api.operations import BulkRetry, BulkRetryResult
from ingestd.api.schemas import ERRORS
from ingestd.services import failures

router = APIRouter(prefix="/api/v1/files", tags=["files"], responses=ERRORS)


@router.post(
    "/actions/retry",
    response_model=BulkRetryResult,
    summary="Retry every file that matches a filter (or count them: dry_run)",
    description="Queues again every failed file (or `status: cancelled`) of the caller's jobs "
    "(every tenant's, for admins) that matches the filter: `error_code`, `job_id`, `mime_type`, "
    "`source_type`. A job that had ended runs again. `dry_run: true` only counts. Needs a "
    "member or admin key, like every action (viewers see the same counts in GET /api/v1/errors).",
)
async def retry_matching(body: BulkRetry, db: DbDep, caller: Writer) -> Any:
    wanted = failures.file_filter(**body.filter.model_dump())
    result = await failures.retry_matching(db, caller, wanted, dry_run=body.dry_run)
    return {**result, "dry_run": body.dry_run}
