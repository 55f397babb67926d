"""The audit log (admin): every mutating call, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from ingestd.api.deps import Admin, DbDep
from ingestd.api.schemas import ERRORS, Page
from ingestd.domain.times import rfc3339
from ingestd.services.audit import flush_audit
from ingestd.store.audit import list_entries

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)


class AuditEntry(BaseModel):
    seq: int
    at: str
    key_id: str | None
    tenant: str | None
    role: str | None
    action: str
    target: dict[str, str]
    status: int
    client: str | None
    request_id: str | None


@router.get("", response_model=Page[AuditEntry], summary="Who changed what, newest first")
async def audit(
    request: Request,
    db: DbDep,
    caller: Admin,
    tenant: Annotated[str | None, Query(description="only this tenant's calls")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
) -> Any:
    before = int(after) if after and after.isdigit() else None
    await flush_audit(
        request.app.state.audit_writer
    )  # the calls this process answered, written in batches
    async with db.read() as conn:
        rows = await list_entries(conn, tenant=tenant, before_seq=before, limit=limit + 1)
    items = [{**r, "at": rfc3339(r["at"])} for r in rows[:limit]]
    return {"items": items, "next": str(rows[limit - 1]["seq"]) if len(rows) > limit else None}
