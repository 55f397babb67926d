"""Retries: what is retried (idempotent requests, keyed job creation, unsent requests), how long
it waits (backoff with jitter, or Retry-After), and what is never retried."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from ingestd.client import (
    AsyncClient,
    ConflictError,
    ConnectError,
    RateLimitError,
    RequestTimeout,
    RetryPolicy,
    UnavailableError,
    sources,
)
from ingestd.client._retry import parse_retry_after

JOB = {"id": "job_1", "status": "queued", "name": "x"}
Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving ``answers`` in turn (the last one again), and the requests it saw."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


def problem(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"status": status, "code": code, "detail": f"{code} here", "title": code}
    return httpx.Response(status, json=body, headers=headers)


def client_for(handler: Handler, sleeps: list[float], retries: int = 4) -> AsyncClient:
    client = AsyncClient(
        "http://ingestd.test",
        api_key="ik_x",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(retries=retries, backoff=0.5, backoff_max=4.0),
        upload_store=False,
    )

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client._http.sleep = sleep
    return client


async def test_a_read_is_retried_on_503_and_429_honouring_retry_after() -> None:
    handler, seen = scripted(
        problem(503, "unavailable"),
        problem(429, "rate_limit_exceeded", **{"Retry-After": "7"}),
        httpx.Response(200, json=JOB),
    )
    sleeps: list[float] = []
    async with client_for(handler, sleeps) as client:
        job = await client.jobs.get("job_1")
    assert job.id == "job_1" and len(seen) == 3
    assert 0.25 <= sleeps[0] <= 0.5  # backoff with jitter
    assert sleeps[1] == 7.0  # what the server asked for


async def test_backoff_doubles_up_to_its_cap_then_the_error_is_raised() -> None:
    handler, seen = scripted(problem(503, "unavailable"))
    sleeps: list[float] = []
    async with client_for(handler, sleeps, retries=5) as client:
        with pytest.raises(UnavailableError) as failed:
            await client.jobs.get("job_1")
    assert failed.value.status == 503 and len(seen) == 6
    caps = [0.5, 1.0, 2.0, 4.0, 4.0]
    assert all(cap / 2 <= slept <= cap for slept, cap in zip(sleeps, caps, strict=True))


async def test_job_creation_is_retried_with_one_idempotency_key() -> None:
    handler, seen = scripted(
        httpx.ReadTimeout("lost"), problem(503, "unavailable"), httpx.Response(201, json=JOB)
    )
    async with client_for(handler, []) as client:
        job = await client.jobs.create(sources.upload())
    assert job.id == "job_1" and len(seen) == 3
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(keys) == 1 and len(keys.pop()) >= 16


async def test_a_chosen_idempotency_key_is_sent_as_given() -> None:
    handler, seen = scripted(httpx.Response(200, json=JOB))
    async with client_for(handler, []) as client:
        await client.jobs.create(sources.upload(), idempotency_key="nightly-2024-06-01")
    assert seen[0].headers["idempotency-key"] == "nightly-2024-06-01"


async def test_an_action_is_not_retried_once_it_may_have_reached_the_server() -> None:
    for failure in (problem(503, "unavailable"), httpx.ReadTimeout("lost")):
        handler, seen = scripted(failure, httpx.Response(200, json=JOB))
        async with client_for(handler, []) as client:
            with pytest.raises((UnavailableError, RequestTimeout)):
                await client.jobs.pause("job_1")
        assert len(seen) == 1


async def test_an_unsent_request_is_retried_whatever_its_method() -> None:
    handler, seen = scripted(httpx.ConnectError("refused"), httpx.Response(200, json=JOB))
    async with client_for(handler, []) as client:
        job = await client.jobs.pause("job_1")
    assert job.id == "job_1" and len(seen) == 2


async def test_refusals_are_not_retried_and_connection_failures_say_where() -> None:
    handler, seen = scripted(problem(409, "conflict"))
    async with client_for(handler, []) as client:
        with pytest.raises(ConflictError):
            await client.jobs.get("job_1")
    assert len(seen) == 1
    handler, seen = scripted(httpx.ConnectError("refused"))
    async with client_for(handler, [], retries=2) as client:
        with pytest.raises(ConnectError, match=r"ingestd\.test"):
            await client.health()
    assert len(seen) == 3
    handler, _ = scripted(problem(429, "rate_limit_exceeded", **{"Retry-After": "1"}))
    async with client_for(handler, [], retries=1) as client:
        with pytest.raises(RateLimitError):
            await client.stats()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0", 0.0), ("-2", 0.0), ("soon", None), (None, None), ("", None)],
)
def test_retry_after_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_a_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert RetryPolicy(retry_after_max=60).delay(0, 3600.0) == 60.0


def test_answers_keep_unknown_fields() -> None:
    from ingestd.client import Job

    job = Job.model_validate({**JOB, "brand_new": {"a": 1}, "status": "hibernating"})
    assert job.raw["brand_new"] == {"a": 1} and getattr(job, "brand_new") == {"a": 1}  # noqa: B009
    assert job.status == "hibernating" and not job.status.is_terminal
