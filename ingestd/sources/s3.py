"""``s3`` sources: every object under a bucket prefix becomes one file of the job.

Listing pages through ``ListObjectsV2`` (1,000 keys a page, never the whole bucket in memory)
and applies the same include/exclude filter as directory sources to the key relative to the
prefix. A listed file records where its bytes are as an :class:`~ingestd.domain.refs.S3Ref`
(bucket, key, endpoint); the worker downloads it, streaming and within the job's
``max_file_size``, before the pipeline runs (:func:`download_object`).

Credentials are the server's own (the standard ``AWS_*`` variables, profiles, roles): a request
names a bucket, a prefix and at most an endpoint — and that endpoint must be one the operator
configured (:func:`check_endpoint`), so a request can neither steer the server's credentials to
a host of its choosing nor reach internal services through it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

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
from ingestd.domain.refs import FileRef, S3Ref
from ingestd.domain.work import SourceEntry
from ingestd.net.outbound import OutboundRefused, check_url
from ingestd.sources.base import PathFilter, SourceError
from ingestd.sources.port import BaseSource, FetchLimits, LocalFile, downloaded

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PAGE_SIZE = 1000  # keys per ListObjectsV2 page (the S3 maximum)
MAX_PREFIX = 1024  # S3's own key length limit


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
            name = rel.rsplit("/", 1)[-1]
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
                shown = rel.encode("unicode_escape").decode("ascii")
                yield SourceEntry(
                    name, shown, 0, None, ("unsafe_path", "control characters in the key")
                )
                continue
            ref = S3Ref(bucket=bucket, key=key, endpoint_url=endpoint_url)
            yield SourceEntry(name, rel, int(item.get("Size", 0)), ref)


def _listing_errors(bucket: str, pages: Any) -> Iterator[dict[str, Any]]:
    """The pages, with botocore errors turned into a SourceError naming what went wrong."""
    from botocore.exceptions import BotoCoreError, ClientError  # the optional s3 extra

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


def download_object(client: S3Client, ref: S3Ref, out: BinaryIO, *, limit: int | None) -> int:
    """Stream the object into ``out``; ``too_large`` before a byte is read when its declared
    size is over ``limit``, and as soon as the bytes really received cross it. Returns the size."""
    from botocore.exceptions import BotoCoreError, ClientError  # the optional s3 extra

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


class S3Source(BaseSource):
    """Every object under a bucket prefix; each is downloaded when its file is processed."""

    type = "s3"
    ref_kinds: tuple[str, ...] = ("s3",)

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        try:
            return resolve_s3_source(self.context.settings, spec)
        except BadRequest as exc:
            raise BadRequest(f"sources[{index}].{exc.detail}") from None

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        settings = self.context.settings
        endpoint = spec.get("endpoint_url") or settings.s3_endpoint_url
        return iter_s3_objects(
            source_client(endpoint, settings.s3_region),
            bucket=spec["bucket"],
            prefix=spec.get("prefix") or "",
            endpoint_url=endpoint,
            recursive=spec.get("recursive", True),
            include=spec.get("include") or [],
            exclude=spec.get("exclude") or [],
        )

    @contextlib.asynccontextmanager
    async def materialise(self, ref: FileRef, limits: FetchLimits) -> AsyncIterator[LocalFile]:
        if not isinstance(ref, S3Ref):
            raise TypeError(f"not an s3 reference: {ref!r}")
        client = source_client(ref.endpoint_url, self.context.settings.s3_region)

        def write(out: BinaryIO) -> int:
            return download_object(client, ref, out, limit=limits.max_bytes)

        async with downloaded(self.context.blob_store().tmp_dir(), write) as path:
            yield LocalFile(path)


__all__ = [
    "S3Source",
    "check_endpoint",
    "download_object",
    "iter_s3_objects",
    "resolve_s3_source",
    "source_client",
]
