"""``s3`` sources against a real S3 REST server (moto's ThreadedMotoServer — an emulator; see
tests/s3server.py for why not MinIO): listing with a prefix, filters and pagination, streamed
downloads within the size limit, and the endpoint allowlist."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.config import Settings
from ingestd.domain.errors import BadRequest, FileError
from ingestd.domain.refs import S3Ref, ref_from_json, ref_to_json
from ingestd.sources import s3 as s3_source
from ingestd.sources.base import SourceError
from ingestd.sources.s3 import (
    check_endpoint,
    download_object,
    iter_s3_objects,
    source_client,
)
from tests.s3server import S3Env

OBJECTS = {
    "in/a.md": b"# Alpha\n\nmarkdown from the bucket " * 10,
    "in/b.txt": b"plain text from the bucket " * 10,
    "in/sub/c.md": b"# Nested\n\nin a sub folder " * 10,
    "in/skip.log": b"not selected",
    "in/.hidden/h.md": b"# hidden",
    "in/drafts/d.md": b"# draft, excluded",
    "in/big.txt": b"x" * 5000,
    "in/folder/": b"",  # a console-made "folder" marker
    "other/o.md": b"# outside the prefix",
}


@pytest.fixture
def bucket(s3: S3Env) -> S3Env:
    for key, body in OBJECTS.items():
        s3.put(key, body)
    return s3


def test_listing_pages_prefix_and_filters(bucket: S3Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_source, "PAGE_SIZE", 2)  # several ListObjectsV2 pages
    entries = list(
        iter_s3_objects(
            source_client(bucket.endpoint, None),
            bucket=bucket.bucket,
            prefix="in/",
            endpoint_url=bucket.endpoint,
            include=["*.md", "*.txt"],
            exclude=["drafts/*"],
        )
    )
    by_path = {e.path: e for e in entries}
    assert set(by_path) == {"a.md", "b.txt", "sub/c.md", "big.txt"}
    entry = by_path["sub/c.md"]
    assert (entry.name, entry.size) == ("c.md", len(OBJECTS["in/sub/c.md"]))
    assert entry.ref == S3Ref(bucket.bucket, "in/sub/c.md", bucket.endpoint)
    flat = iter_s3_objects(
        source_client(bucket.endpoint, None),
        bucket=bucket.bucket,
        prefix="in/",
        endpoint_url=None,
        recursive=False,
    )
    assert {e.path for e in flat} == {"a.md", "b.txt", "skip.log", "big.txt"}


def test_object_ref_round_trips_odd_keys() -> None:
    ref = S3Ref("docs", "in/a b?c=d&e#f/ü.md", "http://minio:9000")
    assert ref_from_json(ref_to_json(ref)) == ref
    assert ref_from_json(ref_to_json(S3Ref("docs", "k"))) == S3Ref("docs", "k")


def test_missing_bucket_fails_the_source(s3: S3Env) -> None:
    with pytest.raises(SourceError) as caught:
        list(
            iter_s3_objects(
                source_client(s3.endpoint, None),
                bucket="no-such-bucket",
                prefix="",
                endpoint_url=s3.endpoint,
            )
        )
    assert caught.value.code == "not_found"


def test_download_streams_within_the_limit(bucket: S3Env) -> None:
    client = source_client(bucket.endpoint, None)
    out = io.BytesIO()
    size = download_object(client, S3Ref(bucket.bucket, "in/a.md"), out, limit=10_000)
    assert size == len(OBJECTS["in/a.md"]) and out.getvalue() == OBJECTS["in/a.md"]
    with pytest.raises(FileError) as caught:
        download_object(client, S3Ref(bucket.bucket, "in/big.txt"), io.BytesIO(), limit=100)
    assert caught.value.code == "too_large" and "5000 bytes" in caught.value.message
    with pytest.raises(FileError) as caught:
        download_object(client, S3Ref(bucket.bucket, "in/gone.md"), io.BytesIO(), limit=None)
    assert caught.value.code == "not_found" and not caught.value.retryable


def test_endpoint_allowlist(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        s3_endpoint_url="http://minio.internal:9000",
        s3_allowed_endpoints="https://s3.eu.example.com,http://10.0.0.5:9000",  # type: ignore[arg-type]
    )
    assert check_endpoint(settings, None) == "http://minio.internal:9000"
    for allowed in (
        "http://MINIO.internal:9000/",
        "https://s3.eu.example.com:443",
        "http://10.0.0.5:9000",
    ):
        assert check_endpoint(settings, allowed) == allowed
    for refused, why in [
        ("http://169.254.169.254", "not an S3 endpoint this server allows"),
        ("http://minio.internal:9001", "not an S3 endpoint this server allows"),
        ("https://minio.internal:9000", "not an S3 endpoint this server allows"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http://exa mple.com", "spaces"),
    ]:
        with pytest.raises(BadRequest, match=why):
            check_endpoint(settings, refused)
    bare = Settings(data_dir=tmp_path)
    with pytest.raises(BadRequest, match="not an S3 endpoint"):
        check_endpoint(bare, "http://127.0.0.1:9000")


async def test_s3_source_job(
    start_app: Callable[..., Any], bucket: S3Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_source, "PAGE_SIZE", 3)
    async with start_app(s3_endpoint_url=bucket.endpoint) as app:
        body = {
            "pipeline": "extract",
            "sources": [
                {
                    "type": "s3",
                    "bucket": bucket.bucket,
                    "prefix": "in/",
                    "include": ["*.md", "*.txt"],
                    "exclude": ["drafts/*"],
                }
            ],
            "options": {"max_file_size": 1000},
        }
        response = await app.client.post("/api/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        done = await app.wait_job(response.json()["id"])
        assert done["status"] == "failed", done  # big.txt is over max_file_size
        files = {f["path"]: f for f in await app.files(done["id"])}
        assert set(files) == {"a.md", "b.txt", "sub/c.md", "big.txt"}
        assert {p for p, f in files.items() if f["status"] == "completed"} == {
            "a.md",
            "b.txt",
            "sub/c.md",
        }
        big = files["big.txt"]
        assert big["status"] == "failed" and big["error"]["code"] == "too_large"
        assert "5000 bytes" in big["error"]["message"]
        chunks = (await app.client.get(f"/api/v1/files/{files['a.md']['id']}/chunks")).json()
        assert "markdown from the bucket" in chunks["items"][0]["text"]
        assert list((app.settings.blob_dir / "tmp").iterdir()) == []  # downloads cleaned up

        refused = await app.client.post(
            "/api/v1/jobs",
            json={
                "sources": [
                    {"type": "s3", "bucket": bucket.bucket, "endpoint_url": "http://10.1.2.3"}
                ]
            },
        )
        assert refused.status_code == 422
        assert "sources[0].endpoint_url" in refused.json()["detail"]
        bad_bucket = await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "s3", "bucket": "Not_A_Bucket"}]}
        )
        assert bad_bucket.status_code == 422 and "sources[0].bucket" in bad_bucket.json()["detail"]


async def test_s3_source_over_a_missing_bucket_fails_clearly(
    start_app: Callable[..., Any], s3: S3Env
) -> None:
    async with start_app(s3_endpoint_url=s3.endpoint) as app:
        response = await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "s3", "bucket": "missing-bucket"}]}
        )
        assert response.status_code == 201, response.text
        done = await app.wait_job(response.json()["id"])
        assert done["status"] == "failed"
        assert done["sources"][0]["error"]["code"] == "not_found", done["sources"]
