"""Validation errors: one status (422) for a refused value, whose ``detail`` says which field and
why — an unknown field by name, an enum with its allowed values — and a job's ``webhook_url`` held
to the same outbound check as a webhook's, with a message that says how to allow it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import App

UPLOAD = [{"type": "upload"}]


async def refused(app: App, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    response = await app.client.request(method, url, **kwargs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["code"] == "validation_error" and problem["errors"]
    return problem


async def test_an_unknown_option_is_named_in_the_detail(sqlite_app: App) -> None:
    problem = await refused(
        sqlite_app, "POST", "/api/v1/jobs", json={"sources": UPLOAD, "options": {"chunk_szie": 5}}
    )
    assert problem["detail"] == "options.chunk_szie: unknown field"
    assert problem["errors"][0]["loc"] == ["body", "options", "chunk_szie"]


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"priority": "asap"}, "priority", ["low", "normal", "high", "urgent"]),
        ({"pipeline": "everything"}, "pipeline", ["full", "extract", "store"]),
        (
            {"sources": [{"type": "ftp"}]},
            "sources[0]",
            ["upload", "directory", "zip", "url", "s3"],
        ),
    ],
)
async def test_an_enum_error_lists_the_allowed_values(
    sqlite_app: App, body: dict[str, Any], field: str, allowed: list[str]
) -> None:
    problem = await refused(sqlite_app, "POST", "/api/v1/jobs", json={"sources": UPLOAD, **body})
    assert problem["detail"].startswith(f"{field}: ")
    assert all(f"'{value}'" in problem["detail"] for value in allowed), problem["detail"]


async def test_an_unknown_action_lists_the_actions(sqlite_app: App) -> None:
    job = (await sqlite_app.client.post("/api/v1/jobs", json={"sources": UPLOAD})).json()
    problem = await refused(sqlite_app, "POST", f"/api/v1/jobs/{job['id']}/actions/explode")
    assert problem["detail"].startswith("action: ")
    for action in ("start", "pause", "resume", "cancel", "retry", "seal"):
        assert f"'{action}'" in problem["detail"]


async def test_several_reasons_are_all_in_the_detail(sqlite_app: App) -> None:
    body = {"sources": UPLOAD, "options": {"chunk_size": 10, "max_retries": 99}, "extra": 1}
    problem = await refused(sqlite_app, "POST", "/api/v1/jobs", json=body)
    for part in ("options.chunk_size: ", "options.max_retries: ", "extra: unknown field"):
        assert part in problem["detail"], problem["detail"]


async def test_a_source_path_and_a_label_filter_are_422_too(sqlite_app: App) -> None:
    path = await refused(
        sqlite_app, "POST", "/api/v1/jobs", json={"sources": [{"type": "zip", "path": "../x"}]}
    )
    assert path["detail"].startswith("sources[0].path: ")
    label = await refused(sqlite_app, "GET", "/api/v1/jobs", params={"label": "nolabel"})
    assert label["detail"].startswith("label: ")


async def test_an_unknown_event_type_lists_the_known_ones(sqlite_app: App) -> None:
    problem = await refused(
        sqlite_app,
        "POST",
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/x", "events": ["job.exploded"]},
    )
    assert "job.exploded" in problem["detail"] and "job.completed" in problem["detail"]


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://localhost:9000/hook"])
async def test_a_refused_webhook_url_is_refused_on_a_job_as_on_a_webhook(
    sqlite_app: App, url: str
) -> None:
    job = await refused(
        sqlite_app, "POST", "/api/v1/jobs", json={"sources": UPLOAD, "webhook_url": url}
    )
    hook = await refused(sqlite_app, "POST", "/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert job["detail"].removeprefix("webhook_url: ") == hook["detail"].removeprefix("url: ")
    for problem in (job, hook):
        assert "INGESTD_OUTBOUND_ALLOW" in problem["detail"]
        assert "restart" in problem["detail"]
    assert job["errors"][0]["loc"] == ["body", "webhook_url"]
    listed = (await sqlite_app.client.get("/api/v1/jobs")).json()["items"]
    assert listed == []  # nothing was created


async def test_a_webhook_url_that_is_not_http_is_refused_without_the_allowlist_hint(
    sqlite_app: App,
) -> None:
    job = await refused(
        sqlite_app,
        "POST",
        "/api/v1/jobs",
        json={"sources": UPLOAD, "webhook_url": "ftp://files.example.com/x"},
    )
    assert "http" in job["detail"] and "INGESTD_OUTBOUND_ALLOW" not in job["detail"]


async def test_the_allowlist_lets_a_job_name_a_private_webhook_url(
    start_app: Callable[..., Any],
) -> None:
    async with start_app(outbound_allow=["10.0.0.0/8"]) as app:
        created = await app.client.post(
            "/api/v1/jobs", json={"sources": UPLOAD, "webhook_url": "http://10.0.0.5/hook"}
        )
        assert created.status_code == 201, created.text
