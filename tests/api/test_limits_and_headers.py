"""Rate limits per key (in memory and shared through Redis), CORS, security headers."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY
from tests.needs import missing

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_reads_over_the_limit_get_429_with_retry_after(start_app: Callable[..., Any]) -> None:
    async with start_app(rate_limit_reads="5/minute") as app:
        for _ in range(5):
            ok = await app.client.get("/api/v1/jobs")
            assert ok.status_code == 200
        assert int(ok.headers["ratelimit-remaining"]) == 0 and ok.headers["ratelimit-limit"] == "5"
        limited = await app.client.get("/api/v1/jobs")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limit_exceeded"
        assert 1 <= int(limited.headers["retry-after"]) <= 61
        # writes are counted apart from reads, and other keys apart from this one
        other = await app.key("member")
        fine = await app.client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {other}"})
        assert fine.status_code == 200


async def test_uploads_are_limited_by_megabytes(start_app: Callable[..., Any]) -> None:
    async with start_app(rate_limit_upload_mb="3/minute") as app:
        job = (await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})).json()
        files = [("file", ("a.txt", b"x" * (2 * 1024 * 1024), "text/plain"))]
        first = await app.client.post(f"/api/v1/jobs/{job['id']}/files", files=files)
        assert first.status_code == 201
        second = await app.client.post(f"/api/v1/jobs/{job['id']}/files", files=files)
        assert second.status_code == 429 and "MB uploaded" in second.json()["detail"]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


async def test_limits_are_shared_between_api_processes_through_redis(
    start_app: Callable[..., Any],
) -> None:
    if not _redis_up():
        missing("Redis is not reachable at 127.0.0.1:6379")
    # Two app instances with their own limiter objects stand in for two API processes: they share
    # nothing but Redis. A fresh key keeps runs apart.
    key_name = f"redis-test-{secrets.token_hex(4)}"
    async with start_app(rate_limit_reads="4/minute", redis_url=REDIS_URL) as first:
        key = await first.key("member")
        headers = {"Authorization": f"Bearer {key}", "X-Test": key_name}
        async with start_app(
            rate_limit_reads="4/minute", redis_url=REDIS_URL, data_dir=first.settings.data_dir
        ) as second:
            statuses = []
            for client in (first.client, second.client, first.client, second.client, first.client):
                statuses.append((await client.get("/api/v1/jobs", headers=headers)).status_code)
    assert statuses == [200, 200, 200, 200, 429]


async def test_security_headers_and_no_banner(sqlite_app: Any) -> None:
    response = await sqlite_app.client.get("/api/v1/jobs")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "server" not in response.headers
    docs = await sqlite_app.client.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers


async def test_cors_is_closed_by_default_and_opens_per_origin(
    start_app: Callable[..., Any],
) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    async with start_app() as closed:
        response = await closed.client.options("/api/v1/jobs", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    async with start_app(cors_origins=["https://app.example"]) as opened:
        response = await opened.client.options("/api/v1/jobs", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        got = await opened.client.get("/api/v1/jobs", headers={"Origin": "https://app.example"})
        assert "X-Request-ID" in got.headers["access-control-expose-headers"]
        other = await opened.client.get("/api/v1/jobs", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_no_stack_traces_in_responses(sqlite_app: Any) -> None:
    transport = httpx.ASGITransport(app=sqlite_app.asgi)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    ) as client:
        response = await client.post(
            "/api/v1/jobs",
            content=b"\xff\xfe garbage",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422 and "Traceback" not in response.text
