"""The event sockets' dispatch ahead of the middleware stack: which paths it takes (the rest go
through the router, as before). Pure path matching; the sockets themselves are exercised over a
real uvicorn in test_websocket.py."""

from __future__ import annotations

import pytest

from ingestd.api.routes.events import websocket_endpoint


def test_all_events_path() -> None:
    found = websocket_endpoint("/api/v1/events")
    assert found is not None
    assert found[1] == {}


def test_job_events_path() -> None:
    found = websocket_endpoint("/api/v1/jobs/job_01ABC/events")
    assert found is not None
    assert found[1] == {"job_id": "job_01ABC"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events/",
        "/api/v1/jobs/events",
        "/api/v1/jobs//events",
        "/api/v1/jobs/a/b/events",
        "/api/v1/jobs/a/files",
        "/api/v2/events",
        "/events",
    ],
)
def test_other_paths_go_to_the_router(path: str) -> None:
    assert websocket_endpoint(path) is None
