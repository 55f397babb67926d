"""Usage, errors, the bulk retry and timings in the SDK: the async client against the app in
process, the sync one against the same app on a loopback socket (parity of results)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ingestd.client import (
    AsyncClient,
    BadRequestError,
    Client,
    ErrorReport,
    JobTimings,
    RetryResult,
    Usage,
    sources,
)
from tests.conftest import ADMIN_KEY, App
from tests.operations.test_api import write_mixed


async def test_async_client_reads_operations(client: AsyncClient, app: App, docs: Path) -> None:
    write_mixed(docs)
    job = await client.jobs.create(sources.directory("docs"))
    await client.jobs.wait(job.id)

    usage = await client.usage(group_by=["tenant", "pipeline"])
    assert isinstance(usage, Usage) and usage.group_by == ["tenant", "pipeline"]
    [row] = usage.items
    assert (row.tenant, row.pipeline, row.files, row.jobs) == ("default", "full", 3, 1)
    assert row.cpu_seconds > 0
    text = await client.usage_csv(from_=usage.from_, to=usage.to)
    assert text.splitlines()[0].startswith("day,jobs,files,bytes")

    errors = await client.errors(since="1h", bucket="10m")
    assert isinstance(errors, ErrorReport) and errors.total == 2
    assert {g.code for g in errors.items} == {"empty_file", "unsupported_type"}
    assert all(g.example["file_id"].startswith("file_") for g in errors.items)

    counted = await client.files.retry_matching(error_code="unsupported_type", dry_run=True)
    assert counted == RetryResult(matched=1, retried=0, dry_run=True)
    done = await client.files.retry_matching(error_code="unsupported_type", job_id=job.id)
    assert (done.matched, done.retried, done.dry_run) == (1, 1, False)
    await client.jobs.wait(job.id)

    timings = await client.jobs.timings(job.id, slowest=1)
    assert isinstance(timings, JobTimings) and timings.job_id == job.id
    assert timings.steps["parsing"].files == 3 and len(timings.slowest) == 1

    with pytest.raises(BadRequestError) as refused:
        await client.usage(group_by="week")
    assert refused.value.status == 422 and "group_by" in str(refused.value)


async def test_sync_client_gets_what_the_async_one_gets(
    sqlite_client: AsyncClient, loopback_url: str, docs: Path
) -> None:
    write_mixed(docs)
    job = await sqlite_client.jobs.create(sources.directory("docs"))
    await sqlite_client.jobs.wait(job.id)

    def in_sync() -> tuple[object, ...]:
        with Client(loopback_url, api_key=ADMIN_KEY, upload_store=False) as sync:
            return (
                sync.usage().raw,
                sync.usage_csv(),
                sync.errors(since="1h").raw,
                sync.files.retry_matching(dry_run=True).raw,
                sync.jobs.timings(job.id).raw,
            )

    usage, csv_text, errors, retry, timings = await asyncio.to_thread(in_sync)
    assert usage == (await sqlite_client.usage()).raw
    assert csv_text == await sqlite_client.usage_csv()
    assert errors == (await sqlite_client.errors(since="1h")).raw | {"since": errors["since"]}
    assert retry == {"matched": 2, "retried": 0, "dry_run": True}
    assert timings == (await sqlite_client.jobs.timings(job.id)).raw
