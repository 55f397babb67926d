"""The S3 blob adapter against a real S3 REST server (moto's ThreadedMotoServer — an emulator,
see tests/s3server.py for why not MinIO), and the choice of store from ``blob_url``."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestd.blobs.base import BlobStoreConfigError
from ingestd.blobs.local import LocalBlobStore
from ingestd.blobs.s3 import PART_SIZE, BlobStoreUnavailable, S3BlobStore, S3Config
from ingestd.blobs.url import check_blob_url, open_blob_store, redact_blob_url
from ingestd.config import Settings
from ingestd.domain.errors import FileError
from tests.s3server import S3Env


@pytest.fixture
def store(s3: S3Env, tmp_path: Path) -> S3BlobStore:
    return S3BlobStore(
        s3.bucket, "blobs/", S3Config(endpoint_url=s3.endpoint), tmp_path / "staging"
    )


def _pattern_chunks(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """``total`` bytes produced one chunk at a time (never whole in memory), not all alike."""
    block = (bytes(range(256)) * (chunk // 256 + 1))[:chunk]
    for n in range(0, total, chunk):
        yield (n.to_bytes(8, "big") + block[8:])[: min(chunk, total - n)]


def _sha(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def test_round_trip(store: S3BlobStore, s3: S3Env, tmp_path: Path) -> None:
    body = b"hello, object storage\n" * 100
    blob = store.write_chunks([body[:1000], body[1000:]])
    assert blob.key == hashlib.sha256(body).hexdigest()
    assert blob.size == len(body)
    assert store.exists(blob.key)
    assert s3.keys() == [f"blobs/{blob.key[:2]}/{blob.key[2:4]}/{blob.key}"]
    assert store.locate(blob.key) == f"s3://{s3.bucket}/{s3.keys()[0]}"
    out = io.BytesIO()
    store.fetch(blob.key, out)
    assert out.getvalue() == body
    assert list((tmp_path / "staging" / "tmp").iterdir()) == []  # the spool file is gone


def test_large_object_is_a_streamed_multipart_upload(
    store: S3BlobStore, s3: S3Env, tmp_path: Path
) -> None:
    total = 3 * PART_SIZE + 12345
    blob = store.write_chunks(_pattern_chunks(total))
    assert blob.size == total
    assert blob.key == _sha(_pattern_chunks(total))
    head = s3.client.head_object(Bucket=s3.bucket, Key=store.object_key(blob.key))
    assert head["ContentLength"] == total
    assert head["ETag"].strip('"').endswith("-4")  # S3 marks multipart objects: 4 parts
    copy = tmp_path / "copy.bin"
    with open(copy, "wb") as out:
        store.fetch(blob.key, out)
    with open(copy, "rb") as handle:
        assert hashlib.file_digest(handle, "sha256").hexdigest() == blob.key


def test_limit_refuses_and_stores_nothing(store: S3BlobStore, s3: S3Env) -> None:
    with pytest.raises(FileError) as caught:
        store.write_chunks(_pattern_chunks(5000, 1000), limit=4000)
    assert caught.value.code == "too_large"
    assert s3.keys() == []


def test_missing_key(store: S3BlobStore) -> None:
    key = "0" * 64
    assert not store.exists(key)
    with pytest.raises(FileError) as caught:
        store.fetch(key, io.BytesIO())
    assert caught.value.code == "not_found"
    assert key in caught.value.message
    with pytest.raises(ValueError, match="not a blob key"):
        store.exists("../../etc/passwd")


def test_adopt_consumes_and_deduplicates(store: S3BlobStore, s3: S3Env) -> None:
    body = b"same bytes"
    key = hashlib.sha256(body).hexdigest()
    for _ in range(2):
        tmp = store.tmp_dir() / "part"
        tmp.write_bytes(body)
        assert store.adopt(tmp, key, len(body)).key == key
        assert not tmp.exists()
    assert len(s3.keys()) == 1


def test_put_file_leaves_the_source(store: S3BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(b"kept where it is")
    key = hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.put_file(source, key).size == source.stat().st_size
    assert source.exists() and store.exists(key)


def test_check_and_unavailable(store: S3BlobStore, s3: S3Env, tmp_path: Path) -> None:
    store.check()
    missing = S3BlobStore(
        "no-such-bucket-here", "", S3Config(endpoint_url=s3.endpoint), tmp_path / "x"
    )
    with pytest.raises(BlobStoreUnavailable, match="no-such-bucket-here"):
        missing.check()
    down = S3BlobStore(s3.bucket, "", S3Config(endpoint_url="http://127.0.0.1:9"), tmp_path / "y")
    with pytest.raises(BlobStoreUnavailable) as caught:
        down.exists("0" * 64)
    assert caught.value.status == 503


# -- choosing the store ------------------------------------------------------------------------


def test_blob_url_choices(tmp_path: Path, s3: S3Env) -> None:
    default = open_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(default, LocalBlobStore) and default.root == tmp_path / "blobs"
    shared = open_blob_store(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/shared"))
    assert isinstance(shared, LocalBlobStore) and shared.root == tmp_path / "shared"
    url = f"s3://{s3.bucket}/team/a?endpoint={s3.endpoint}&region=us-east-1"
    remote = open_blob_store(Settings(data_dir=tmp_path, blob_url=url))
    assert isinstance(remote, S3BlobStore)
    assert (remote.bucket, remote.prefix, remote.root) == (s3.bucket, "team/a/", tmp_path / "blobs")
    assert remote.describe() == f"s3://{s3.bucket}/team/a/ at {s3.endpoint}"
    remote.check()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "use file:///absolute/path or s3://bucket/prefix"),
        ("file://server/share", "no host"),
        ("file:relative/dir", "must be absolute"),
        ("s3://Bad_Bucket/x", "not a valid bucket name"),
        ("s3://bucket/x?endpont=http://h", "unknown parameter 'endpont'"),
        ("s3://bucket/x?endpoint=ftp://h", "endpoint must be an http(s)"),
        ("s3://bucket/x?addressing_style=dns", "addressing_style is path or virtual"),
    ],
)
def test_bad_blob_urls(url: str, message: str) -> None:
    with pytest.raises(BlobStoreConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_blob_url(url)


def test_secrets_are_redacted() -> None:
    url = "s3://b/p?access_key_id=AK&secret_access_key=SECRET&session_token=TOKEN"
    shown = redact_blob_url(url)
    assert "SECRET" not in shown and "TOKEN" not in shown and "access_key_id=AK" in shown


def test_local_store_is_opened_in_place(tmp_path: Path) -> None:
    """The local adapter keeps its zero-copy contract: a file row points at the blob itself."""
    store = LocalBlobStore(tmp_path / "blobs")
    blob = store.write_chunks([b"local bytes"])
    assert store.is_local and os.path.isfile(store.locate(blob.key))
    out = io.BytesIO()
    store.fetch(blob.key, out)
    assert out.getvalue() == b"local bytes"
    with pytest.raises(FileError) as caught:
        store.fetch("f" * 64, io.BytesIO())
    assert caught.value.code == "not_found"
