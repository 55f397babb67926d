"""The client commands against the app in process, in an 80-column terminal (issue #12: 3, 6,
9, 10, 11, 13)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import httpx
import pytest

from ingestd.client import AsyncClient, JobStatus, sources
from tests.cli.conftest import Run, Served
from tests.conftest import ADMIN_KEY

IDS = re.compile(r"\b(?:job|file|key)_[0-9A-Z]{26}\b")


def assert_fits(text: str, width: int = 80) -> None:
    assert all(len(line) <= width for line in text.splitlines()), text


async def sdk(served: Served) -> AsyncClient:
    transport = httpx.ASGITransport(app=served.app.asgi)
    return AsyncClient("http://test", api_key=ADMIN_KEY, transport=transport, upload_store=False)


async def test_without_a_key_it_says_which_setting_to_give(cli: Run, served: Served) -> None:
    result = await cli("jobs", "list", env={**served.env(), "INGESTD_KEY": ""})
    assert result.exit_code == 1
    assert "set INGESTD_KEY or pass --key" in result.stderr
    assert "Authorization" not in result.stderr and "Traceback" not in result.output
    wrong = await cli("jobs", "list", "--key", "ik_nope_nope_nope_nope")
    assert wrong.exit_code == 1 and "check INGESTD_KEY or --key" in wrong.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--priority", "asap"], "'asap' is not one of"),
        (["--pipeline", "everything"], "'everything' is not one of"),
        (["--label", "badlabel"], "a label is key=value"),
        (["--max-file-size", "lots"], "is not a size"),
        (["--option", "templates"], "an option is key=value"),
    ],
)
async def test_options_are_checked_before_anything_is_sent(
    cli: Run, served: Served, tmp_path: Path, args: list[str], says: str
) -> None:
    (tmp_path / "a.txt").write_text("a")
    result = await cli("submit", str(tmp_path / "a.txt"), *args)
    assert result.exit_code == 2, result.output
    assert says in re.sub(r"\s+", " ", result.stderr.replace("│", " "))
    async with await sdk(served) as client:
        assert [j async for j in client.jobs.list()] == []


async def test_oversize_files_are_not_sent_and_no_retry_is_suggested(
    cli: Run, served: Served, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "small.txt").write_text("small file " * 10)
    (folder / "big.bin").write_bytes(b"\1" * 5000)
    result = await cli(
        "submit", str(folder), "--upload", "--max-file-size", "2kB", "--pipeline", "store", "-w"
    )
    assert result.exit_code == 0, result.output
    assert re.search(
        r"not sent: big\.bin: 5,000 bytes is over the job's max_file_size", result.stderr
    )
    assert "uploaded 1 file(s), 110 B" in result.stderr
    assert "jobs retry" not in result.stderr
    async with await sdk(served) as client:
        [job] = [j async for j in client.jobs.list()]
        assert job.options["max_file_size"] == 2000
        assert [f.path async for f in client.jobs.files(job.id)] == ["small.txt"]


async def test_job_options_are_passed_with_option(cli: Run, served: Served, tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\ntext")
    result = await cli(
        "submit", str(tmp_path / "a.md"), "--upload", "-o", "templates=true",
        "--option", "chunk_size=512", "-o", "ocr=off", "-w",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    async with await sdk(served) as client:
        [job] = [j async for j in client.jobs.list()]
    assert job.options["templates"] is True and job.options["chunk_size"] == 512
    assert job.options["ocr"] == "off"
    refused = await cli("submit", str(tmp_path / "a.md"), "--upload", "-o", "chunk_szie=5")
    assert refused.exit_code == 1 and "chunk_szie: unknown field" in refused.stderr


async def test_tables_keep_ids_whole_at_80_columns(cli: Run, served: Served, docs: Path) -> None:
    for i in range(3):
        (docs / f"a-file-with-a-rather-long-name-{i}.md").write_text(f"# {i}\n\ntext {i}")
    async with await sdk(served) as client:
        job = await client.jobs.create(
            sources.directory("docs"), name="a job with a name far too long for the table"
        )
        await client.jobs.wait(job.id)
        file_ids = [f.id async for f in client.jobs.files(job.id)]
    listed = await cli("jobs", "list")
    assert listed.exit_code == 0, listed.output
    assert job.id in listed.stdout and "3/3" in listed.stdout and "100.0" in listed.stdout
    shown = await cli("files", job.id)
    assert all(file_id in shown.stdout for file_id in file_ids)
    keys = await cli("keys", "list", "--data-dir", str(served.app.settings.data_dir))
    assert keys.exit_code == 0, keys.output
    assert IDS.search(keys.stdout)
    for result in (listed, shown, keys):
        assert_fits(result.stdout)
        for found in IDS.findall(result.stdout):
            assert len(found) >= 30  # whole: prefix, underscore, 26 characters


async def test_retry_all_runs_a_cancelled_job_again(cli: Run, served: Served) -> None:
    async with await sdk(served) as client:
        job = await client.jobs.create(sources.upload(), pipeline="store")
        await client.jobs.pause(job.id)
        await client._http.request(
            "POST",
            f"/api/v1/jobs/{job.id}/files",
            files=[
                ("file", ("a.txt", b"aaa", "text/plain")),
                ("file", ("b.txt", b"bb", "text/plain")),
            ],
        )
        await client.jobs.cancel(job.id)
    plain = await cli("jobs", "retry", job.id)
    assert plain.exit_code == 1 and "no files to retry" in plain.stderr
    again = await cli("jobs", "retry", "--all", job.id)
    assert again.exit_code == 0, again.output
    async with await sdk(served) as client:
        await client.jobs.seal(job.id)
        final = await client.jobs.wait(job.id)
    assert final.status is JobStatus.COMPLETED and final.progress.files.completed == 2


async def test_a_failed_source_shows_in_files_and_in_the_summary(
    cli: Run, served: Served, source_root: Path
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.txt", b"\0" * (200 * 1024 * 1024))
    (source_root / "bomb.zip").write_bytes(buffer.getvalue())
    submitted = await cli("submit", str(source_root / "bomb.zip"), "--watch")
    assert submitted.exit_code == 1, submitted.output
    assert "source 0 (zip" in submitted.stderr and "zip_bomb" in submitted.stderr
    job_id = IDS.findall(submitted.stderr)[0]
    shown = await cli("files", job_id)
    assert "source 0" in shown.stdout and "zip_bomb" in shown.stdout
    assert_fits(submitted.stderr)
