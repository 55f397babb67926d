"""Choose the blob store from the ``blob_url`` setting (``INGESTD_BLOB_URL``, ``--blob-url``).

- unset: ``<data_dir>/blobs`` (the embedded default);
- ``file:///srv/ingestd/blobs``: a directory — a shared mount (NFS, SMB, …) mounted at the same
  path on every machine when scaled out;
- ``s3://bucket/prefix?endpoint=https://minio:9000&region=eu-west-1``: S3-compatible object
  storage (needs ``ingestd[s3]``). Optional query parameters: ``endpoint``, ``region``,
  ``addressing_style`` (``path`` | ``virtual``), and — when the standard AWS variables cannot be
  used — ``access_key_id``, ``secret_access_key``, ``session_token``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from ingestd.blobs.base import BlobStore, BlobStoreConfigError
from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings

if TYPE_CHECKING:
    from ingestd.blobs.s3 import S3Config

S3_PARAMS = {
    "endpoint": "endpoint_url",
    "region": "region",
    "addressing_style": "addressing_style",
    "access_key_id": "access_key_id",
    "secret_access_key": "secret_access_key",
    "session_token": "session_token",
}
SECRET_PARAMS = frozenset({"secret_access_key", "session_token"})


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings.blob_url`` names; ``BlobStoreConfigError`` says what is wrong."""
    url = (settings.blob_url or "").strip()
    if not url:
        return LocalBlobStore(settings.blob_dir)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return LocalBlobStore(_file_path(url))
    if scheme == "s3":
        return _s3_store(url, staging=settings.blob_dir)
    raise BlobStoreConfigError(
        f"blob_url {redact_blob_url(url)!r}: use file:///absolute/path or s3://bucket/prefix"
    )


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise BlobStoreConfigError(
            f"blob_url {url!r}: a file URL is file:///absolute/path (no host, query or fragment)"
        )
    path = Path(unquote(parts.path))
    if not path.is_absolute():
        raise BlobStoreConfigError(f"blob_url {url!r}: the path must be absolute")
    return path


def check_blob_url(url: str) -> None:
    """Refuse a ``blob_url`` that cannot work, before anything starts (``BlobStoreConfigError``
    names the problem: the form, a parameter, or the missing ``ingestd[s3]`` extra)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme == "file":
        _file_path(url.strip())
    elif scheme == "s3":
        _s3_parts(url.strip())
    else:
        raise BlobStoreConfigError(
            f"blob_url {redact_blob_url(url)!r}: use file:///absolute/path or s3://bucket/prefix"
        )


def _s3_store(url: str, *, staging: Path) -> BlobStore:
    from ingestd.blobs.s3 import S3BlobStore

    bucket, prefix, config = _s3_parts(url)
    return S3BlobStore(bucket, prefix, config, staging)


def _s3_parts(url: str) -> tuple[str, str, S3Config]:
    from ingestd.blobs.s3 import S3Config, check_bucket, require_boto3

    parts = urlsplit(url)
    shown = redact_blob_url(url)
    try:
        bucket = check_bucket(parts.netloc)
    except ValueError as exc:
        raise BlobStoreConfigError(f"blob_url {shown!r}: {exc}") from None
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in S3_PARAMS:
            known = ", ".join(sorted(S3_PARAMS))
            raise BlobStoreConfigError(
                f"blob_url {shown!r}: unknown parameter {name!r} (known: {known})"
            )
        options[S3_PARAMS[name]] = value
    endpoint = options.get("endpoint_url")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise BlobStoreConfigError(f"blob_url {shown!r}: endpoint must be an http(s):// URL")
    if options.get("addressing_style") not in (None, "path", "virtual"):
        raise BlobStoreConfigError(f"blob_url {shown!r}: addressing_style is path or virtual")
    require_boto3()  # the missing extra is the error people will see first
    return bucket, unquote(parts.path), S3Config(**options)


def redact_blob_url(url: str) -> str:
    """The URL with secret query parameters replaced, for messages and logs."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(
        f"{name}={'***' if name in SECRET_PARAMS else value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return parts._replace(query=query).geturl()


__all__ = ["check_blob_url", "open_blob_store", "redact_blob_url"]
