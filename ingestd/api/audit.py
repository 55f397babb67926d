"""Records every mutating /api/v1 call — who, tenant, action, target, when, from where, the
answer — after the response is sent, so auditing never slows or fails the call itself."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestd.store.audit import record

log = logging.getLogger("ingestd.audit")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or scope.get("method") not in MUTATING
            or not path.startswith("/api/v1")
        ):
            await self.app(scope, receive, send)
            return
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            await _write(scope, status)


async def _write(scope: Scope, status: int) -> None:
    state: dict[str, Any] = scope.get("state", {})
    principal = state.get("principal")
    route = scope.get("route")
    entry = {
        "at": time.time(),
        "key_id": getattr(principal, "key_id", None),
        "tenant": getattr(principal, "tenant", None),
        "role": getattr(getattr(principal, "role", None), "value", None),
        "action": f"{scope['method']} {getattr(route, 'path', scope['path'])}"[:200],
        "target": {k: str(v) for k, v in (scope.get("path_params") or {}).items()},
        "status": status,
        "client": (scope.get("client") or ("", 0))[0][:100] or None,
        "request_id": state.get("request_id"),
    }
    app = scope.get("app")
    db = getattr(getattr(app, "state", None), "db", None)
    if db is None:
        return
    try:
        async with db.write() as conn:
            await record(conn, entry)
    except Exception:  # the call already happened; losing its audit line must not hide that
        log.exception("could not write an audit entry for %s", entry["action"])
