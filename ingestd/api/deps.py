"""Dependencies: the store, the caller, and the role checks — in one place, not in handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

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


async def authenticate(conn: HTTPConnection, token: str | None = None) -> Principal:
    """The caller of a REST request, a WebSocket or an SSE stream: the one way in.

    The key comes from ``Authorization: Bearer <key>``, else ``X-API-Key``, else ``token``
    (the ``?token=`` of event streams, for browsers that cannot send headers). Every
    authenticated connection is counted against the key's rate limits (a WebSocket or an SSE
    stream as one read when it opens). Raises ``AuthenticationError`` (401) or ``RateLimited``
    (429); the rate-limit headers are left on ``conn.state.rate_limit_headers``."""
    auth: KeyAuthenticator = conn.app.state.auth
    principal = await auth.authenticate(presented_key(conn) or token)
    conn.state.principal = principal  # for the audit log
    bound(tenant=principal.tenant)  # on every log line of this request (observe/logs.py)
    limits: RateLimits = conn.app.state.rate_limits
    conn.state.rate_limit_headers = await limits.check(conn, principal.key_id)
    return principal


def presented_key(conn: HTTPConnection) -> str | None:
    """The key in the request's headers (Bearer first, then X-API-Key); None without one."""
    scheme, _, credentials = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return conn.headers.get("x-api-key") or None


async def get_principal(
    request: Request,
    response: Response,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller, from its key, counted against its limits (see :func:`authenticate`)."""
    del bearer, header  # declared for the OpenAPI security schemes; read by authenticate()
    principal = await authenticate(request)
    response.headers.update(request.state.rate_limit_headers)
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
