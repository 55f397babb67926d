"""``Idempotency-Key`` on ``POST /api/v1/jobs``: a retried creation returns the first job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from ingestd.domain.errors import Conflict
from ingestd.store import idempotency
from ingestd.store.db import Database
from ingestd.store.idempotency import IdempotencyKey, Replayed
from tests.conftest import App

BODY: dict[str, Any] = {"name": "nightly", "sources": [{"type": "upload"}], "pipeline": "store"}


async def create(app: App, key: str | None, body: dict[str, Any] = BODY) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await app.client.post("/api/v1/jobs", json=body, headers=headers)


async def job_ids(app: App) -> list[str]:
    return [j["id"] for j in (await app.client.get("/api/v1/jobs")).json()["items"]]


async def test_the_same_key_returns_the_first_job(app: App) -> None:
    first = await create(app, "run-42")
    assert first.status_code == 201, first.text
    again = await create(app, "run-42", {**BODY, "sources": [{"type": "upload"}], "start": True})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await job_ids(app) == [first.json()["id"]]


async def test_a_different_body_with_the_same_key_is_a_conflict(app: App) -> None:
    first = await create(app, "run-43")
    clash = await create(app, "run-43", {**BODY, "name": "something else"})
    assert clash.status_code == 409, clash.text
    problem = clash.json()
    assert problem["code"] == "conflict"
    assert first.json()["id"] in problem["detail"] and "new key" in problem["detail"]
    assert await job_ids(app) == [first.json()["id"]]


async def test_keys_are_per_tenant_and_absent_keys_change_nothing(app: App) -> None:
    other = await app.key(role="member", tenant="acme")
    mine = await create(app, "shared")
    theirs = await app.client.post(
        "/api/v1/jobs",
        json=BODY,
        headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {other}"},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    plain = [await create(app, None) for _ in range(2)]
    assert all(r.status_code == 201 for r in plain)
    assert len({r.json()["id"] for r in plain}) == 2


async def test_concurrent_requests_with_one_key_create_one_job(app: App) -> None:
    answers = await asyncio.gather(*(create(app, "burst") for _ in range(8)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 7 + [201], [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert len(await job_ids(app)) == 1


async def test_a_deleted_job_frees_its_key(app: App) -> None:
    first = (await create(app, "gone")).json()
    assert (await app.client.delete(f"/api/v1/jobs/{first['id']}")).status_code == 204
    second = await create(app, "gone")
    assert second.status_code == 201 and second.json()["id"] != first["id"]


@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there", "é"])
async def test_a_malformed_key_is_refused(app: App, bad: str) -> None:
    response = await app.client.post(
        "/api/v1/jobs", json=BODY, headers={"Idempotency-Key": bad.encode()}
    )
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["detail"]
    assert await job_ids(app) == []


async def test_a_key_names_its_job_for_24_hours_then_is_free(app: App, db: Database) -> None:
    job_id = (await create(app, "daily")).json()["id"]
    other = (await create(app, None)).json()["id"]
    key = IdempotencyKey("daily", "f" * 64)  # another request's fingerprint
    now = time.time()
    with pytest.raises(Conflict):
        async with db.write() as conn:
            await idempotency.claim(conn, "default", key, other, now + 23 * 3600)
    async with db.write() as conn:  # a day later the key is taken over, in place
        await idempotency.claim(conn, "default", key, other, now + 24 * 3600 + 1)
    same = IdempotencyKey("daily", key.fingerprint)
    with pytest.raises(Replayed) as replay:
        async with db.write() as conn:
            await idempotency.claim(conn, "default", same, job_id, now + 24 * 3600 + 2)
    assert replay.value.job_id == other


def test_the_fingerprint_ignores_how_the_json_was_spelt() -> None:
    a = IdempotencyKey.of("k", {"name": "x", "labels": {"a": "1", "b": "2"}})
    b = IdempotencyKey.of("k", {"labels": {"b": "2", "a": "1"}, "name": "x"})
    assert a == b and a != IdempotencyKey.of("k", {"name": "y", "labels": {}})
