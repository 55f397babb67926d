"""``search`` in the SDK: the async client against the app in process, the sync one as a wrapper
over a mock transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestd.client import (
    AsyncClient,
    BadRequestError,
    Client,
    NotFoundError,
    SearchResult,
    sources,
)
from tests.api.test_search import NEEDLE, OPTIONS, QUERY, write_corpus
from tests.conftest import App


async def test_async_client_searches_and_raises_problems(
    client: AsyncClient, app: App, docs: Path
) -> None:
    write_corpus(docs)
    job = await client.jobs.create(sources.directory("docs"), pipeline="extract", options=OPTIONS)
    await client.jobs.wait(job.id)
    result = await client.search(QUERY, k=2)
    assert result.mode == "lexical" and len(result.items) == 2
    assert NEEDLE in result.items[0].chunk.text
    scoped = await client.search(QUERY, job_id=job.id, k=1)
    assert [i.job_id for i in scoped.items] == [job.id]
    with pytest.raises(NotFoundError) as missing:
        await client.search(QUERY, job_id="job_00000000000000000000000000")
    assert missing.value.status == 404 and missing.value.code == "not_found"
    with pytest.raises(BadRequestError) as blank:
        await client.search("  ")
    assert blank.value.status == 422 and blank.value.code == "validation_error"


def test_sync_client_sends_the_same_request() -> None:
    seen: list[httpx.Request] = []
    answer = {"items": [], "query": "sails", "mode": "lexical", "truncated": False}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    mock = httpx.MockTransport(handler)
    with Client("http://ingestd.test", api_key="ik_x", transport=mock) as client:
        result = client.search("sails", job_id="job_1", k=3)
        assert isinstance(result, SearchResult) and result.raw == answer
        client.search("sails")
    params: list[dict[str, Any]] = [dict(r.url.params) for r in seen]
    assert params == [{"q": "sails", "k": "3", "job_id": "job_1"}, {"q": "sails", "k": "10"}]
    assert {r.url.path for r in seen} == {"/api/v1/search"}
    assert seen[0].headers["authorization"] == "Bearer ik_x"
