"""A real HTTP webhook receiver on a loopback port, recording what it got."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestd.store import events as event_store
from ingestd.store import webhook_outbox as outbox
from ingestd.store.db import Database
from tests.eventually import eventually
from tests.loopback import serve_on_loopback


@dataclass
class Receiver:
    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    delay: float = 0.0  # seconds per request: keeps deliveries in flight, so senders overlap
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def wait(self, count: int) -> None:
        await eventually(
            lambda: len(self.received), until=lambda n: n >= count, what=f"{count} deliveries"
        )

    def ids(self) -> Counter[str]:
        """How many times each ``webhook-id`` arrived."""
        return Counter(headers["webhook-id"] for headers, _ in self.received)


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        if state.delay:
            await asyncio.sleep(state.delay)
        state.received.append((dict(request.headers), body))
        return Response(status_code=state.statuses.pop(0) if state.statuses else 200)

    async with serve_on_loopback(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    ) as port:
        state.url = f"http://127.0.0.1:{port}/hook"
        yield state


async def outbox_settled(db: Database) -> bool:
    """Every logged event has been matched to its webhooks and no delivery waits: nothing more
    will be sent unless a new event is logged."""
    async with db.read() as conn:
        matched = await outbox.read_cursor(conn) >= await event_store.max_seq(conn)
        return matched and await outbox.pending_count(conn) == 0
