"""Usage per tenant, day and pipeline, as JSON or CSV."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ingestd.api.deps import Caller, DbDep
from ingestd.api.operations import Usage, UsageFormat
from ingestd.api.schemas import ERRORS
from ingestd.services import usage as usage_service
from ingestd.store.usage import day_of

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=ERRORS)

CSV = "text/csv"


@router.get(
    "/usage",
    response_model=Usage,
    summary="Usage per tenant and day: jobs, files, bytes, pages, chunks, vectors, CPU",
    description="Counters kept as work happens, summed over UTC days `from`..`to` (both "
    "included; the last 30 days by default) per `group_by` (`day`, `tenant`, `pipeline`, or "
    "several joined by commas). Admins see every tenant, other keys their own. "
    "`format=csv` (or `Accept: text/csv`) answers CSV with a header line.",
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
)
async def usage(
    request: Request,
    db: DbDep,
    caller: Caller,
    from_: Annotated[
        str | None, Query(alias="from", description="first day: 2026-12-01 or RFC 3339")
    ] = None,
    to: Annotated[str | None, Query(description="last day (included)")] = None,
    group_by: Annotated[str, Query(description="day | tenant | pipeline, comma-joined")] = "day",
    format: Annotated[UsageFormat | None, Query(description="json (default) or csv")] = None,
) -> Any:
    groups = usage_service.parse_groups(group_by)
    today = usage_service.parse_day(day_of(time.time()), "today")
    assert today is not None
    first, last = usage_service.day_range(
        usage_service.parse_day(from_, "from"), usage_service.parse_day(to, "to"), today=today
    )
    items = await usage_service.usage_report(db, caller, first=first, last=last, group_by=groups)
    wants_csv = format == "csv" or (format is None and CSV in request.headers.get("accept", ""))
    if wants_csv:
        name = f"usage-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            usage_service.as_csv(items, groups),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {"items": items, "from": first.isoformat(), "to": last.isoformat(), "group_by": groups}
