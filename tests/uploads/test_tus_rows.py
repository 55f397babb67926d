"""What a tus PATCH writes to the store: the offset row and an ``upload.progress`` event at most
every ``tus_progress_seconds`` per upload — but always when the upload completes or a PATCH is
cut short — while HEAD and PATCH always see every byte received (the partial file is the truth)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.requests import ClientDisconnect

from ingestd.domain.auth import Principal, Role
from ingestd.services.tus import TusService
from ingestd.store.db import Database
from ingestd.store.events import list_events
from ingestd.store.tables import uploads
from tests.conftest import App

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
SLOW = 3600.0  # seconds between progress writes: within a test, only the "always" cases write


async def start_upload(app: App, length: int) -> tuple[str, str]:
    job = await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
    job_id = job.json()["id"]
    meta = f"job_id {base64.b64encode(job_id.encode()).decode()}"
    created = await app.client.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": meta}
    )
    assert created.status_code == 201, created.text
    return job_id, created.headers["location"]


async def patch(app: App, url: str, offset: int, body: bytes) -> int:
    response = await app.client.patch(
        url, content=body, headers={**OCTETS, "Upload-Offset": str(offset)}
    )
    assert response.status_code == 204, response.text
    return int(response.headers["upload-offset"])


async def head(app: App, url: str) -> int:
    return int((await app.client.head(url, headers=TUS)).headers["upload-offset"])


async def stored(app: App, url: str, job_id: str) -> tuple[int, str, list[dict[str, Any]]]:
    """The row's offset and status, and the upload's progress events."""
    db: Database | None = app.runtime.db
    assert db is not None
    async with db.read() as conn:
        row = (
            (await conn.execute(sa.select(uploads).where(uploads.c.id == url.rsplit("/", 1)[1])))
            .mappings()
            .one()
        )
        events = await list_events(conn, tenant=None, job_id=job_id)
    progress = [e["data"] for e in events if e["type"] == "upload.progress"]
    return row["offset"], row["status"], progress


async def test_quick_patches_leave_the_row_behind_but_never_the_answers(
    start_app: Callable[..., Any], database_url: str
) -> None:
    async with start_app(database_url=database_url, tus_progress_seconds=SLOW) as app:
        job_id, url = await start_upload(app, 30)
        assert await patch(app, url, 0, b"a" * 10) == 10
        offset, _, progress = await stored(app, url, job_id)
        assert offset == 10 and len(progress) == 1  # the first PATCH here always writes

        assert await patch(app, url, 10, b"b" * 10) == 20
        offset, _, progress = await stored(app, url, job_id)
        assert offset == 10 and len(progress) == 1  # too soon: the row stays behind
        assert await head(app, url) == 20  # the partial file is the truth
        assert (await stored(app, url, job_id))[0] == 10  # ... and this process knows why

        service: TusService = app.asgi.state.tus
        service._hashes.clear()  # as another process (or a restart) finds it
        assert await head(app, url) == 20
        assert (await stored(app, url, job_id))[0] == 20  # reconciled with the file

        assert await patch(app, url, 20, b"c" * 10) == 30  # completes: always written
        offset, status, progress = await stored(app, url, job_id)
        assert (offset, status) == (30, "complete")
        assert len(progress) == 2 and progress[-1]["offset"] == 30 and progress[-1]["final"]


@pytest.mark.parametrize("how", ["client gone", "body short"])
async def test_a_patch_cut_short_always_writes_the_row(
    start_app: Callable[..., Any], database_url: str, how: str
) -> None:
    async with start_app(database_url=database_url, tus_progress_seconds=SLOW) as app:
        job_id, url = await start_upload(app, 30)
        assert await patch(app, url, 0, b"a" * 10) == 10

        async def cut_short() -> AsyncIterator[bytes]:
            yield b"b" * 5
            if how == "client gone":
                raise ClientDisconnect()
            # "body short": the route's body ends quietly when the client goes away

        service: TusService = app.asgi.state.tus
        admin = Principal(key_id="key_test", tenant="default", role=Role.ADMIN)
        upload_id = url.rsplit("/", 1)[1]
        with contextlib.suppress(ClientDisconnect):
            await service.append(admin, upload_id, offset=10, body=cut_short(), content_length=20)
        offset, _, progress = await stored(app, url, job_id)
        assert offset == 15 and len(progress) == 2 and progress[-1]["offset"] == 15
        assert await head(app, url) == 15
        assert await patch(app, url, 15, b"c" * 15) == 30
        assert (await stored(app, url, job_id))[1] == "complete"
