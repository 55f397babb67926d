"""API keys (admin): create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ingestd.api.deps import Admin, DbDep
from ingestd.api.schemas import ERRORS, KeyCreate, KeyCreated, KeyView, Page
from ingestd.domain.times import rfc3339
from ingestd.services import keys as key_service
from ingestd.store import keys as key_store

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=ERRORS)


def key_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "role": row["role"],
        "tenant": row["tenant"],
        "prefix": row["prefix"],
        "created_at": rfc3339(row["created_at"]),
        "last_used_at": rfc3339(row.get("last_used_at")),
    }


@router.post("", status_code=201, response_model=KeyCreated, summary="Create a key")
async def create_key(body: KeyCreate, db: DbDep, caller: Admin) -> Any:
    row, plain = await key_service.create_key(
        db, name=body.name, role=body.role, tenant=body.tenant
    )
    return {**key_view(row), "key": plain}


@router.get("", response_model=Page[KeyView], summary="List keys")
async def list_keys(db: DbDep, caller: Admin) -> Any:
    async with db.read() as conn:
        rows = await key_store.list_keys(conn, caller.scope)
    return {"items": [key_view(r) for r in rows], "next": None}


@router.delete("/{key_id}", status_code=204, response_class=Response, summary="Revoke a key")
async def revoke_key(key_id: str, request: Request, db: DbDep, caller: Admin) -> Response:
    await key_service.revoke(db, caller, key_id)
    request.app.state.auth.forget()
    return Response(status_code=204)
