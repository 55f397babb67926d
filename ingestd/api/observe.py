"""The request middleware of issue 18: HTTP metrics by route template, the access log, the log
context (request id, tenant) and, with the ``otel`` extra, a span per request.

Pure ASGI (no extra task): the route template is read from the scope once the router has
matched (``/api/v1/jobs/{job_id}``, never the raw path, so the label set stays bounded);
requests that match no route are counted as ``unmatched``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestd.observe import metrics, tracing
from ingestd.observe.logs import bound

access = logging.getLogger("ingestd.access")

UNMATCHED = "unmatched"
QUIET_ROUTES = frozenset({"/metrics", "/health", "/ready"})  # scraped often: debug level


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500  # what a request that raised through everything is answered with

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        method = scope["method"]
        with (
            bound(request_id=state.get("request_id")),
            tracing.span(f"HTTP {method}", **{"http.request.method": method}) as span,
        ):
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", None) or UNMATCHED
                elapsed = time.perf_counter() - started
                metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
                metrics.HTTP_SECONDS.labels(route, method).observe(elapsed)
                if span is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                _access_line(scope, state, route, method, status, elapsed)


def _access_line(
    scope: Scope, state: dict[str, object], route: str, method: str, status: int, elapsed: float
) -> None:
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if not access.isEnabledFor(level):
        return
    principal = state.get("principal")
    client = scope.get("client")
    access.log(
        level,
        "%s %s %d %.1f ms",
        method,
        scope.get("path", ""),  # never the query string: it may carry ?token=
        status,
        elapsed * 1000,
        extra={
            "route": route,
            "status": status,
            "latency_ms": round(elapsed * 1000, 2),
            "client": client[0] if client else None,
            "tenant": getattr(principal, "tenant", None),
        },
    )
