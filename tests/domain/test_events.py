"""Event types and the terminal set, defined once (domain/events.py) and agreed on by every
channel: a per-job stream ends with ``job.deleted``, and a job's own ``webhook_url`` hears it."""

from __future__ import annotations

import doctest

import sqlalchemy as sa

from ingestd.config import Settings
from ingestd.domain import events as events_module
from ingestd.domain import options as options_module
from ingestd.domain.auth import Principal, Role
from ingestd.domain.events import TERMINAL_JOB_EVENTS, EventType
from ingestd.events.envelope import LiveEvent
from ingestd.services import jobs as job_service
from ingestd.store import webhook_outbox as outbox
from ingestd.store.db import Database
from ingestd.store.tables import webhook_outbox
from ingestd.webhooks.matcher import OutboxMatcher

ADMIN = Principal(key_id="key_test", tenant="default", role=Role.ADMIN)


def test_the_docstring_examples_hold() -> None:
    assert doctest.testmod(events_module).failed == 0
    assert doctest.testmod(options_module).failed == 0


def test_every_job_ending_is_terminal_and_nothing_else_is() -> None:
    endings = {EventType.job_ended(status) for status in ("completed", "failed", "cancelled")}
    assert endings | {EventType.JOB_DELETED} == TERMINAL_JOB_EVENTS
    row = {"seq": 1, "id": "evt_1", "tenant": "t", "job_id": "job_1", "file_id": None, "at": 0.0}
    for kind in EventType:
        event = LiveEvent.from_row({**row, "type": kind.value, "data": {}})
        assert event.terminal == (kind in TERMINAL_JOB_EVENTS), kind


async def test_a_deleted_jobs_webhook_url_hears_of_it(db: Database, tmp_path: object) -> None:
    """Regression: the webhook matcher had its own terminal set without ``job.deleted``, so the
    URL of a job deleted while it ran never heard that it ended (and the job row that held the
    URL is gone by the time the event is matched)."""
    settings = Settings(data_dir=tmp_path, source_roots=[tmp_path])  # type: ignore[arg-type]
    body = {
        "sources": [{"type": "upload"}],
        "options": {},
        "webhook_url": "https://hooks.example.org/ingest",
    }
    job_id = await job_service.create_job(db, settings, ADMIN, body)
    await job_service.delete_job(db, ADMIN, job_id)
    matcher = OutboxMatcher(db, gap_seconds=0.0)
    while (await matcher.run_once())[1]:
        pass
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(webhook_outbox.c.event_type, webhook_outbox.c.url).where(
                    webhook_outbox.c.target == outbox.JOB_TARGET
                )
            )
        ).all()
    assert rows == [("job.deleted", "https://hooks.example.org/ingest")]
