"""Keys: every /api/v1 call needs one; a key acts for its tenant; viewers only read."""

from __future__ import annotations

import re

import httpx

from tests.conftest import App


def api_routes(app: App) -> list[tuple[str, str]]:
    """Every operation in the OpenAPI document, so a new endpoint cannot be forgotten."""
    routes = []
    for raw_path, operations in app.asgi.openapi()["paths"].items():
        if raw_path.startswith("/api/v1"):
            path = re.sub(r"\{action\}", "pause", raw_path)
            path = re.sub(r"\{[a-z_]+\}", "x_1", path)
            routes.extend((method.upper(), path) for method in operations)
    return routes


async def test_every_api_route_needs_a_key(sqlite_app: App) -> None:
    routes = api_routes(sqlite_app)
    assert len(routes) >= 15
    transport = httpx.ASGITransport(app=sqlite_app.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anonymous:
        for method, path in routes:
            response = await anonymous.request(method, path)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["code"] == "authentication_error"
        bad = await anonymous.get("/api/v1/jobs", headers={"X-API-Key": "ik_wrong"})
        assert bad.status_code == 401 and "not valid" in bad.json()["detail"]


async def test_viewers_read_but_do_not_write(sqlite_app: App) -> None:
    viewer = await sqlite_app.key("viewer")
    headers = {"Authorization": f"Bearer {viewer}"}
    assert (await sqlite_app.client.get("/api/v1/jobs", headers=headers)).status_code == 200
    created = await sqlite_app.client.post(
        "/api/v1/jobs", headers=headers, json={"sources": [{"type": "upload"}]}
    )
    assert created.status_code == 403 and created.json()["code"] == "permission_denied"
    keys = await sqlite_app.client.get("/api/v1/keys", headers=headers)
    assert keys.status_code == 403


async def test_other_tenants_resources_are_404(sqlite_app: App) -> None:
    alice = {"Authorization": f"Bearer {await sqlite_app.key('member', 'alice')}"}
    bob = {"Authorization": f"Bearer {await sqlite_app.key('member', 'bob')}"}
    job = (
        await sqlite_app.client.post(
            "/api/v1/jobs", headers=alice, json={"sources": [{"type": "upload"}]}
        )
    ).json()
    assert job["tenant"] == "alice"
    assert (
        await sqlite_app.client.get(f"/api/v1/jobs/{job['id']}", headers=bob)
    ).status_code == 404
    assert (
        await sqlite_app.client.post(f"/api/v1/jobs/{job['id']}/actions/pause", headers=bob)
    ).status_code == 404
    assert (
        await sqlite_app.client.delete(f"/api/v1/jobs/{job['id']}", headers=bob)
    ).status_code == 404
    assert (await sqlite_app.client.get("/api/v1/jobs", headers=bob)).json()["items"] == []
    # the admin sees every tenant
    assert (await sqlite_app.client.get(f"/api/v1/jobs/{job['id']}")).status_code == 200


async def test_keys_are_shown_once_and_revocable(sqlite_app: App) -> None:
    created = (
        await sqlite_app.client.post("/api/v1/keys", json={"name": "ci", "role": "member"})
    ).json()
    assert created["key"].startswith("ik_") and created["prefix"] == created["key"][:10]
    listed = (await sqlite_app.client.get("/api/v1/keys")).json()["items"]
    assert all("key" not in k for k in listed) and any(k["id"] == created["id"] for k in listed)
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await sqlite_app.client.get("/api/v1/jobs", headers=headers)).status_code == 200
    assert (await sqlite_app.client.delete(f"/api/v1/keys/{created['id']}")).status_code == 204
    assert (await sqlite_app.client.get("/api/v1/jobs", headers=headers)).status_code == 401
    assert (await sqlite_app.client.delete(f"/api/v1/keys/{created['id']}")).status_code == 404
    assert (
        await sqlite_app.client.post("/api/v1/keys", json={"name": "x", "role": "root"})
    ).status_code == 422


async def test_request_id_is_echoed(sqlite_app: App) -> None:
    response = await sqlite_app.client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    missing = await sqlite_app.client.get("/api/v1/jobs/job_nope", headers={"X-Request-ID": "r-9"})
    assert missing.json()["request_id"] == "r-9"


MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Reads that take a body, so they are POSTs: a viewer may ask them (they change nothing).
READS_BY_POST = {("POST", "/api/v1/templates/x_1/suggestions")}


async def test_viewers_get_403_on_every_mutation(sqlite_app: App) -> None:
    """Generated from the OpenAPI document, so a new endpoint cannot be forgotten."""
    viewer = {"Authorization": f"Bearer {await sqlite_app.key('viewer')}"}
    job = (
        await sqlite_app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
    ).json()
    routes = api_routes(sqlite_app)
    mutations = [(m, p) for m, p in routes if m in MUTATING and (m, p) not in READS_BY_POST]
    assert len(mutations) >= 8 and set(routes) >= READS_BY_POST
    for method, path in mutations:
        path = path.replace("x_1", job["id"]) if "/jobs/" in path else path
        response = await sqlite_app.client.request(method, path, headers=viewer)
        assert response.status_code == 403, (
            method,
            path,
            response.status_code,
            response.text[:200],
        )
        assert response.json()["code"] == "permission_denied"


async def test_other_tenants_ids_are_404_everywhere(sqlite_app: App) -> None:
    """Every operation that takes a job or file id answers 404 to another tenant's key."""
    alice = {"Authorization": f"Bearer {await sqlite_app.key('member', 'alice')}"}
    bob = {"Authorization": f"Bearer {await sqlite_app.key('member', 'bob')}"}
    job = (
        await sqlite_app.client.post(
            "/api/v1/jobs", headers=alice, json={"sources": [{"type": "upload"}]}
        )
    ).json()
    uploaded = await sqlite_app.client.post(
        f"/api/v1/jobs/{job['id']}/files",
        headers=alice,
        files=[("file", ("a.txt", b"alice's", "text/plain"))],
    )
    file_id = uploaded.json()["items"][0]["id"]
    checked = 0
    for raw_path, operations in sqlite_app.asgi.openapi()["paths"].items():
        if "{job_id}" not in raw_path and "{file_id}" not in raw_path:
            continue
        path = raw_path.replace("{job_id}", job["id"]).replace("{file_id}", file_id)
        path = path.replace("{action}", "pause")
        if "{" in path:
            continue
        for method in operations:
            response = await sqlite_app.client.request(method.upper(), path, headers=bob)
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked >= 6
    still = await sqlite_app.client.get(f"/api/v1/jobs/{job['id']}", headers=alice)
    assert still.status_code == 200 and still.json()["status"] != "cancelled"
