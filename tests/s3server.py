"""A real S3 REST server for tests: moto's ``ThreadedMotoServer``.

It is an emulator (moto implements the S3 HTTP API in Python, in memory), used because the
servers one would rather test against cannot run offline here: MinIO ships neither on PyPI nor
in Debian, and Debian's radosgw (Ceph 16) needs a whole Ceph cluster (its standalone ``dbstore``
backend arrived in Ceph 17). The client side is entirely real: boto3 speaks HTTP to the server
(SigV4 signing, multipart uploads, paginated listings, ranged and streamed GETs).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ingestd-test",
    "AWS_SECRET_ACCESS_KEY": "ingestd-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Env:
    endpoint: str
    bucket: str
    client: Any  # a boto3 S3 client on the server

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, Any]]:
    """The server's endpoint and a test-side client (one per session: clients are slow to make)."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    yield endpoint, client
    server.stop()


@pytest.fixture
def s3(moto_server: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> S3Env:
    """The standard AWS variables set for the server, and a fresh bucket."""
    endpoint, client = moto_server
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"ingestd-{secrets.token_hex(6)}"
    client.create_bucket(Bucket=bucket)
    return S3Env(endpoint, bucket, client)
