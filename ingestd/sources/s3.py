"""``s3`` sources: every object under a bucket prefix becomes one file of the job.

Listing pages through ``ListObjectsV2`` (1,000 keys a page, never the whole bucket in memory)
and applies the same include/exclude filter as directory sources to the key relative to the
prefix. A listed file records where its bytes are as an ``s3://bucket/key?endpoint_url=…`` URI in
``local_path``; the worker downloads it, streaming and within the job's ``max_file_size``,
before the pipeline runs (:func:`download_object`).

Credentials are the server's own (the standard ``AWS_*`` variables, profiles, roles): a request
names a bucket, a prefix and at most an endpoint — and that endpoint must be one the operator
configured (:func:`check_endpoint`), so a request can neither steer the server's credentials to
a host of its choosing nor reach internal services through it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from ingestd.blobs.base import BlobStoreConfigError
from ingestd.blobs.s3 import (
    NOT_FOUND,
    READ_CHUNK,
    S3Config,
    check_bucket,
    error_code,
    make_client,
    require_boto3,
)
from ingestd.config import Settings
from ingestd.domain.errors import BadRequest, FileError
from ingestd.sources.base import PathFilter, SourceEntry, SourceError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCHEME = "s3://"
PAGE_SIZE = 1000  # keys per ListObjectsV2 page (the S3 maximum)
MAX_PREFIX = 1024  # S3's own key length limit


@dataclass(frozen=True, slots=True)
class S3ObjectRef:
    """One object of an s3 source, as recorded in the file row's ``local_path``."""

    bucket: str
    key: str
    endpoint_url: str | None = None

    def uri(self) -> str:
        query = f"?{urlencode({'endpoint_url': self.endpoint_url})}" if self.endpoint_url else ""
        return f"{SCHEME}{self.bucket}/{quote(self.key, safe='/')}{query}"

    @classmethod
    def parse(cls, uri: str) -> S3ObjectRef:
        parts = urlsplit(uri)
        endpoint = dict(parse_qsl(parts.query)).get("endpoint_url")
        return cls(parts.netloc, unquote(parts.path.removeprefix("/")), endpoint)


def is_s3_uri(value: str | None) -> bool:
    return bool(value) and str(value).startswith(SCHEME)


def _origin(url: str) -> str:
    """``scheme://host:port`` in lowercase, default ports made explicit, for comparing."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"


def check_endpoint(settings: Settings, endpoint_url: str | None) -> str | None:
    """The endpoint an s3 source will use. A request's ``endpoint_url`` must be the configured
    ``s3_endpoint_url`` or one of ``s3_allowed_endpoints``; anything else is a 400 — never a
    connection to a host the request chose, with the server's credentials."""
    if endpoint_url is None:
        return settings.s3_endpoint_url
    from ingestd.net.outbound import OutboundRefused, check_url

    try:
        check_url(endpoint_url)  # http(s), a host, a valid port, no spaces
    except (OutboundRefused, ValueError) as exc:
        raise BadRequest(f"endpoint_url: {exc}") from None
    allowed = [settings.s3_endpoint_url, *settings.s3_allowed_endpoints]
    if _origin(endpoint_url) not in {_origin(e) for e in allowed if e}:
        raise BadRequest(
            f"endpoint_url {endpoint_url!r} is not an S3 endpoint this server allows; the "
            "operator lists them in INGESTD_S3_ENDPOINT_URL / INGESTD_S3_ALLOWED_ENDPOINTS"
        )
    return endpoint_url


def resolve_s3_source(settings: Settings, source: dict[str, Any]) -> dict[str, Any]:
    """Check an s3 source of a job request; returns its spec with the endpoint to use."""
    try:
        require_boto3()
    except BlobStoreConfigError as exc:  # the extra is not installed on this server
        raise BadRequest(f"type: s3 sources are not available on this server: {exc}") from None
    try:
        check_bucket(source["bucket"])
    except ValueError as exc:
        raise BadRequest(f"bucket: {exc}") from None
    prefix = source.get("prefix") or ""
    if len(prefix) > MAX_PREFIX or any(ord(c) < 0x20 or ord(c) == 0x7F for c in prefix):
        raise BadRequest("prefix: at most 1024 characters, no control characters")
    try:
        PathFilter.of(source.get("include") or [], source.get("exclude") or [])
    except BadRequest as exc:
        raise BadRequest(f"include/exclude: {exc.detail}") from None
    check_endpoint(settings, source.get("endpoint_url"))
    return source  # no endpoint_url: the server's, chosen when listing (never shown to tenants)


@functools.lru_cache(maxsize=16)
def source_client(endpoint_url: str | None, region: str | None) -> S3Client:
    """One thread-safe client per endpoint, with the server's standard AWS credentials."""
    return make_client(S3Config(endpoint_url=endpoint_url, region=region))


def iter_s3_objects(
    client: S3Client,
    *,
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    recursive: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Iterator[SourceEntry]:
    """Yield one entry per selected object, page by page. Display paths are keys relative to
    ``prefix``; "folder" marker objects (keys ending in ``/``) are skipped."""
    select = PathFilter.of(include, exclude)
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if not recursive:
        params["Delimiter"] = "/"
    pages = client.get_paginator("list_objects_v2").paginate(
        **params, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in _listing_errors(bucket, pages):
        for item in page.get("Contents", []):
            key = item["Key"]
            rel = key[len(prefix) :].lstrip("/")
            if not rel or key.endswith("/"):
                continue
            if not (select.wants_path(rel) and select.wants_file(rel)):
                continue
            ref = S3ObjectRef(bucket, key, endpoint_url)
            name = rel.rsplit("/", 1)[-1]
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
                shown = rel.encode("unicode_escape").decode("ascii")
                yield SourceEntry(
                    name, shown, 0, "", None, ("unsafe_path", "control characters in the key")
                )
                continue
            yield SourceEntry(name, rel, int(item.get("Size", 0)), ref.uri(), None)


def _listing_errors(bucket: str, pages: Any) -> Iterator[dict[str, Any]]:
    """The pages, with botocore errors turned into a SourceError naming what went wrong."""
    from botocore.exceptions import BotoCoreError, ClientError

    iterator = iter(pages)
    while True:
        try:
            page = next(iterator)
        except StopIteration:
            return
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                raise SourceError("not_found", f"bucket {bucket!r} does not exist") from None
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise SourceError(
                    "access_denied", f"the server's credentials cannot list bucket {bucket!r}"
                ) from None
            raise SourceError("access_error", f"listing bucket {bucket!r}: {code}") from None
        except BotoCoreError as exc:
            raise SourceError("access_error", f"listing bucket {bucket!r}: {exc}") from None
        yield page


def download_object(client: S3Client, ref: S3ObjectRef, out: BinaryIO, *, limit: int | None) -> int:
    """Stream the object into ``out``; ``too_large`` before a byte is read when its declared
    size is over ``limit``, and as soon as the bytes really received cross it. Returns the size."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.get_object(Bucket=ref.bucket, Key=ref.key)
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND:
            raise FileError("not_found", "the object no longer exists in the bucket") from None
        retryable = code not in ("AccessDenied", "403", "NoSuchBucket")
        raise FileError(
            "access_error", f"cannot read the object: {code}", retryable=retryable
        ) from None
    except BotoCoreError as exc:
        raise FileError("access_error", f"cannot read the object: {exc}", retryable=True) from None
    body = response["Body"]
    try:
        declared = int(response.get("ContentLength") or 0)
        if limit is not None and declared > limit:
            raise FileError(
                "too_large", f"the object is {declared} bytes; the job allows at most {limit}"
            )
        received = 0
        try:
            for chunk in body.iter_chunks(READ_CHUNK):
                received += len(chunk)
                if limit is not None and received > limit:
                    raise FileError(
                        "too_large", f"the object is over the job's limit of {limit} bytes"
                    )
                out.write(chunk)
        except BotoCoreError as exc:
            raise FileError(
                "access_error", f"the download broke off: {exc}", retryable=True
            ) from None
    finally:
        body.close()
    return received


__all__ = [
    "S3ObjectRef",
    "check_endpoint",
    "download_object",
    "is_s3_uri",
    "iter_s3_objects",
    "resolve_s3_source",
    "source_client",
]
