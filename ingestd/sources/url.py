"""URL sources: ``{"type": "url", "urls": [...]}`` lists one file per URL; the worker downloads
each one, through the outbound guard (:mod:`ingestd.net.outbound`), into a temporary file that
the other stages open like any local file and that is removed when the file is done (the
``store`` pipeline copies it into the blob store first, as it does for a directory's files).

A listed URL file keeps its URL as ``path`` (what users see) and as its reference (a
:class:`~ingestd.domain.refs.UrlRef`). Its name comes from the URL's last path segment, and is
replaced by the ``Content-Disposition`` file name when the server sends one. The download
streams to a temporary file while it is hashed and counted, stopping at the size limit (a
declared ``Content-Length`` over it is refused before any body is read).

Failures fail that file alone: ``url_refused`` (a refused address: not retried),
``download_failed`` (HTTP status or network error: retried for 5xx/408/429 and network errors),
``too_large``, ``download_timeout`` (retried).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ingestd.config import Settings
from ingestd.domain.errors import BadRequest, FileError
from ingestd.domain.refs import FileRef, UrlRef
from ingestd.domain.work import SourceEntry
from ingestd.net.outbound import (
    OutboundPolicy,
    OutboundRefused,
    TooManyRedirects,
    check_url,
    guarded_client,
    send_following,
)
from ingestd.sources.port import BaseSource, FetchLimits, LocalFile, SourceContext

MAX_NAME = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
RETRYABLE_STATUSES = frozenset({408, 425, 429})
Progress = Callable[[int, int | None], None]  # (bytes received, bytes declared or None)


# -- at job creation ------------------------------------------------------------------------
def check_urls(urls: Sequence[str], *, index: int, max_count: int) -> list[str]:
    """Validate a source's URLs (syntax only: addresses are judged when connecting); returns
    them without fragments and without repeats. Raises BadRequest with one error per bad URL."""
    where = ["body", "sources", index, "urls"]
    if len(urls) > max_count:
        message = f"at most {max_count} urls per source (got {len(urls)})"
        raise BadRequest(
            f"sources[{index}].urls: {message}", errors=[{"loc": where, "msg": message}]
        )
    errors = []
    for i, url in enumerate(urls):
        problem = _url_problem(url)
        if problem is not None:
            errors.append({"loc": [*where, i], "msg": problem, "type": "url"})
    if errors:
        first = errors[0]
        raise BadRequest(
            f"sources[{index}].urls[{first['loc'][-1]}]: {first['msg']}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            errors=errors,
        )
    return list(dict.fromkeys(urlsplit(u)._replace(fragment="").geturl() for u in urls))


def _url_problem(url: str) -> str | None:
    try:
        parts = check_url(url)
    except OutboundRefused as exc:
        return str(exc)
    if parts.username is not None or parts.password is not None:
        # The URL is shown as the file's path: a password in it would be shown to every reader.
        return "credentials in the url are not accepted"
    return None


# -- listing --------------------------------------------------------------------------------
def iter_urls(urls: Sequence[str]) -> Iterator[SourceEntry]:
    """One entry per URL; names made unique within the source (``a.pdf``, ``a (2).pdf``)."""
    taken: set[str] = set()
    for url in dict.fromkeys(urls):
        name = _unique(name_from_url(url), taken)
        yield SourceEntry(name=name, path=url, size=0, ref=UrlRef(url))


def name_from_url(url: str) -> str:
    """The URL's last path segment, decoded and made safe; else its host."""
    parts = urlsplit(url)
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    return clean_name(segment) or clean_name(parts.hostname or "") or "download"


def name_from_disposition(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*`` preferred), made safe."""
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return clean_name(name) or None if name else None


def clean_name(raw: str) -> str:
    """A file name with no path parts or control characters, not hidden, of bounded length."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("", name).strip().lstrip(".")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        keep = dot and len(ext) < 16
        name = stem[: MAX_NAME - len(ext) - 1] + dot + ext if keep else name[:MAX_NAME]
    return name


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate)
    return candidate


# -- downloading ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DownloadLimits:
    max_bytes: int
    connect_seconds: float = 10.0
    read_seconds: float = 30.0  # the longest silence between two reads
    total_seconds: float = 600.0
    max_redirects: int = 5


def limits_for(
    settings: Settings, *, max_file_size: int | None, seconds_left: float
) -> DownloadLimits:
    """The limits of one download: the job's ``max_file_size`` and the service's ``url_*``
    settings, and no longer than the file's own time limit has left."""
    max_bytes = min(settings.url_max_bytes, max_file_size or settings.url_max_bytes)
    return DownloadLimits(
        max_bytes=max_bytes,
        connect_seconds=settings.url_connect_timeout_seconds,
        read_seconds=settings.url_read_timeout_seconds,
        total_seconds=max(0.001, min(settings.url_total_timeout_seconds, seconds_left)),
        max_redirects=settings.url_max_redirects,
    )


def policy_for(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy.parse(settings.outbound_allow)


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path  # a temporary file under the given directory: the caller removes it
    sha256: str
    size: int
    filename: str | None  # from Content-Disposition


async def download(
    url: str,
    tmp_dir: Path,
    policy: OutboundPolicy,
    limits: DownloadLimits,
    on_progress: Progress | None = None,
) -> Downloaded:
    """GET ``url`` into a new file under ``tmp_dir``; raises :class:`FileError` with the codes
    above (and then leaves no file behind)."""
    timeout = httpx.Timeout(
        connect=limits.connect_seconds,
        read=limits.read_seconds,
        write=limits.read_seconds,
        pool=limits.connect_seconds,
    )
    # identity: the limit then counts the bytes that are stored, and no decompression can
    # turn a small read into a large allocation.
    headers = {"user-agent": "ingestd", "accept-encoding": "identity"}
    try:
        async with asyncio.timeout(limits.total_seconds):
            async with guarded_client(policy, timeout=timeout, headers=headers) as client:
                request = client.build_request("GET", url)
                response = await send_following(client, request, max_redirects=limits.max_redirects)
                try:
                    return await _save(response, tmp_dir, limits.max_bytes, on_progress)
                finally:
                    await response.aclose()
    except OutboundRefused as exc:
        raise FileError("url_refused", f"refused: {exc}", retryable=False) from None
    except TooManyRedirects as exc:
        raise FileError("download_failed", str(exc), retryable=False) from None
    except (TimeoutError, httpx.TimeoutException):
        raise FileError(
            "download_timeout",
            f"the download took too long ({_limits_text(limits)})",
            retryable=True,
        ) from None
    except httpx.HTTPError as exc:
        raise FileError(
            "download_failed", f"{type(exc).__name__}: {exc}"[:500], retryable=True
        ) from None


def _limits_text(limits: DownloadLimits) -> str:
    return (
        f"connect {limits.connect_seconds:g}s, read {limits.read_seconds:g}s, "
        f"total {limits.total_seconds:g}s"
    )


async def _save(
    response: httpx.Response, tmp_dir: Path, max_bytes: int, on_progress: Progress | None
) -> Downloaded:
    _check_status(response)
    declared = _content_length(response)
    if declared is not None and declared > max_bytes:
        raise FileError(
            "too_large", f"the server declares {declared} bytes; the limit is {max_bytes}"
        )
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="url-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > max_bytes:
                    raise FileError("too_large", f"the body is over the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)  # small blocks to the page cache: not worth a thread hop
                if on_progress is not None:
                    on_progress(size, declared)
    except BaseException:
        tmp.unlink(missing_ok=True)  # noqa: ASYNC240 - our own temp file, no waiting
        raise
    filename = name_from_disposition(response.headers.get("content-disposition"))
    return Downloaded(tmp, digest.hexdigest(), size, filename)


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    where = response.request.url.host
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    raise FileError(
        "download_failed",
        f"HTTP {status} {response.reason_phrase} from {where}",
        retryable=retryable,
    )


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class UrlSource(BaseSource):
    """Documents on the web: each URL is downloaded, through the outbound guard, when its file
    is processed; the temporary file goes when the file is done."""

    type = "url"
    ref_kinds: tuple[str, ...] = ("url",)

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        self.policy = policy_for(context.settings)

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        max_count = self.context.settings.url_max_per_source
        return {**spec, "urls": check_urls(spec["urls"], index=index, max_count=max_count)}

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        return iter_urls(spec["urls"])

    @contextlib.asynccontextmanager
    async def materialise(self, ref: FileRef, limits: FetchLimits) -> AsyncIterator[LocalFile]:
        if not isinstance(ref, UrlRef):
            raise TypeError(f"not a url reference: {ref!r}")
        bounds = limits_for(
            self.context.settings, max_file_size=limits.max_bytes, seconds_left=limits.seconds_left
        )
        tmp_dir = self.context.blob_store().tmp_dir()
        got = await download(ref.url, tmp_dir, self.policy, bounds, limits.on_progress)
        try:
            yield LocalFile(got.path, name=got.filename)
        finally:
            got.path.unlink(missing_ok=True)


__all__ = [
    "DownloadLimits",
    "Downloaded",
    "UrlSource",
    "check_urls",
    "clean_name",
    "download",
    "iter_urls",
    "limits_for",
    "name_from_disposition",
    "name_from_url",
    "policy_for",
]
