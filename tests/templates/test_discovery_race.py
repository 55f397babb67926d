"""Two workers that meet the same new layout at the same instant make one template of it.

Before, on PostgreSQL both read the tenant's templates before either committed, found nothing
alike, and each created a ``discovered`` template: the mapping queue showed the layout twice.
Here both workers' transactions are held at the point of creating the template until the other
arrives there too (or half a second passes): on PostgreSQL, without the lock, both arrived."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ingestd.pipeline import tabular
from ingestd.services import templates as tpl_service
from ingestd.store.claims import claim_next_files
from ingestd.store.db import Database
from ingestd.store.tables import templates
from ingestd.worker.templates import TemplateStep
from tests.queue.factory import LEASE, make_job


async def test_two_workers_meeting_a_new_layout_at_once_make_one_template(
    db: Database, tmp_path: Path, monkeypatch: Any
) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("order,amount,placed\nA-1,10.50,2026-01-02\nA-2,7.25,2026-01-03\n")
    tables = tabular.table_signatures(str(csv), "text/csv", csv.name)
    await make_job(db, 2, local_paths=[str(csv)] * 2)
    claimed = await claim_next_files(db, "w1", 2, now=time.time(), lease_seconds=LEASE)
    assert len(claimed) == 2

    arrived, both = 0, asyncio.Event()
    create = tpl_service.new_template

    async def racing(*args: Any, **kwargs: Any) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 0.5)
        return await create(*args, **kwargs)

    monkeypatch.setattr(tpl_service, "new_template", racing)
    workers = [TemplateStep(db, None), TemplateStep(db, None)]  # type: ignore[arg-type]  # no pool
    decided = await asyncio.gather(
        *(step._decide(file, tables) for step, file in zip(workers, claimed, strict=True))
    )
    async with db.read() as conn:
        made = (await conn.execute(sa.select(sa.func.count()).select_from(templates))).scalar()
    assert made == 1 and arrived == 1
    [[first], [second]] = [waiting for _plans, waiting in decided]
    assert first["template_id"] == second["template_id"]  # both tables wait for the same one
