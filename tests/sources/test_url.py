"""URL sources end to end: the real app (SQLite and PostgreSQL) downloading from a real HTTP
origin on loopback, which the allowlist permits only where a test says so."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.domain.errors import FileError
from ingestd.net.outbound import OutboundPolicy
from ingestd.sources.url import (
    DownloadLimits,
    download,
    iter_urls,
    name_from_disposition,
    name_from_url,
)
from tests.conftest import App
from tests.eventually import eventually
from tests.loopback import serve_on_loopback
from tests.net.origin import Origin

NOTES = b"# Notes\n\nThe first paragraph of the notes.\n\n## Later\n\nA second section.\n"
STORED = b"bytes to keep\n"
PAGE = "Plain text, with accents: café, naïve.\n".encode()
# Bytes offered by /big: far more than the limit, and than loopback socket buffers can hold.
BIG = 64 * 1024 * 1024


@pytest.fixture
async def origin() -> AsyncIterator[tuple[Origin, str]]:
    server = Origin()
    server.files.update(
        {
            "notes.md": NOTES,
            "page.txt": PAGE,
            "stored.txt": STORED,
            "again/notes.md": NOTES + b"x\n",
        }
    )
    async with serve_on_loopback(server) as port:
        yield server, f"http://127.0.0.1:{port}"
        server.release.set()


@pytest.fixture
async def allowed(start_app: Callable[..., Any], database_url: str) -> AsyncIterator[App]:
    """The app with 127.0.0.1 allowlisted, as an operator with an internal file server would."""
    async with start_app(
        database_url=database_url, outbound_allow=["127.0.0.1"], url_read_timeout_seconds=0.5
    ) as running:
        yield running


async def run_job(app: App, urls: list[str], **options: Any) -> tuple[dict[str, Any], list[Any]]:
    body = {"sources": [{"type": "url", "urls": urls}], "pipeline": "extract", "options": options}
    response = await app.client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job = await app.wait_job(response.json()["id"])
    return job, await app.files(job["id"])


async def test_a_job_over_urls_completes(allowed: App, origin: tuple[Origin, str]) -> None:
    _server, base = origin
    urls = [f"{base}/f/notes.md", f"{base}/f/page.txt", f"{base}/named", f"{base}/f/again/notes.md"]
    job, files = await run_job(allowed, [*urls, urls[0] + "#fragment"])
    assert job["status"] == "completed", files
    by_path = {f["path"]: f for f in files}
    assert sorted(by_path) == sorted(urls)  # the repeat (same URL but a fragment) is one file
    assert by_path[urls[0]]["name"] == "notes.md"
    assert by_path[urls[3]]["name"] == "notes (2).md"  # names unique within the source
    assert by_path[urls[2]]["name"] == "Quarterly report.md"  # from Content-Disposition
    notes = by_path[urls[0]]
    assert notes["size"] == len(NOTES)
    assert notes["sha256"] == hashlib.sha256(NOTES).hexdigest()
    chunks = (await allowed.client.get(f"/api/v1/files/{notes['id']}/chunks")).json()["items"]
    text = "".join(c["text"] for c in chunks)
    assert "first paragraph of the notes" in text and "A second section" in text
    page = by_path[urls[1]]
    chunks = (await allowed.client.get(f"/api/v1/files/{page['id']}/chunks")).json()["items"]
    assert "café, naïve" in chunks[0]["text"]
    assert job["progress"]["bytes"]["completed"] == sum(f["size"] for f in files)
    blobs = LocalBlobStore(allowed.settings.blob_dir)
    assert not list(blobs.tmp_dir().glob("url-*"))  # the downloads were removed
    assert not blobs.exists(notes["sha256"])  # extract keeps chunks, not bytes
    body = {"sources": [{"type": "url", "urls": [f"{base}/f/stored.txt"]}], "pipeline": "store"}
    created = (await allowed.client.post("/api/v1/jobs", json=body)).json()
    stored = await allowed.wait_job(created["id"])
    assert stored["status"] == "completed"
    assert blobs.exists(hashlib.sha256(STORED).hexdigest())  # the store pipeline keeps bytes


async def test_loopback_is_refused_without_the_allowlist(
    start_app: Callable[..., Any], database_url: str, origin: tuple[Origin, str]
) -> None:
    server, base = origin
    async with start_app(database_url=database_url) as app:
        job, files = await run_job(app, [f"{base}/f/notes.md"], max_retries=3)
    assert job["status"] == "failed"
    assert files[0]["error"]["code"] == "url_refused"
    assert "loopback" in files[0]["error"]["message"]
    assert files[0]["attempts"] == 1  # not retried
    assert server.hits["/f/notes.md"] == 0  # never connected


async def test_a_redirect_to_a_refused_address_is_refused(
    allowed: App, origin: tuple[Origin, str]
) -> None:
    server, base = origin
    port = base.rsplit(":", 1)[1]
    urls = [
        f"{base}/redirect?to=http://127.0.0.2:{port}/f/notes.md",  # loopback, not allowlisted
        f"{base}/redirect?to=http://169.254.169.254/latest/meta-data/",
        f"{base}/redirect?to=/f/page.txt",  # same allowed host: followed
    ]
    _job, files = await run_job(allowed, urls)
    codes = {f["path"]: (f["error"] or {}).get("code") for f in files}
    assert codes == {urls[0]: "url_refused", urls[1]: "url_refused", urls[2]: None}
    assert server.hits["/f/notes.md"] == 0


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
async def test_an_oversized_body_fails_without_being_read(
    allowed: App, origin: tuple[Origin, str], declare: bool
) -> None:
    server, base = origin
    url = f"{base}/big?n={BIG}&declare={int(declare)}"
    _job, files = await run_job(allowed, [url], max_file_size=100_000)
    assert files[0]["error"]["code"] == "too_large", files[0]["error"]
    assert files[0]["attempts"] == 1
    assert server.big_sent < BIG // 2  # stopped at the limit, not drained


async def test_a_slow_server_times_out(
    start_app: Callable[..., Any], database_url: str, origin: tuple[Origin, str]
) -> None:
    _server, base = origin
    async with start_app(
        database_url=database_url, outbound_allow=["127.0.0.1"], url_read_timeout_seconds=0.3
    ) as app:
        _job, files = await run_job(app, [f"{base}/slow"], max_retries=1)
    assert files[0]["error"]["code"] == "download_timeout"
    assert files[0]["attempts"] == 2  # retried once: a timeout may pass


async def test_404_fails_at_once_and_503_is_retried(
    allowed: App, origin: tuple[Origin, str]
) -> None:
    server, base = origin
    _job, files = await run_job(allowed, [f"{base}/missing.pdf", f"{base}/flaky/x"], max_retries=3)
    by_path = {f["path"].rsplit("/", 1)[1]: f for f in files}
    missing = by_path["missing.pdf"]
    assert missing["status"] == "failed" and missing["attempts"] == 1
    assert missing["error"]["code"] == "download_failed"
    assert "HTTP 404" in missing["error"]["message"]
    flaky = by_path["x"]
    assert flaky["status"] == "completed" and flaky["attempts"] == 2
    assert server.hits["/flaky/x"] == 2


async def test_bad_urls_are_a_400_naming_each(start_app: Callable[..., Any]) -> None:
    async with start_app(url_max_per_source=3) as app:
        urls = [
            "ftp://example.org/a",
            "https://example.org/ok.pdf",
            "not a url",
            "https://u:p@x.org/",
        ]
        response = await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "upload"}, {"type": "url", "urls": urls[1:]}]},
        )
        assert response.status_code == 422
        body = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "validation_error"
        assert [e["loc"] for e in body["errors"]] == [
            ["body", "sources", 1, "urls", 1],
            ["body", "sources", 1, "urls", 2],
        ]
        response = await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "url", "urls": urls}]}
        )
        assert response.status_code == 422
        assert "at most 3 urls" in response.json()["detail"]


def test_names_from_urls_and_headers() -> None:
    assert name_from_url("https://example.org/papers/a%20b.pdf?x=1") == "a b.pdf"
    assert name_from_url("https://example.org/") == "example.org"
    assert name_from_url("https://example.org/..%2F..%2Fetc%2Fpasswd") == "passwd"
    assert name_from_url("https://example.org/.hidden") == "hidden"
    assert name_from_disposition('attachment; filename="../../x.pdf"') == "x.pdf"
    assert name_from_disposition("attachment; filename*=UTF-8''na%C3%AFve.txt") == "naïve.txt"
    assert name_from_disposition("inline") is None
    names = [e.name for e in iter_urls(["https://a.org/x.pdf", "https://b.org/x.pdf"])]
    assert names == ["x.pdf", "x (2).pdf"]


async def test_the_global_limit_applies_too(tmp_path: Path, origin: tuple[Origin, str]) -> None:
    _server, base = origin
    tmp = tmp_path / "downloads"
    tmp.mkdir()
    policy = OutboundPolicy.parse(["127.0.0.1"])
    seen: list[int] = []
    got = await download(
        f"{base}/f/notes.md",
        tmp,
        policy,
        DownloadLimits(max_bytes=1000),
        lambda done, declared: seen.append(done),
    )
    assert got.path.read_bytes() == NOTES and got.size == len(NOTES) and seen[-1] == len(NOTES)
    assert got.sha256 == hashlib.sha256(NOTES).hexdigest()
    got.path.unlink()
    with pytest.raises(FileError) as refused:
        await download(f"{base}/f/notes.md", tmp, policy, DownloadLimits(max_bytes=10))
    assert refused.value.code == "too_large" and not refused.value.retryable
    assert not any(tmp.iterdir())  # no partial download left behind


async def test_the_file_shows_its_downloading_step(
    start_app: Callable[..., Any], database_url: str, origin: tuple[Origin, str]
) -> None:
    server, base = origin
    async with start_app(
        database_url=database_url, outbound_allow=["127.0.0.1"], url_read_timeout_seconds=20
    ) as app:
        body = {"sources": [{"type": "url", "urls": [f"{base}/slow"]}], "pipeline": "extract"}
        job_id = (await app.client.post("/api/v1/jobs", json=body)).json()["id"]
        # the heartbeat records the step of files in flight
        await eventually(
            lambda: app.files(job_id),
            until=lambda files: files and files[0]["step"] == "downloading",
            what="the downloading step",
        )
        server.release.set()  # the origin sends the rest of the body
        job = await app.wait_job(job_id)
    assert job["status"] == "completed"
