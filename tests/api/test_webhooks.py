"""Webhooks: CRUD per tenant, signed deliveries to a real receiver, retries, outbound safety."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestd.store.events import list_events
from ingestd.webhooks import safety
from tests.conftest import App
from tests.eventually import eventually
from tests.loopback import serve_on_loopback
from tests.webhooks.receiver import outbox_settled

try:
    from standardwebhooks.webhooks import Webhook as StandardWebhook
except ImportError:  # pragma: no cover - the independent check below still runs
    StandardWebhook = None


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def wait(self, count: int) -> None:
        await eventually(
            lambda: len(self.received), until=lambda n: n >= count, what=f"{count} deliveries"
        )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(url="")

    async def hook(request: Request) -> Response:
        state.received.append((dict(request.headers), await request.body()))
        status = state.statuses.pop(0) if state.statuses else 200
        return Response(status_code=status)

    receiver_app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with serve_on_loopback(receiver_app) as port:
        state.url = f"http://127.0.0.1:{port}/hook"
        yield state


@pytest.fixture
async def hook_app(start_app: Callable[..., Any], database_url: str) -> AsyncIterator[App]:
    async with start_app(
        database_url=database_url, webhook_retry_base_seconds=0.05, webhook_allow_private=True
    ) as running:
        yield running


@pytest.fixture
async def local_app(start_app: Callable[..., Any]) -> AsyncIterator[App]:
    async with start_app(webhook_retry_base_seconds=0.05, webhook_allow_private=True) as running:
        yield running


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Check the Standard Webhooks signature independently of the server's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split(" ")
    if StandardWebhook is not None:
        StandardWebhook(secret).verify(body, headers)


async def deliveries(app: App, webhook_id: str, count: int) -> list[dict[str, Any]]:
    async def logged() -> list[dict[str, Any]]:
        response = await app.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    return await eventually(logged, until=lambda items: len(items) >= count)


async def test_crud_is_per_tenant_and_viewers_only_read(sqlite_app: App) -> None:
    alice = {"Authorization": f"Bearer {await sqlite_app.key('member', 'alice')}"}
    bob = {"Authorization": f"Bearer {await sqlite_app.key('member', 'bob')}"}
    viewer = {"Authorization": f"Bearer {await sqlite_app.key('viewer', 'alice')}"}
    client = sqlite_app.client
    body = {"url": "https://hooks.example.com/in", "events": ["job.completed", "job.failed"]}
    created = await client.post("/api/v1/webhooks", headers=alice, json=body)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["id"].startswith("whk_") and hook["tenant"] == "alice" and hook["enabled"]
    assert hook["secret"].startswith("whsec_") and len(base64.b64decode(hook["secret"][6:])) == 24
    mine = (await client.get("/api/v1/webhooks", headers=alice)).json()["items"]
    assert [h["id"] for h in mine] == [hook["id"]] and "secret" not in mine[0]
    assert (await client.get("/api/v1/webhooks", headers=viewer)).status_code == 200
    assert (await client.get("/api/v1/webhooks", headers=bob)).json()["items"] == []
    path = f"/api/v1/webhooks/{hook['id']}"
    assert (await client.get(f"{path}/deliveries", headers=bob)).status_code == 404
    assert (await client.delete(path, headers=bob)).status_code == 404
    assert (await client.get(f"{path}/deliveries", headers=alice)).json()["items"] == []
    denied = await client.post("/api/v1/webhooks", headers=viewer, json=body)
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert (await client.delete(path, headers=viewer)).status_code == 403
    given = await client.post(
        "/api/v1/webhooks", headers=alice, json={**body, "secret": "whsec_" + "A" * 32}
    )
    assert given.json()["secret"] == "whsec_" + "A" * 32
    for bad in (
        {"url": "ftp://example.com/x", "events": ["*"]},
        {"url": "https://example.com/x", "events": ["job.exploded"]},
        {"url": "https://example.com/x", "events": []},
    ):
        response = await client.post("/api/v1/webhooks", headers=alice, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert (await client.delete(path, headers=alice)).status_code == 204
    assert (await client.delete(path, headers=alice)).status_code == 404


async def test_private_addresses_are_refused_without_the_allowlist(sqlite_app: App) -> None:
    assert not sqlite_app.settings.webhook_allow_private
    for url in (
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://[::1]/x",
        "http://localhost/x",
    ):
        response = await sqlite_app.client.post(
            "/api/v1/webhooks", json={"url": url, "events": ["*"]}
        )
        assert response.status_code == 422, (url, response.text)
    with pytest.raises(safety.UnsafeTarget):
        await safety.check_resolved("http://localhost:9/")
    assert safety.is_blocked("::ffff:127.0.0.1") and not safety.is_blocked("93.184.216.34")


async def test_job_completed_is_delivered_signed(hook_app: App, receiver: Receiver) -> None:
    hook = (
        await hook_app.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["job.completed"]}
        )
    ).json()
    job = (
        await hook_app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
        )
    ).json()
    uploaded = await hook_app.client.post(
        f"/api/v1/jobs/{job['id']}/files",
        files=[("file", ("a.txt", b"alpha text here", "text/plain"))],
        data={"seal": "true"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (await hook_app.wait_job(job["id"]))["status"] == "completed"
    await receiver.wait(1)
    headers, body = receiver.received[0]
    verify(hook["secret"], headers, body)
    event = orjson.loads(body)
    assert event["type"] == "job.completed" and event["job_id"] == job["id"]
    assert headers["webhook-id"] == event["id"]
    [delivery] = await deliveries(hook_app, hook["id"], 1)
    assert delivery["delivered"] and delivery["status_code"] == 200
    assert delivery["event_id"] == event["id"] and delivery["attempt"] == 1
    assert hook_app.runtime.db is not None
    await eventually(lambda: outbox_settled(hook_app.runtime.db), what="every event matched")
    assert len(receiver.received) == 1, "only the subscribed type"


async def test_a_failed_delivery_is_retried(local_app: App, receiver: Receiver) -> None:
    receiver.statuses = [500]
    hook = (
        await local_app.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["job.created"]}
        )
    ).json()
    await local_app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
    await receiver.wait(2)
    (h1, b1), (h2, b2) = receiver.received
    assert h1["webhook-id"] == h2["webhook-id"] and b1 == b2
    verify(hook["secret"], h2, b2)
    second, first = await deliveries(local_app, hook["id"], 2)
    assert (first["attempt"], first["status_code"], first["delivered"]) == (1, 500, False)
    assert first["next_attempt_at"] and first["error"] == "HTTP 500"
    assert (second["attempt"], second["status_code"], second["delivered"]) == (2, 200, True)
    assert second["next_attempt_at"] is None
    listed = (await local_app.client.get("/api/v1/webhooks")).json()["items"]
    assert listed[0]["consecutive_failures"] == 0


async def test_a_failing_webhook_is_disabled(
    start_app: Callable[..., Any], receiver: Receiver
) -> None:
    receiver.statuses = [503] * 10
    async with start_app(
        webhook_retry_base_seconds=0.01,
        webhook_allow_private=True,
        webhook_max_attempts=3,
        webhook_disable_after=3,
    ) as app:
        hook = (
            await app.client.post(
                "/api/v1/webhooks", json={"url": receiver.url, "events": ["job.created"]}
            )
        ).json()
        await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
        await deliveries(app, hook["id"], 3)
        await eventually(
            lambda: app.client.get("/api/v1/webhooks"),
            until=lambda r: not r.json()["items"][0]["enabled"],
            what="the webhook disabled",
        )
        assert app.runtime.db is not None
        async with app.runtime.db.read() as conn:
            rows = await list_events(conn, tenant="default")
        disabled = [r for r in rows if r["type"] == "webhook.disabled"]
        assert disabled and disabled[0]["data"]["webhook_id"] == hook["id"]
