"""Keys are checked against a short in-process cache: a revoked key must stop working at once
when revoked through this process, and within ``CACHE_SECONDS`` when revoked elsewhere (the CLI,
another API process)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.domain.auth import Role
from ingestd.domain.errors import AuthenticationFailed
from ingestd.services.keys import CACHE_SECONDS, KeyAuthenticator, create_key
from ingestd.store import keys as key_store
from ingestd.store.db import Database
from tests.conftest import App
from tests.eventually import eventually


async def revoke_in_store(db: Database, key_id: str) -> None:
    """What ``ingestd keys revoke`` or another API process does: the row only, no cache."""
    async with db.write() as conn:
        assert await key_store.revoke_key(conn, key_id, None, time.time())


async def test_a_key_revoked_elsewhere_works_at_most_cache_seconds(db: Database) -> None:
    assert 0 < CACHE_SECONDS <= 5  # the bound docs/uploads.md promises
    now = [1000.0]
    auth = KeyAuthenticator(db, clock=lambda: now[0])
    row, plain = await create_key(db, name="ci", role=Role.MEMBER, tenant="acme")
    assert (await auth.authenticate(plain)).key_id == row["id"]
    await revoke_in_store(db, row["id"])

    now[0] += CACHE_SECONDS - 0.01  # still trusted from the check above
    assert (await auth.authenticate(plain)).key_id == row["id"]
    now[0] += 0.02  # the bound has passed: the store is asked, and says no
    with pytest.raises(AuthenticationFailed):
        await auth.authenticate(plain)
    now[0] += 0.01  # a refused key is not remembered as valid
    with pytest.raises(AuthenticationFailed):
        await auth.authenticate(plain)


async def test_revoked_through_the_api_stops_at_once(app: App) -> None:
    created = await app.client.post(
        "/api/v1/keys", json={"name": "bot", "role": "member", "tenant": "acme"}
    )
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert (await app.client.get("/api/v1/jobs", headers=key)).status_code == 200  # now cached
    revoked = await app.client.delete(f"/api/v1/keys/{created.json()['id']}")
    assert revoked.status_code == 204
    refused = await app.client.get("/api/v1/jobs", headers=key)
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_error"


async def test_revoked_in_the_store_stops_over_http_within_the_bound(
    start_app: Callable[..., Any], database_url: str
) -> None:
    async with start_app(database_url=database_url) as app:
        auth: KeyAuthenticator = app.asgi.state.auth
        auth.cache_seconds = 0.2  # the same rule, a shorter bound, so the test is quick
        created = await app.client.post(
            "/api/v1/keys", json={"name": "bot", "role": "member", "tenant": "acme"}
        )
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        assert (await app.client.get("/api/v1/jobs", headers=key)).status_code == 200
        assert app.runtime.db is not None
        await revoke_in_store(app.runtime.db, created.json()["id"])
        await eventually(
            lambda: app.client.get("/api/v1/jobs", headers=key),
            until=lambda r: r.status_code == 401,
            what="a key revoked in the store refused",
        )
