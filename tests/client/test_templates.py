"""The SDK's templates, mapping and records methods, async (in process) and sync (a real socket)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from ingestd.client import AsyncClient, Client, ConflictError, JobOptions, sources
from tests.conftest import ADMIN_KEY
from tests.eventually import eventually

CSV = "Name;Email;Joined\n" + "".join(
    f"P{i};p{i}@example.org;0{1 + i % 9}.01.2024\n" for i in range(12)
)
SCHEMA = {
    "fields": [
        {"name": "name", "type": "string", "required": True},
        {"name": "email", "type": "email"},
        {"name": "joined", "type": "date", "format": "%d.%m.%Y"},
    ]
}
MAPPING = {"Name": {"field": "name"}, "Email": {"field": "email"}, "Joined": {"field": "joined"}}


async def test_async_client_covers_the_whole_workflow(
    client: AsyncClient, source_root: Path
) -> None:
    (source_root / "people").mkdir()
    (source_root / "people" / "people.csv").write_text(CSV)
    job = await client.jobs.create(
        sources.directory("people"), pipeline="extract", options=JobOptions(templates=True)
    )
    job = await client.jobs.wait(job.id)
    [file] = [f async for f in client.jobs.files(job.id)]
    assert file.status == "needs_mapping"

    [waiting] = [item async for item in client.mapping.queue()]
    assert waiting.file_id == file.id and waiting.signature.columns[1].type == "email"
    [template] = [t async for t in client.templates.list(status="discovered")]
    ref = await client.mapping.submit(file.id, target_schema=SCHEMA, mapping=MAPPING)
    assert ref.status == "pending_approval" and ref.template_id == template.id
    approved = await client.templates.approve(template.id, ref.version, comment="fine")
    assert approved.status == "approved"

    async def status() -> str:
        return str((await client.files.get(file.id)).status)

    await eventually(status, until=lambda s: s == "completed", seconds=60, what="the re-run")
    page = await client.records.file(file.id)
    assert page.quality == 1.0 and page.items[0].data == {
        "name": "P0",
        "email": "p0@example.org",
        "joined": "2024-01-01",
    }
    assert [r.row async for r in client.records.iter_job(job.id)] == list(range(1, 13))
    assert len([r async for r in client.records.iter_file(file.id)]) == 12
    assert (await client.records.job(job.id)).rows == 12
    jsonl = await client.records.export(file_id=file.id, format="jsonl")
    assert orjson.loads(jsonl.splitlines()[0])["data"]["name"] == "P0"

    detail = await client.templates.get(template.id)
    assert detail.approved_version == ref.version and detail.usage.files == 1
    edited = await client.templates.update(
        template.id,
        columns=[{"name": "Name"}, {"name": "E-Mail", "type": "email"}],
        mapping={"Name": "name"},
    )
    assert edited.current_version == ref.version + 1
    diff = await client.templates.diff(template.id, edited.current_version, from_version=1)
    assert diff.renamed == [{"from": "Email", "to": "E-Mail"}] and diff.removed == ["Joined"]
    assert [v.version for v in await client.templates.versions(template.id)] == [1, 2, 3]
    assert (await client.templates.version(template.id, 2)).status == "approved"
    rejected = await client.templates.reject(template.id, 3, comment="keep the date")
    assert rejected.status == "rejected"
    analytics = await client.templates.analytics(template.id)
    assert next(v for v in analytics.versions if v.version == 2).rows == 12
    suggestions = await client.templates.suggestions(template.id)
    assert suggestions[1].suggestions[0].field == "email"

    exported = await client.templates.export()
    imported = await client.templates.import_(exported)
    assert imported.imported == 1
    made = await client.templates.create("by hand", [{"name": "A"}])
    await client.templates.delete(made.id)
    assert made.status == "discovered"


async def test_sync_client_has_the_same_methods_working(
    loopback_url: str, source_root: Path, tmp_path: Path
) -> None:
    (source_root / "people2").mkdir()
    (source_root / "people2" / "people.csv").write_text(CSV)

    def scenario() -> dict[str, Any]:
        with Client(loopback_url, api_key=ADMIN_KEY, upload_store=tmp_path / "u.json") as c:
            job = c.jobs.create(
                sources.directory("people2"), pipeline="extract", options=JobOptions(templates=True)
            )
            c.jobs.wait(job.id)
            [item] = list(c.mapping.queue())
            ref = c.mapping.submit(item.file_id, target_schema=SCHEMA, mapping=MAPPING)
            try:
                c.templates.delete(ref.template_id)
                conflict = False
            except ConflictError:
                conflict = True
            c.templates.approve(ref.template_id, ref.version)
            while c.files.get(item.file_id).status != "completed":
                pass
            return {
                "conflict": conflict,
                "templates": [t.name for t in c.templates.list()],
                "rows": c.records.file(item.file_id).rows,
                "csv": c.records.export(job_id=job.id).decode().splitlines()[0],
                "suggested": c.templates.suggestions(ref.template_id)[0].suggestions[0].field,
            }

    out = await asyncio.to_thread(scenario)
    assert out["conflict"] and out["templates"] == ["people"] and out["rows"] == 12
    assert out["csv"] == "file_id,table,row,valid,name,email,joined"
    assert out["suggested"] == "name"
