"""Webhooks: a tenant's event subscriptions (signed per Standard Webhooks), their deliveries, and
the tenant secret that signs deliveries to a job's ``webhook_url``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from ingestd.api.deps import Admin, Caller, DbDep, SettingsDep, Writer
from ingestd.api.schemas import ERRORS, Page, Strict
from ingestd.domain.errors import NotFound
from ingestd.domain.events import EventType
from ingestd.domain.times import rfc3339
from ingestd.store import webhook_outbox as outbox
from ingestd.store import webhooks as webhook_store
from ingestd.webhooks import safety, signing

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERRORS)

EVENT_TYPES = frozenset(EventType)  # what a webhook may subscribe to: every type


class WebhookCreate(Strict):
    url: str = Field(min_length=1, max_length=2000, description="http:// or https://")
    events: list[str] = Field(min_length=1, max_length=50, description='event types, or ["*"]')
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="whsec_…; generated if omitted"
    )

    @field_validator("events")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted({v for v in value if v != "*" and v not in EVENT_TYPES})
        if unknown:
            allowed = ", ".join(["*", *sorted(EVENT_TYPES)])
            raise ValueError(f"unknown event types: {', '.join(unknown)}; allowed: {allowed}")
        return list(dict.fromkeys(value))


class Webhook(BaseModel):
    id: str
    tenant: str
    url: str
    events: list[str]
    enabled: bool
    consecutive_failures: int
    created_at: str


class WebhookCreated(Webhook):
    secret: str = Field(description="shown once: verify signatures with it")


class TenantSecret(BaseModel):
    tenant: str
    secret: str = Field(description="whsec_…: verifies the signature of job webhook_url deliveries")
    created_at: str


class Delivery(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None
    latency_ms: int | None
    error: str | None
    next_attempt_at: str | None
    delivered: bool
    created_at: str


def _view(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "secret"}
    out["created_at"] = rfc3339(row["created_at"])
    return out


def _invalidate(request: Request, tenant: str) -> None:
    dispatcher = getattr(request.app.state, "webhooks", None)
    if dispatcher is not None:
        dispatcher.invalidate(tenant)


@router.post("", status_code=201, response_model=WebhookCreated, summary="Subscribe a URL")
async def create(
    body: WebhookCreate, db: DbDep, caller: Writer, settings: SettingsDep, request: Request
) -> Any:
    safety.refuse_unsafe_url(body.url, settings.webhooks, field="url")
    secret = body.secret or signing.new_secret()
    async with db.write() as conn:
        row = await webhook_store.create_webhook(
            conn, tenant=caller.tenant, url=body.url, events=body.events, secret=secret
        )
    _invalidate(request, caller.tenant)
    return {**_view(row), "secret": secret}


@router.get("", response_model=Page[Webhook], summary="The tenant's webhooks")
async def list_(db: DbDep, caller: Caller) -> Any:
    async with db.read() as conn:
        rows = await webhook_store.list_webhooks(conn, tenant=caller.scope)
    return {"items": [_view(r) for r in rows], "next": None}


@router.get(
    "/secret",
    response_model=TenantSecret,
    summary="The secret that signs a job's webhook_url deliveries (admin)",
    description=(
        "A job created with `webhook_url` gets its terminal event (`job.completed`, `job.failed` "
        "or `job.cancelled`) at that URL, signed per Standard Webhooks like any webhook "
        "delivery, with this per-tenant secret (made on first use). Verify with any Standard "
        "Webhooks library: `Webhook(secret).verify(body, headers)`. Admin keys only; `tenant` "
        "picks another tenant than the key's own."
    ),
)
async def tenant_secret(
    db: DbDep,
    caller: Admin,
    tenant: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="default: the key's tenant"),
    ] = None,
) -> Any:
    async with db.write() as conn:
        row = await outbox.tenant_secret(
            conn, tenant or caller.tenant, candidate=signing.new_secret()
        )
    return {**row, "created_at": rfc3339(row["created_at"])}


@router.delete("/{webhook_id}", status_code=204, summary="Unsubscribe (deliveries go too)")
async def delete(webhook_id: str, db: DbDep, caller: Writer, request: Request) -> Response:
    async with db.write() as conn:
        row = await webhook_store.get_webhook(conn, webhook_id, tenant=caller.scope)
        if row is None or not await webhook_store.delete_webhook(conn, webhook_id, tenant=None):
            raise NotFound(f"no webhook {webhook_id}")
    _invalidate(request, str(row["tenant"]))
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[Delivery],
    summary="Delivery attempts, newest first",
)
async def deliveries(
    webhook_id: str,
    db: DbDep,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
) -> Any:
    async with db.read() as conn:
        if await webhook_store.get_webhook(conn, webhook_id, tenant=caller.scope) is None:
            raise NotFound(f"no webhook {webhook_id}")
        rows = await webhook_store.list_deliveries(
            conn, webhook_id, before_id=after, limit=limit + 1
        )
    items = [
        {
            **r,
            "created_at": rfc3339(r["created_at"]),
            "next_attempt_at": rfc3339(r["next_attempt_at"]) if r["next_attempt_at"] else None,
        }
        for r in rows[:limit]
    ]
    return {"items": items, "next": rows[limit - 1]["id"] if len(rows) > limit else None}
