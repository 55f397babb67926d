"""``ingestd templates …`` and ``ingestd mapping queue`` against the app on a socket."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ingestd.client import AsyncClient, JobOptions, sources
from tests.cli.conftest import Run, Served
from tests.conftest import ADMIN_KEY
from tests.eventually import eventually


async def test_templates_and_mapping_commands(
    cli: Run, served: Served, source_root: Path, tmp_path: Path
) -> None:
    (source_root / "t").mkdir()
    (source_root / "t" / "stock.csv").write_text(
        "SKU,Qty,Unit Price\n" + "".join(f"S{i},{i},{i}.50\n" for i in range(10))
    )
    transport = httpx.ASGITransport(app=served.app.asgi)
    async with AsyncClient(
        "http://test", api_key=ADMIN_KEY, transport=transport, upload_store=False
    ) as sdk:
        job = await sdk.jobs.create(
            sources.directory("t"), pipeline="extract", options=JobOptions(templates=True)
        )
        await sdk.jobs.wait(job.id)
        [t] = [t async for t in sdk.templates.list()]
        await sdk.templates.update(
            t.id,
            target_schema={
                "fields": [
                    {"name": "quantity", "type": "integer"},
                    {"name": "price", "type": "decimal"},
                ]
            },
        )

    queue = await cli("mapping", "queue")
    assert queue.exit_code == 0, queue.output
    assert "Qty (integer) → quantity" in queue.output and "file_" in queue.output
    listed = await cli("templates", "list")
    assert listed.exit_code == 0 and t.id in listed.output and "discovered" in listed.output
    assert all(len(line) <= 80 for line in listed.output.splitlines())
    shown = await cli("templates", "show", t.id)
    assert json.loads(shown.output)["id"] == t.id
    out = tmp_path / "templates.json"
    exported = await cli("templates", "export", "-o", str(out))
    assert (
        exported.exit_code == 0 and json.loads(out.read_text())["templates"][0]["name"] == "stock"
    )
    imported = await cli("templates", "import", str(out))
    assert imported.exit_code == 0 and "imported 1 template(s)" in imported.output

    async def count() -> int:
        return len((await served.app.client.get("/api/v1/templates")).json()["items"])

    await eventually(count, until=lambda n: n == 2, what="the imported template")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    refused = await cli("templates", "import", str(bad))
    assert refused.exit_code == 2 and "not a JSON export" in refused.output
