"""The durable outbox, with the real app and real HTTP receivers on SQLite and PostgreSQL:
retries survive a restart, two app instances on one database deliver each event once, a job's
webhook_url is signed with the tenant secret, finished rows are pruned."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as StandardWebhook

from ingestd.store import webhook_outbox as outbox
from ingestd.store import webhooks as webhook_store
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.store.tables import webhook_deliveries, webhook_outbox
from ingestd.webhooks.matcher import OutboxMatcher
from tests.conftest import App
from tests.eventually import eventually
from tests.webhooks.receiver import Receiver, outbox_settled, running_receiver

FAST = {"webhook_allow_private": True, "webhook_poll_seconds": 0.05}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as state:
        yield state


async def subscribe(app: App, url: str, events: list[str]) -> dict[str, Any]:
    response = await app.client.post("/api/v1/webhooks", json={"url": url, "events": events})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(app: App, webhook_id: str, count: int) -> list[dict[str, Any]]:
    async def logged() -> list[dict[str, Any]]:
        response = await app.client.get(
            f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 500}
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    return await eventually(logged, until=lambda items: len(items) >= count)


async def test_a_pending_retry_survives_a_restart(
    start_app: Callable[..., Any], database_url: str, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    # the retry is due 3-3.75 s after the failure: long enough to stop the app before it
    settings = {**FAST, "database_url": database_url, "webhook_retry_base_seconds": 3.0}
    async with start_app(**settings) as first:
        hook = await subscribe(first, receiver.url, ["job.created"])
        await first.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
        [failed] = await deliveries(first, hook["id"], 1)
        assert (failed["attempt"], failed["status_code"], failed["delivered"]) == (1, 500, False)
        assert failed["next_attempt_at"] is not None
    assert len(receiver.received) == 1, "the retry was not due before the app stopped"

    async with start_app(**settings) as second:  # a new process on the same database
        await receiver.wait(2)
        second_attempt, first_attempt = await deliveries(second, hook["id"], 2)
    (h1, b1), (h2, b2) = receiver.received
    assert h1["webhook-id"] == h2["webhook-id"] and b1 == b2
    StandardWebhook(hook["secret"]).verify(b2, h2)
    assert first_attempt["id"] == failed["id"]
    assert (second_attempt["attempt"], second_attempt["delivered"]) == (2, True)


async def test_two_instances_deliver_each_event_exactly_once(
    start_app: Callable[..., Any], database_url: str, receiver: Receiver
) -> None:
    receiver.delay = 0.01  # deliveries stay in flight while the other instance claims
    settings = {**FAST, "database_url": database_url, "workers": 0}
    burst = 60
    async with start_app(**settings) as one, start_app(**settings) as two:
        hook = await subscribe(one, receiver.url, ["job.created"])
        jobs = await asyncio.gather(
            *(
                (one if n % 2 else two).client.post(
                    "/api/v1/jobs", json={"sources": [{"type": "upload"}], "name": f"j{n}"}
                )
                for n in range(burst)
            )
        )
        assert all(r.status_code == 201 for r in jobs)
        await receiver.wait(burst)
        assert one.runtime.db is not None
        await eventually(lambda: outbox_settled(one.runtime.db), what="every delivery made")
        marks = (one.runtime.webhooks.rounds, two.runtime.webhooks.rounds)  # type: ignore[union-attr]
        await eventually(  # more rounds of both instances: room for a duplicate
            lambda: min(
                one.runtime.webhooks.rounds - marks[0],  # type: ignore[union-attr]
                two.runtime.webhooks.rounds - marks[1],  # type: ignore[union-attr]
            ),
            until=lambda rounds: rounds >= 5,
        )
        counts = receiver.ids()
        assert len(counts) == burst and set(counts.values()) == {1}, counts.most_common(3)
        logged = await deliveries(one, hook["id"], burst)
        assert len(logged) == burst and all(d["attempt"] == 1 and d["delivered"] for d in logged)
        sent = {"one": one.asgi.state.webhooks.sent, "two": two.asgi.state.webhooks.sent}
        assert sum(sent.values()) == burst, sent


async def test_a_job_webhook_url_is_signed_with_the_tenant_secret(
    start_app: Callable[..., Any], database_url: str, receiver: Receiver
) -> None:
    async with start_app(**FAST, database_url=database_url) as app:
        member = {"Authorization": f"Bearer {await app.key('member', 'default')}"}
        denied = await app.client.get("/api/v1/webhooks/secret", headers=member)
        assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
        answer = await app.client.get("/api/v1/webhooks/secret")
        assert answer.status_code == 200, answer.text
        secret = answer.json()
        assert secret["tenant"] == "default" and secret["secret"].startswith("whsec_")
        again = (await app.client.get("/api/v1/webhooks/secret")).json()
        assert again["secret"] == secret["secret"], "made once, then stable"
        other = (await app.client.get("/api/v1/webhooks/secret?tenant=acme")).json()
        assert other["tenant"] == "acme" and other["secret"] != secret["secret"]

        job = (
            await app.client.post(
                "/api/v1/jobs",
                headers=member,
                json={"sources": [{"type": "upload"}], "webhook_url": receiver.url},
            )
        ).json()
        await app.client.post(
            f"/api/v1/jobs/{job['id']}/files",
            headers=member,
            files=[("file", ("a.txt", b"alpha text here", "text/plain"))],
            data={"seal": "true"},
        )
        assert (await app.wait_job(job["id"]))["status"] == "completed"
        await receiver.wait(1)
    [(headers, body)] = receiver.received
    payload = StandardWebhook(secret["secret"]).verify(body, headers)
    assert payload["type"] == "job.completed" and payload["job_id"] == job["id"]
    assert headers["webhook-id"] == payload["id"]


async def test_the_secret_endpoint_is_documented(sqlite_app: App) -> None:
    schema = (await sqlite_app.client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/webhooks/secret"]["get"]
    assert "webhook_url" in operation["description"]


async def seed_events(db: Database, count: int) -> None:
    async with db.write() as conn:
        for n in range(count):
            await append_event(conn, tenant="default", type="job.created", data={"n": n})


async def test_concurrent_matchers_write_each_delivery_once(database_url: str) -> None:
    dbs = [Database(database_url) for _ in range(3)]  # three processes' worth of pools
    try:
        async with dbs[0].write() as conn:
            hook = await webhook_store.create_webhook(
                conn, tenant="default", url="https://example.com/h", events=["*"], secret="s" * 20
            )
            hook_id = hook["id"]
        await seed_events(dbs[0], 300)
        matchers = [OutboxMatcher(db, gap_seconds=0.0) for db in dbs]

        async def drain(matcher: OutboxMatcher) -> int:
            written = 0
            for _ in range(100):
                count, more = await matcher.run_once()
                written += count
                if not more and count == 0:
                    break
            return written

        written = await asyncio.gather(*(drain(m) for m in matchers))
        async with dbs[0].read() as conn:
            rows = (
                await conn.execute(
                    sa.select(webhook_outbox.c.event_id).where(
                        webhook_outbox.c.webhook_id == hook_id
                    )
                )
            ).all()
        assert sum(written) == 300 and len(rows) == 300 and len({r[0] for r in rows}) == 300
    finally:
        for db in dbs:
            await db.close()


async def test_a_webhook_gets_no_event_older_than_itself(database_url: str) -> None:
    db = Database(database_url)
    try:
        await seed_events(db, 3)
        async with db.write() as conn:
            await webhook_store.create_webhook(
                conn, tenant="default", url="https://example.com/h", events=["*"], secret="s" * 20
            )
        await seed_events(db, 2)
        while (await OutboxMatcher(db, gap_seconds=0.0).run_once())[1]:
            pass
        async with db.read() as conn:
            assert await outbox.pending_count(conn) == 2
    finally:
        await db.close()


async def test_finished_deliveries_are_pruned_after_retention(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.write() as conn:
            hook = await webhook_store.create_webhook(
                conn, tenant="default", url="https://example.com/h", events=["*"], secret="s" * 20
            )
        await seed_events(db, 4)
        await OutboxMatcher(db, gap_seconds=0.0).run_once()
        now = time.time()
        async with db.write() as conn:
            claimed = await outbox.claim_due(conn, "test", 3, now=now, lease_seconds=30)
            for item in claimed:
                await outbox.settle(conn, item, state=outbox.DELIVERED, error=None, now=now - 100)
                await webhook_store.record_delivery(
                    conn,
                    webhook_id=hook["id"],
                    event_id=item.event_id,
                    event_type=item.event_type,
                    attempt=1,
                    delivered=True,
                    created_at=now - 100,
                )
            assert await outbox.prune(conn, before=now - 50) == 6  # 3 rows + 3 logged attempts
        async with db.read() as conn:
            states = (await conn.execute(sa.select(webhook_outbox.c.state))).scalars().all()
            logged = (
                await conn.execute(sa.select(sa.func.count()).select_from(webhook_deliveries))
            ).scalar()
        assert states == [outbox.PENDING] and logged == 0
    finally:
        await db.close()


async def test_a_lost_lease_comes_due_again(database_url: str) -> None:
    """A sender that dies mid-attempt: its row is claimed again once the lease runs out."""
    db = Database(database_url)
    try:
        async with db.write() as conn:
            await webhook_store.create_webhook(
                conn, tenant="default", url="https://example.com/h", events=["*"], secret="s" * 20
            )
        await seed_events(db, 1)
        await OutboxMatcher(db, gap_seconds=0.0).run_once()
        now = time.time()
        async with db.write() as conn:
            [first] = await outbox.claim_due(conn, "dead", 5, now=now, lease_seconds=10)
            assert await outbox.claim_due(conn, "alive", 5, now=now + 5, lease_seconds=10) == []
            [again] = await outbox.claim_due(conn, "alive", 5, now=now + 11, lease_seconds=10)
            assert again.id == first.id and again.attempt == 2
            # the dead sender's late answer does not overwrite the new lease
            assert not await outbox.settle(conn, first, state=outbox.DELIVERED, error=None, now=now)
            assert await outbox.settle(conn, again, state=outbox.DELIVERED, error=None, now=now)
        assert orjson.loads(again.body)["type"] == "job.created"
    finally:
        await db.close()


async def test_concurrent_claimers_take_each_delivery_once(database_url: str) -> None:
    """Three pools claiming and settling the same 300 due rows at once: each row goes to one."""
    dbs = [Database(database_url) for _ in range(3)]
    try:
        async with dbs[0].write() as conn:
            await webhook_store.create_webhook(
                conn, tenant="default", url="https://example.com/h", events=["*"], secret="s" * 20
            )
        await seed_events(dbs[0], 300)
        while (await OutboxMatcher(dbs[0], gap_seconds=0.0).run_once())[1]:
            pass

        async def claimer(db: Database, owner: str) -> list[str]:
            taken: list[str] = []
            while True:
                async with db.write() as conn:
                    now = time.time()
                    batch = await outbox.claim_due(conn, owner, 7, now=now, lease_seconds=60)
                if not batch:
                    return taken
                taken += [item.id for item in batch]
                async with db.write() as conn:  # settled in another transaction, as senders do
                    for item in batch:
                        assert await outbox.settle(
                            conn, item, state=outbox.DELIVERED, error=None, now=time.time()
                        )

        taken = await asyncio.gather(*(claimer(db, f"p{n}") for n, db in enumerate(dbs)))
        every = [row_id for batch in taken for row_id in batch]
        assert len(every) == 300 and len(set(every)) == 300
    finally:
        for db in dbs:
            await db.close()
