"""Records every mutating /api/v1 call — who, tenant, action, target, when, from where, the
answer — after the response is sent, so auditing never slows or fails the call itself. The rows
are written in batches by the process's :class:`~ingestd.services.audit.AuditWriter` (see there
for what is guaranteed)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestd.services.audit import AuditWriter

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditMiddleware:
    """Hands every mutating /api/v1 call to the process's audit writer once it is answered."""

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
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        app = scope.get("app")
        writer: AuditWriter | None = getattr(getattr(app, "state", None), "audit_writer", None)
        if writer is None:  # the app is not started (its lifecycle owns the writer)
            return
        await writer.add(_entry(scope, status))


def _entry(scope: Scope, status: int) -> dict[str, Any]:
    state: dict[str, Any] = scope.get("state", {})
    principal = state.get("principal")
    route = scope.get("route")
    return {
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
