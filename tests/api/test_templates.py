"""Templates over HTTP, with real workers: discovery, the mapping queue, approval, re-run,
records, versions and diffs, analytics, export/import, and who may do what."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

from tests.conftest import App
from tests.eventually import eventually

# A real export: a title row and a blank row above the header, ';' separators, decimal commas.
INVOICES = (
    "Invoices export 2024;;;\n"
    ";;;\n"
    "Invoice No;Date;Customer;Amount\n"
    "A-1;03.04.2024;Ada;1.234,50\n"
    "A-2;04.04.2024;Grace;12,00\n"
    + "".join(f"A-{i};{i:02d}.05.2024;Linus;7,25\n" for i in range(3, 10))
    + "A-10;not a date;Linus;7,25\n"
)
SCHEMA = {
    "fields": [
        {"name": "invoice", "type": "string", "required": True},
        {"name": "date", "type": "date", "required": True},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "decimal"},
    ]
}
MAPPING = {
    "Invoice No": {"field": "invoice"},
    "Date": {"field": "date", "transform": {"type": "date_format", "format": "%d.%m.%Y"}},
    "Customer": {"field": "customer", "transform": {"type": "trim"}},
    "Amount": {"field": "amount"},
}


async def _job(app: App, folder: str) -> dict[str, Any]:
    response = await app.client.post(
        "/api/v1/jobs",
        json={
            "sources": [{"type": "directory", "path": folder}],
            "pipeline": "extract",
            "options": {"templates": True},
        },
    )
    assert response.status_code == 201, response.text
    return await app.wait_job(response.json()["id"])


async def _events(app: App) -> list[dict[str, Any]]:
    """The event log, as every channel (WebSocket, SSE, webhooks) reads it."""
    from ingestd.store import events as event_store

    async with app.runtime.db.read() as conn:
        return await event_store.list_events(conn, tenant=None, limit=5000)


async def _audited(app: App) -> list[str]:
    items = (await app.client.get("/api/v1/audit", params={"limit": 500})).json()["items"]
    return [f"{a['action']} {sorted(a['target'].values())} {a['status']}" for a in items]


async def test_discover_map_approve_rerun_and_records(app: App, source_root: Path) -> None:
    (source_root / "in1").mkdir()
    (source_root / "in1" / "invoices.csv").write_text(INVOICES)
    job = await _job(app, "in1")
    # A file waiting for a mapping does not hold its job open: it ends, and says how many wait.
    assert job["status"] == "completed", job
    assert job["progress"]["files"]["needs_mapping"] == 1 and job["progress"]["percent"] == 100.0
    [file] = await app.files(job["id"])
    assert file["status"] == "needs_mapping" and file["chunks"] >= 1

    templates = (await app.client.get("/api/v1/templates")).json()["items"]
    assert len(templates) == 1 and templates[0]["status"] == "discovered"
    template = (await app.client.get(f"/api/v1/templates/{templates[0]['id']}")).json()
    columns = {c["name"]: c["type"] for c in template["signature"]["columns"]}
    assert columns == {
        "Invoice No": "text",
        "Date": "date",
        "Customer": "categorical",
        "Amount": "decimal",
    }
    assert template["signature"]["header_row"] == 2  # below the title row and a blank row
    assert template["waiting_files"] == 1

    queue = (await app.client.get("/api/v1/mapping/queue")).json()["items"]
    assert [q["file_id"] for q in queue] == [file["id"]]
    assert queue[0]["samples"][0] == ["A-1", "03.04.2024", "Ada", "1.234,50"]
    assert queue[0]["closest"][0]["template_id"] == template["id"]

    member = await app.key("member")
    submitted = await app.client.post(
        f"/api/v1/mapping/{file['id']}",
        json={"target_schema": SCHEMA, "mapping": MAPPING},
        headers={"Authorization": f"Bearer {member}"},
    )
    assert submitted.status_code == 201, submitted.text
    version = submitted.json()
    assert version["status"] == "pending_approval" and version["version"] == 2

    refused = await app.client.post(
        f"/api/v1/templates/{template['id']}/versions/2/actions/approve",
        json={"comment": "ok"},
        headers={"Authorization": f"Bearer {member}"},
    )
    assert refused.status_code == 403
    approved = await app.client.post(
        f"/api/v1/templates/{template['id']}/versions/2/actions/approve",
        json={"comment": "looks right"},
    )
    assert approved.status_code == 200, approved.text

    async def status() -> str:
        return (await app.client.get(f"/api/v1/files/{file['id']}")).json()["status"]  # type: ignore[no-any-return]

    await eventually(status, until=lambda s: s == "completed", seconds=60, what="the re-run")
    job = await app.wait_job(job["id"])
    assert job["status"] == "completed" and job["progress"]["files"]["needs_mapping"] == 0

    records = (await app.client.get(f"/api/v1/files/{file['id']}/records")).json()
    assert [r["data"] for r in records["items"][:2]] == [
        {"invoice": "A-1", "date": "2024-04-03", "customer": "Ada", "amount": 1234.5},
        {"invoice": "A-2", "date": "2024-04-04", "customer": "Grace", "amount": 12.0},
    ]
    assert records["quality"] == 0.9
    assert records["errors"] == [
        {"table_index": 0, "row": 10, "column": "Date", "field": "date", "value": "not a date",
         "reason": "not a date in the format %d.%m.%Y"}
    ]  # fmt: skip
    jsonl = await app.client.get(f"/api/v1/files/{file['id']}/records", params={"format": "jsonl"})
    assert [orjson.loads(line)["row"] for line in jsonl.text.splitlines()] == list(range(1, 11))
    table = list(
        csv.reader(
            io.StringIO(
                (
                    await app.client.get(
                        f"/api/v1/jobs/{job['id']}/records", params={"format": "csv"}
                    )
                ).text
            )
        )
    )
    assert table[0] == ["file_id", "table", "row", "valid", "invoice", "date", "customer", "amount"]
    assert len(table) == 11
    per_job = (await app.client.get(f"/api/v1/jobs/{job['id']}/records")).json()
    assert per_job["rows"] == 10 and per_job["valid_rows"] == 9

    types = [e["type"] for e in await _events(app)]
    for wanted in (
        "template.discovered",
        "mapping.needed",
        "mapping.submitted",
        "mapping.approved",
        "records.stored",
    ):
        assert wanted in types, wanted

    audited = " | ".join(await _audited(app))
    assert "mapping" in audited and "approve" in audited, audited

    # The same layout again: applied at once.
    (source_root / "in2").mkdir()
    (source_root / "in2" / "more.csv").write_text(INVOICES.replace("A-", "B-"))
    job2 = await _job(app, "in2")
    [file2] = await app.files(job2["id"])
    assert file2["status"] == "completed"
    assert (await app.client.get(f"/api/v1/files/{file2['id']}/records")).json()["rows"] == 10

    # A changed layout: a column renamed, one added -> a new version of the same template.
    (source_root / "in3").mkdir()
    lines = INVOICES.splitlines()
    changed = [
        *lines[:2],
        "Invoice Number;Date;Customer;Amount;Note",
        *(f"{x};x" for x in lines[3:]),
    ]
    (source_root / "in3" / "changed.csv").write_text("\n".join(changed) + "\n")
    job3 = await _job(app, "in3")
    [file3] = await app.files(job3["id"])
    assert file3["status"] == "needs_mapping"
    versions = (await app.client.get(f"/api/v1/templates/{template['id']}/versions")).json()[
        "items"
    ]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[2]["diff"]["renamed"] == [{"from": "Invoice No", "to": "Invoice Number"}]
    assert versions[2]["diff"]["added"] == ["Note"]
    assert versions[2]["mapping"].keys() == {"Date", "Customer", "Amount"}  # carried over
    diff = (
        await app.client.get(
            f"/api/v1/templates/{template['id']}/versions/3", params={"diff_from": 1}
        )
    ).json()
    assert diff["added"] == ["Note"] and diff["from"] == 1
    assert (await app.client.delete(f"/api/v1/templates/{template['id']}")).status_code == 409

    analytics = (await app.client.get(f"/api/v1/templates/{template['id']}/analytics")).json()
    v2 = next(v for v in analytics["versions"] if v["version"] == 2)
    assert v2["files"] == 2 and v2["rows"] == 20 and v2["valid_rate"] == 0.9
    assert v2["top_errors"][0]["count"] == 2
    listed = (await app.client.get("/api/v1/templates", params={"status": "discovered"})).json()[
        "items"
    ]
    assert listed[0]["usage"]["files"] == 2

    suggestions = (
        await app.client.post(f"/api/v1/templates/{template['id']}/suggestions", json={})
    ).json()["items"]
    best = {s["column"]: s["suggestions"][0]["field"] for s in suggestions}
    assert best["Invoice Number"] == "invoice" and best["Amount"] == "amount"

    exported = (await app.client.get("/api/v1/templates/export")).json()
    assert [len(t["versions"]) for t in exported["templates"]] == [3]
    other = await app.key("admin", tenant="elsewhere")
    imported = await app.client.post(
        "/api/v1/templates/import", json=exported, headers={"Authorization": f"Bearer {other}"}
    )
    assert imported.status_code == 201, imported.text
    theirs = (
        await app.client.get("/api/v1/templates", headers={"Authorization": f"Bearer {other}"})
    ).json()
    assert len(theirs["items"]) >= 1
    # another tenant's template is 404, never 403
    viewer = await app.key("member", tenant="elsewhere")
    peek = await app.client.get(
        f"/api/v1/templates/{template['id']}", headers={"Authorization": f"Bearer {viewer}"}
    )
    assert peek.status_code == 404


async def test_hostile_input_is_a_clear_422(app: App) -> None:
    bad = await app.client.post(
        "/api/v1/templates",
        json={
            "name": "t",
            "columns": [{"name": "a", "type": "text"}],
            "target_schema": {"fields": [{"name": "x", "type": "string"}]},
            "mapping": {"a": {"field": "nope"}, "ghost": {"field": "x"}},
        },
    )
    assert (
        bad.status_code == 422
        and "nope" in bad.json()["detail"]
        and "ghost" in bad.json()["detail"]
    )
    bad = await app.client.post("/api/v1/templates/import", json={"schema": "other"})
    assert bad.status_code == 422
    bad = await app.client.get("/api/v1/templates", params={"status": "weird"})
    assert bad.status_code == 422 and "allowed" in str(bad.json())


async def test_hand_made_template_reject_and_no_approval_mode(
    start_app: Any, source_root: Path
) -> None:
    async with start_app(templates_require_approval=False) as app:
        created = await app.client.post(
            "/api/v1/templates",
            json={
                "name": "people",
                "columns": [{"name": "Name"}, {"name": "Email", "type": "email"}],
            },
        )
        assert created.status_code == 201, created.text
        tid = created.json()["id"]
        assert created.json()["status"] == "discovered"
        edited = await app.client.put(
            f"/api/v1/templates/{tid}",
            json={
                "target_schema": {"fields": [{"name": "email", "type": "email"}]},
                "mapping": {"Email": "email"},
            },
        )
        assert edited.json()["current_version"] == 2 and edited.json()["status"] == "approved"
        (source_root / "p").mkdir()
        (source_root / "p" / "people.csv").write_text(
            "Name,Email\nAda,ada@example.org\nBob,not-an-email\n"
        )
        job = await _job(app, "p")
        [file] = await app.files(job["id"])
        assert file["status"] == "completed"
        records = (await app.client.get(f"/api/v1/files/{file['id']}/records")).json()
        assert (
            records["quality"] == 0.5 and records["errors"][0]["reason"] == "not an email address"
        )
        pending = await app.client.post(
            f"/api/v1/templates/{tid}/versions/2/actions/reject", json={"comment": "no"}
        )
        assert pending.status_code == 409  # approved already: nothing to decide


async def test_webhooks_can_subscribe_to_template_events(app: App) -> None:
    events = [
        "template.discovered",
        "template.versioned",
        "mapping.needed",
        "mapping.submitted",
        "mapping.approved",
        "mapping.rejected",
        "records.stored",
    ]
    response = await app.client.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.org/ingestd", "events": events}
    )
    assert response.status_code == 201, response.text
    assert sorted(response.json()["events"]) == sorted(events)
