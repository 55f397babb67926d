"""The dashboard over HTTP: the page with its content policy, the assets with their types and
cache headers, and no way out of the static folder."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from ingestd.api.app import create_app
from ingestd.config import Settings
from ingestd.web import assets
from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """The app without its lifespan: serving files needs no database, no workers and no key."""
    transport = httpx.ASGITransport(app=create_app(make_settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _directives(policy: str) -> dict[str, str]:
    parts = (p.strip().split(" ", 1) for p in policy.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


async def test_the_page_has_a_strict_policy_of_its_own(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1, policies  # the API's "default-src 'none'" is not added on top
    csp = _directives(policies[0])
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"  # fetch and the event WebSockets, same origin only
    assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'none'"
    assert "unsafe" not in policies[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


async def test_the_page_has_no_inline_script_style_or_handler(client: httpx.AsyncClient) -> None:
    html = (await client.get("/dashboard")).text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="' in tag, tag
    assert all(
        not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    )
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


async def test_every_asset_the_page_and_modules_name_is_served(client: httpx.AsyncClient) -> None:
    page = (await client.get("/dashboard")).text
    wanted = set(re.findall(r'"dashboard/assets/([^"]+)"', page))
    for name, asset in assets.load().items():
        if name.endswith(".js"):
            wanted.update(re.findall(r'from "\./([^"]+)"', asset.body.decode()))
    assert {"app.js", "dashboard.css", "icon.svg"} <= wanted
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for name in sorted(wanted):
        response = await client.get(f"/dashboard/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(types[name[name.rfind(".") :]]), name
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache" and response.headers["etag"]


async def test_an_unchanged_asset_answers_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/dashboard/assets/app.js")
    again = await client.get(
        "/dashboard/assets/app.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other = await client.get("/dashboard/assets/app.js", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.content == first.content


async def test_unknown_assets_are_404_problems(client: httpx.AsyncClient) -> None:
    for path in (
        "/dashboard/assets/nope.js",
        "/dashboard/assets/index.html",  # the page has one URL only
        "/dashboard/assets/__init__.py",
        "/dashboard/assets/",
        "/dashboard/assets",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path
        assert response.json()["code"] == "not_found"


async def test_a_trailing_slash_redirects_to_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard/")
    assert response.status_code == 308 and response.headers["location"] == "/dashboard"


async def test_the_root_leads_people_to_the_dashboard(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).headers["location"] == "/dashboard"


# Paths a client could send as they are (curl --path-as-is), with what a server decodes them to.
TRAVERSALS = [
    "/dashboard/assets/../../pyproject.toml",
    "/dashboard/assets/../__init__.py",
    "/dashboard/assets/..%2F__init__.py",
    "/dashboard/assets/..%2f..%2f..%2fpyproject.toml",
    "/dashboard/assets/%2e%2e/%2e%2e/api/app.py",
    "/dashboard/assets/%2e%2e%2f__init__.py",
    "/dashboard/assets/..%5c__init__.py",
    "/dashboard/assets/..\\__init__.py",
    "/dashboard/assets/%252e%252e%252f__init__.py",
    "/dashboard/assets/static/app.js",
    "/dashboard/assets/./app.js/",
    "/dashboard/assets/app.js%00.py",
    "/dashboard/assets//etc/passwd",
]


async def _raw_get(app: Any, raw_path: str) -> tuple[int, bytes]:
    """One request straight to the ASGI app, with the path exactly as a server passes it on:
    no client-side normalisation of ``..`` (which httpx would do)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),  # what uvicorn does
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body


async def test_no_path_leaves_the_static_folder(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    assert (await _raw_get(app, "/dashboard/assets/app.js"))[0] == 200  # the probe works
    for path in TRAVERSALS:
        status, body = await _raw_get(app, path)
        assert status == 404, path
        assert b"[build-system]" not in body and b"def " not in body and b"import" not in body


async def test_through_a_real_server(sqlite_app: App) -> None:
    """uvicorn's own path handling, and the event WebSocket's fast path beside the dashboard."""
    async with serve_on_loopback(sqlite_app.asgi) as port:
        for path in (*TRAVERSALS, "/dashboard/assets/%2e%2e/%2e%2e/%2e%2e/pyproject.toml"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            answer = await reader.read()
            writer.close()
            status = answer.split(b" ", 2)[1]
            assert status in (b"400", b"404"), (path, answer[:200])
            assert b"[build-system]" not in answer
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = await http.get("/dashboard")
            assert page.status_code == 200 and "dashboard/assets/app.js" in page.text
        url = f"ws://127.0.0.1:{port}/api/v1/events?token={ADMIN_KEY}"
        async with connect(url) as socket:
            hello = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
            assert hello["type"] == "connected"
