"""Every error leaves as RFC 9457 problem+json, with the request id; never a stack trace."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingestd.domain.errors import IngestdError, InvalidTransition, RateLimited
from ingestd.store.errors import DriverError, translate

log = logging.getLogger("ingestd.api")

PROBLEM = "application/problem+json"
_HTTP_CODES = {
    400: "validation_error",
    401: "authentication_error",
    403: "permission_denied",
    404: "not_found",
    405: "validation_error",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limit_exceeded",
    503: "unavailable",
}


def problem(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://ingestd.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


async def _ingestd_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IngestdError)
    headers: dict[str, str] | None = getattr(exc, "headers", None)
    if isinstance(exc, RateLimited):
        headers = {**exc.headers, "Retry-After": str(exc.retry_after)}
    extra = {"current_status": exc.current} if isinstance(exc, InvalidTransition) else {}
    if exc.status >= 500:
        log.error("request %s failed: %s", getattr(request.state, "request_id", "?"), exc.detail)
    return problem(
        request, exc.status, exc.code, exc.title, exc.detail, exc.errors, headers, **extra
    )


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "loc": list(error.get("loc", ())),
        "msg": str(error.get("msg", "")),
        "type": error.get("type"),
    }


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [_clean(e) for e in exc.errors()]
    return problem(
        request, 422, "validation_error", "Validation error", validation_detail(errors), errors
    )


MAX_REASONS = 5  # fields a 422's detail names; ``errors`` lists every one


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """``options.chunk_szie: unknown field; priority: input should be 'low', 'normal', 'high'
    or 'urgent'`` — each field and why, readable without the ``errors`` list."""
    reasons = [f"{field_path(e['loc'])}: {_reason(e)}" for e in errors[:MAX_REASONS]]
    more = len(errors) - MAX_REASONS
    return "; ".join(reasons) + (f" (and {more} more)" if more > 0 else "") or "invalid request"


def field_path(loc: list[Any]) -> str:
    """``["body", "sources", 0, "path"]`` → ``sources[0].path`` (where a caller looks)."""
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or (str(loc[0]) if loc else "request")


def _reason(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    message = str(error.get("msg") or kind or "invalid").removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "internal_error")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    return problem(
        request, exc.status_code, code, detail, detail, headers=getattr(exc, "headers", None)
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    """A statement failed: the store says what that means (the request's own text a 400, a
    database that cannot be reached a 503); anything else is unexpected."""
    translated = translate(exc)
    if translated is None:
        return await _unexpected(request, exc)
    return await _ingestd_error(request, translated)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in request %s", getattr(request.state, "request_id", "?"))
    return problem(
        request,
        500,
        "internal_error",
        "Internal error",
        "an unexpected error occurred; the request id identifies it in the server log",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IngestdError, _ingestd_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DriverError, _database_error)
    app.add_exception_handler(Exception, _unexpected)


class RequestIdMiddleware:
    """Give every request an id (or keep the client's) and echo it as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= 128 and text.isprintable():
                return text
    return None


Handler = Callable[[Request, Exception], Awaitable[Response]]
