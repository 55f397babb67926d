"""docs/grafana-dashboard.json only queries series that /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import App
from tests.observe.scrape import names

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
SERIES = re.compile(r"\bingestd_[a-z0-9_]+")


def queried_series() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    return {name for expr in exprs for name in SERIES.findall(expr)}


def test_the_dashboard_is_valid_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"


async def test_every_series_the_dashboard_queries_exists(sqlite_app: App, docs: Path) -> None:
    app = sqlite_app
    for i in range(3):  # some work, so that labelled series have samples
        (docs / f"d{i}.md").write_text(f"# D {i}\n\ntext {i} " * 40)
    (docs / "empty.txt").write_bytes(b"")
    created = await app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
    )
    await app.wait_job(created.json()["id"])
    served = names((await app.client.get("/metrics")).text)
    # Families whose samples appear only once something happens (a webhook, a lagging client,
    # a rescue): their metadata is still served (# HELP / # TYPE), which is what is checked.
    text = (await app.client.get("/metrics")).text
    declared = set(re.findall(r"^# TYPE (ingestd_[a-z0-9_]+) (\w+)", text, re.M))
    by_family = {name: kind for name, kind in declared}
    missing = []
    for series in sorted(queried_series()):
        if series in served or series in by_family:
            continue
        family = re.sub(r"_(bucket|count|sum|total|created)$", "", series)
        if family in by_family:
            continue
        missing.append(series)
    assert not missing, f"the dashboard queries series /metrics does not serve: {missing}"
