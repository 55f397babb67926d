"""Uploads through the SDK against the app in process: folders with the server's include rules,
multipart batches and resumable tus uploads, files the job would refuse, re-runs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ingestd.client import (
    AsyncClient,
    FileStatus,
    JobStatus,
    UploadProgress,
    UploadStore,
    sources,
)
from ingestd.client._tus import TusUpload
from tests.conftest import ADMIN_KEY, App

KB = 1024


class Recording(httpx.AsyncBaseTransport):
    """The app's transport, noting each request's method, path and headers."""

    def __init__(self, app: App) -> None:
        self.inner = httpx.ASGITransport(app=app.asgi)
        self.seen: list[tuple[str, str, httpx.Headers]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers))
        return await self.inner.handle_async_request(request)

    def patched_bytes(self) -> int:
        return sum(int(h["content-length"]) for m, _, h in self.seen if m == "PATCH")


@pytest.fixture
def recording(sqlite_app: App) -> Recording:
    return Recording(sqlite_app)


@pytest.fixture
async def tus_client(recording: Recording, store: UploadStore) -> AsyncIterator[AsyncClient]:
    """Files of 64 KB and more go by tus, in 16 KB chunks."""
    async with AsyncClient(
        "http://test",
        api_key=ADMIN_KEY,
        transport=recording,
        upload_store=store,
        tus_threshold=64 * KB,
        tus_chunk_size=16 * KB,
    ) as client:
        yield client


def tree(root: Path) -> None:
    files = {
        "a.md": "# A\n\nalpha",
        "B.MD": "# B\n\nbeta",
        "notes.txt": "plain",
        "drafts/c.md": "# C",
        "docs/deep/d.md": "# D",
        "docs/e.csv": "x,y\n1,2\n",
        ".hidden/f.md": "# F",
        ".g.md": "# G",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def test_a_folder_goes_up_as_the_server_would_select_it(
    sqlite_client: AsyncClient, tmp_path: Path
) -> None:
    root = tmp_path / "folder"
    tree(root)
    job = await sqlite_client.jobs.create(sources.upload(), pipeline="extract")
    seen: list[UploadProgress] = []
    report = await sqlite_client.jobs.upload(
        job.id,
        root,
        include=["*.md", "docs/**"],
        exclude=["drafts/*"],
        seal=True,
        on_upload=seen.append,
    )
    expected = {"a.md", "B.MD", "docs/deep/d.md", "docs/e.csv"}
    assert report.files_sent == 4 and report.sealed and not report.rejected
    assert report.bytes_sent == sum((root / p).stat().st_size for p in expected)
    final = await sqlite_client.jobs.wait(job.id)
    assert final.status is JobStatus.COMPLETED
    paths = {f.relative_path async for f in sqlite_client.jobs.files(job.id)}
    assert paths == expected
    assert seen[-1].bytes_sent == seen[-1].bytes_total == report.bytes_sent
    sent = [p.bytes_sent for p in seen]
    assert sent == sorted(sent)


async def test_large_files_resume_from_the_stored_offset_after_a_crash(
    tus_client: AsyncClient,
    recording: Recording,
    store: UploadStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(200 * KB))
    small = tmp_path / "small.txt"
    small.write_text("tiny")
    job = await tus_client.jobs.create(sources.upload(), pipeline="store")

    real_patch = TusUpload._patch
    calls = 0

    async def crash_after_three(self: TusUpload, *args: object, **kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise SystemExit("killed")  # the process dies between two chunks
        return await real_patch(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TusUpload, "_patch", crash_after_three)
    with pytest.raises(SystemExit):
        await tus_client.jobs.upload(job.id, [small, big])
    assert store.path.is_file() and recording.patched_bytes() == 48 * KB
    monkeypatch.setattr(TusUpload, "_patch", real_patch)
    recording.seen.clear()

    seen: list[UploadProgress] = []
    report = await tus_client.jobs.upload(job.id, [small, big], seal=True, on_upload=seen.append)
    assert report.already_uploaded == 1 and report.files_sent == 1 and report.resumed == 1
    assert [p.resumed_from for p in seen if p.resumed_from] == [48 * KB]
    assert recording.patched_bytes() == 200 * KB - 48 * KB  # the rest only, not from zero
    assert report.bytes_sent == 200 * KB - 48 * KB  # what moved in this run
    patches = [h for m, _, h in recording.seen if m == "PATCH"]
    assert all(h["upload-checksum"].startswith("sha256 ") for h in patches)
    assert store.get_all() == {}  # forgotten once done
    final = await tus_client.jobs.wait(job.id)
    assert final.status is JobStatus.COMPLETED
    stored = {f.relative_path: f async for f in tus_client.jobs.files(job.id)}
    assert stored["big.bin"].sha256 == hashlib.sha256(big.read_bytes()).hexdigest()


async def test_files_over_the_jobs_limit_are_never_sent(
    tus_client: AsyncClient, recording: Recording, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.txt").write_bytes(b"x" * 500)
    (folder / "huge.bin").write_bytes(b"y" * 100 * KB)
    job = await tus_client.jobs.create(
        sources.upload(), pipeline="store", options={"max_file_size": 1000}
    )
    report = await tus_client.jobs.upload(job.id, folder, seal=True)
    assert report.files_sent == 1 and report.bytes_sent == 500
    [rejected] = report.rejected
    assert rejected.path == "huge.bin" and rejected.code == "too_large"
    assert "over the job's max_file_size (1,000 bytes)" in rejected.message
    assert not [m for m, path, _ in recording.seen if path.startswith("/api/v1/uploads/")]
    final = await tus_client.jobs.wait(job.id)
    assert final.progress.files.total == 1 and final.status is JobStatus.COMPLETED


async def test_upload_and_wait_sums_up_and_a_rerun_continues_the_same_job(
    sqlite_client: AsyncClient, tmp_path: Path
) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    for i in range(5):
        (folder / f"p{i}.md").write_text(f"# Paper {i}\n\nabout topic {i}")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (folder / "huge.txt").write_bytes(b"z" * 3000)
    progress: list[float] = []
    summary = await sqlite_client.upload_and_wait(
        folder,
        pipeline="extract",
        max_file_size=2000,
        idempotency_key="papers-run-1",
        on_progress=lambda p: progress.append(p.files_percent),
    )
    assert summary.status is JobStatus.FAILED and summary.processed == 5 and not summary.ok
    [failed] = summary.failed
    assert failed.path == "broken.pdf" and failed.code == "parse_error" and not failed.retryable
    assert [r.path for r in summary.rejected] == ["huge.txt"]
    assert summary.upload is not None and summary.upload.files_sent == 6
    assert progress[-1] == 100.0
    again = await sqlite_client.upload_and_wait(
        folder, pipeline="extract", max_file_size=2000, idempotency_key="papers-run-1"
    )
    assert again.job_id == summary.job_id
    assert again.upload is not None and again.upload.files_sent == 0
    assert again.upload.already_uploaded == 6
    files = [f async for f in sqlite_client.jobs.files(summary.job_id)]
    assert len(files) == 6 and sum(f.status is FileStatus.COMPLETED for f in files) == 5
