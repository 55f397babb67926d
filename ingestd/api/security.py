"""Response headers that browsers act on: no sniffing, no framing, no referrer leaks, and a
strict content policy on everything but the interactive docs (which load Swagger UI) and answers
that set a policy of their own (the dashboard's page)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_STRICT_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        strict = not str(scope.get("path", "")).startswith(_DOCS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_ALWAYS)
                if strict and not any(name == _STRICT_CSP[0] for name, _ in headers):
                    headers.append(_STRICT_CSP)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
