"""A NUL byte in an id, a filter or a body: SQLite stores it, PostgreSQL refuses it in text.
Either way the caller hears a clear 4xx problem (or, for a filter, an empty answer): never a
500. Regression: every one of these was a 500 on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import App


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/jobs/job_%00x"),
        ("GET", "/api/v1/jobs/job_%00x/files"),
        ("DELETE", "/api/v1/jobs/job_%00x"),
        ("POST", "/api/v1/jobs/job_%00x/actions/pause"),
        ("GET", "/api/v1/files/file_%00x"),
        ("GET", "/api/v1/files/file_%00x/chunks"),
        ("POST", "/api/v1/files/file_%00x/actions/retry"),
        ("GET", "/api/v1/webhooks/whk_%00x/deliveries"),
        ("DELETE", "/api/v1/keys/key_%00x"),
        ("HEAD", "/api/v1/uploads/%00x"),
    ],
)
async def test_a_nul_byte_in_an_id_is_a_client_error(app: App, method: str, path: str) -> None:
    response = await app.client.request(method, path, headers={"Tus-Resumable": "1.0.0"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if method != "HEAD":
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("query", ["after=%00", "label=team:%00", "status=running&label=%00:x"])
async def test_a_nul_byte_in_a_filter_is_never_a_server_error(app: App, query: str) -> None:
    response = await app.client.get(f"/api/v1/jobs?{query}")
    assert response.status_code < 500, response.text


async def test_a_nul_byte_in_a_job_body_is_a_validation_problem(app: App) -> None:
    response = await app.client.post(
        "/api/v1/jobs", json={"name": "bad\u0000name", "sources": [{"type": "upload"}]}
    )
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code != 201:  # SQLite stores it; PostgreSQL cannot
        assert response.json()["code"] == "validation_error"
