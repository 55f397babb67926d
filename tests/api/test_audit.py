"""The audit log: every mutating call, readable by admins only."""

from __future__ import annotations

from tests.conftest import App


async def test_mutations_are_audited_for_admins(app: App) -> None:
    member = {"Authorization": f"Bearer {await app.key('member', 'acme')}"}
    job = (
        await app.client.post(
            "/api/v1/jobs", headers=member, json={"sources": [{"type": "upload"}]}
        )
    ).json()
    await app.client.post(f"/api/v1/jobs/{job['id']}/actions/pause", headers=member)
    refused = await app.client.post("/api/v1/jobs/job_nope/actions/pause", headers=member)
    assert refused.status_code == 404
    await app.client.get("/api/v1/jobs", headers=member)  # reads are not audited

    entries = (await app.client.get("/api/v1/audit", params={"tenant": "acme"})).json()["items"]
    actions = [(e["action"], e["status"]) for e in entries]
    assert actions == [
        ("POST /api/v1/jobs/{job_id}/actions/{action}", 404),
        ("POST /api/v1/jobs/{job_id}/actions/{action}", 200),
        ("POST /api/v1/jobs", 201),
    ]
    newest = entries[1]
    assert newest["target"] == {"job_id": job["id"], "action": "pause"}
    assert (
        newest["tenant"] == "acme"
        and newest["role"] == "member"
        and newest["key_id"].startswith("key_")
    )
    assert newest["request_id"] and newest["at"].endswith("Z")
    assert (await app.client.get("/api/v1/audit", headers=member)).status_code == 403
