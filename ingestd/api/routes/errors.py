"""Error analysis: failed files grouped by code, type, source type and extractor."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ingestd.api.deps import Caller, DbDep
from ingestd.api.operations import Errors
from ingestd.api.schemas import ERRORS
from ingestd.services import failures

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=ERRORS)


@router.get(
    "/errors",
    response_model=Errors,
    summary="Failed files by error code, type, source type and extractor, in time buckets",
    description="Files that failed for good since `since` (an RFC 3339 time or a duration back "
    "from now such as `24h`; 24 hours by default), grouped by `code`, `mime_type`, "
    "`source_type` and `extractor`, most frequent first. Each group counts its failures per "
    "`bucket` (`1h` by default: `30s`, `5m`, `1d`…), names the jobs it hit and shows one "
    "example file with its message. Retry a group with `POST /api/v1/files/actions/retry`.",
)
async def errors(
    db: DbDep,
    caller: Caller,
    since: Annotated[str | None, Query(description="RFC 3339 time or a duration (24h)")] = None,
    bucket: Annotated[str, Query(description="bucket length: 30s, 5m, 1h, 1d")] = "1h",
) -> Any:
    start = failures.parse_since(since, now=time.time())
    seconds = failures.parse_duration(bucket, "bucket", maximum=failures.MAX_BUCKET_SECONDS)
    return await failures.error_report(db, caller, since=start, bucket_seconds=seconds)
