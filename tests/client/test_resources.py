"""Webhooks, keys and the insight endpoints through the SDK, typed."""

from __future__ import annotations

import pytest

from ingestd.client import (
    AsyncClient,
    AuthenticationError,
    KeyCreated,
    NotFoundError,
    PermissionDeniedError,
    Role,
    WebhookCreated,
)
from tests.conftest import App


async def test_webhooks_and_keys(sqlite_client: AsyncClient) -> None:
    hook = await sqlite_client.webhooks.create(
        "https://hooks.example.org/ingestd", events=["job.completed", "file.failed"]
    )
    assert isinstance(hook, WebhookCreated) and hook.secret and hook.id.startswith("whk_")
    assert [h.id for h in await sqlite_client.webhooks.list()] == [hook.id]
    assert [d async for d in sqlite_client.webhooks.deliveries(hook.id)] == []
    await sqlite_client.webhooks.delete(hook.id)
    assert await sqlite_client.webhooks.list() == []

    made = await sqlite_client.keys.create("robot", role=Role.VIEWER, tenant="acme")
    assert isinstance(made, KeyCreated) and made.key.startswith("ik_")
    assert made.role is Role.VIEWER and made.tenant == "acme"
    assert made.id in {k.id for k in await sqlite_client.keys.list()}
    await sqlite_client.keys.revoke(made.id)
    assert made.id not in {k.id for k in await sqlite_client.keys.list()}
    with pytest.raises(NotFoundError):
        await sqlite_client.keys.revoke(made.id)


async def test_insight_and_refusals(sqlite_client: AsyncClient, sqlite_app: App) -> None:
    assert (await sqlite_client.health()).status == "ok"
    stats = await sqlite_client.stats()
    assert stats.jobs["total"] == 0 and stats.workers.active >= 0
    queue = await sqlite_client.queue()
    assert queue.queued == 0 and isinstance(queue.files_per_s, float)
    viewer = await sqlite_app.key(role="viewer")
    async with AsyncClient(
        "http://test", api_key=viewer, transport=sqlite_client._http._client._transport
    ) as reader:
        with pytest.raises(PermissionDeniedError):
            await reader.keys.list()
    async with AsyncClient(
        "http://test", api_key="ik_wrong", transport=sqlite_client._http._client._transport
    ) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.stats()
