"""``ingestd errors``, ``ingestd retry``, ``ingestd usage`` and ``ingestd jobs timings`` against
the app in process, in an 80-column terminal."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx

from ingestd.client import AsyncClient, sources
from tests.cli.conftest import Run, Served
from tests.cli.test_commands import assert_fits
from tests.conftest import ADMIN_KEY
from tests.operations.test_api import write_mixed


async def finished_job(served: Served, docs: Path) -> str:
    write_mixed(docs)
    transport = httpx.ASGITransport(app=served.app.asgi)
    async with AsyncClient(
        "http://test", api_key=ADMIN_KEY, transport=transport, upload_store=False
    ) as client:
        job = await client.jobs.create(sources.directory("docs"))
        await client.jobs.wait(job.id)
    return job.id


async def test_errors_then_retry_by_code(cli: Run, served: Served, docs: Path) -> None:
    job_id = await finished_job(served, docs)
    report = await cli("errors", "--since", "1h")
    assert report.exit_code == 0, report.output
    assert "empty_file" in report.stdout and "unsupported_type" in report.stdout
    assert "ingestd retry --code" in report.stdout
    assert_fits(report.stdout)

    dry = await cli("retry", "--code", "empty_file", "--dry-run")
    assert dry.exit_code == 0 and "1 file(s) match; nothing changed" in dry.stdout
    done = await cli("retry", "--code", "empty_file", "--job", job_id)
    assert done.exit_code == 0 and "retried 1 file(s)" in done.stdout
    refused = await cli("retry", "--status", "completed")
    assert refused.exit_code == 1 and "cannot be retried" in refused.stderr


async def test_usage_and_timings(cli: Run, served: Served, docs: Path) -> None:
    job_id = await finished_job(served, docs)
    table = await cli("usage")
    assert table.exit_code == 0, table.output
    assert "files" in table.stdout and "cpu s" in table.stdout
    assert_fits(table.stdout)
    as_csv = await cli("usage", "--csv", "--group-by", "tenant")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows[0]["tenant"] == "default" and rows[0]["files"] == "3"
    bad = await cli("usage", "--group-by", "week")
    assert bad.exit_code == 1 and "group_by" in bad.stderr

    timings = await cli("jobs", "timings", job_id)
    assert timings.exit_code == 0, timings.output
    assert "parsing" in timings.stdout and "queue wait" in timings.stdout
    assert_fits(timings.stdout)
