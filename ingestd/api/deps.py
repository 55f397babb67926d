"""Dependencies: the store, the caller, and the role checks — in one place, not in handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ingestd.api.ratelimit import RateLimits
from ingestd.blobs.base import BlobStore
from ingestd.config import Settings
from ingestd.domain.auth import Principal
from ingestd.observe.logs import bound
from ingestd.services.keys import KeyAuthenticator
from ingestd.store.db import Database

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


def get_db(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_blobs(request: Request) -> BlobStore:
    return request.app.state.blobs  # type: ignore[no-any-return]


async def get_principal(
    request: Request,
    response: Response,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller, from its key; every authenticated request is also counted against its limits."""
    auth: KeyAuthenticator = request.app.state.auth
    principal = await auth.authenticate(bearer.credentials if bearer else header)
    request.state.principal = principal  # for the audit log
    bound(tenant=principal.tenant)  # on every log line of this request (observe/logs.py)
    limits: RateLimits = request.app.state.rate_limits
    response.headers.update(await limits.check(request, principal.key_id))
    return principal


async def get_writer(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_write()
    return principal


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_admin()
    return principal


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
Caller = Annotated[Principal, Depends(get_principal)]
Writer = Annotated[Principal, Depends(get_writer)]
Admin = Annotated[Principal, Depends(get_admin)]
