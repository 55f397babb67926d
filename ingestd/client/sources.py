"""Source builders: what a job reads its files from.

>>> from ingestd.client import sources
>>> sources.directory("papers/2024", include=["*.pdf"]).to_api()
{'type': 'directory', 'path': 'papers/2024', 'recursive': True, 'include': ['*.pdf'], 'exclude': []}

Paths are read by the *server*, under its ``--source-root``; to send local files, use an
``upload()`` source and ``client.jobs.upload`` (or ``client.upload_and_wait``). Include and
exclude globs follow the server's rules (``ingestd.domain.paths.PathFilter``): ``*`` stays in one
folder, ``**`` spans folders, matching ignores case, hidden names need an explicit pattern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Source(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    def to_api(self) -> dict[str, Any]:
        """The JSON the API takes in ``sources``."""
        return self.model_dump(mode="json", exclude_none=True)


class UploadSource(_Source):
    type: Literal["upload"] = "upload"


class DirectorySource(_Source):
    type: Literal["directory"] = "directory"
    path: str
    recursive: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class ZipSource(_Source):
    type: Literal["zip"] = "zip"
    path: str
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class UrlSource(_Source):
    type: Literal["url"] = "url"
    urls: list[str]


class S3Source(_Source):
    type: Literal["s3"] = "s3"
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    recursive: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


Source = UploadSource | DirectorySource | ZipSource | UrlSource | S3Source


def upload() -> UploadSource:
    """Files sent by the client (``client.jobs.upload``); the job ends once sealed."""
    return UploadSource()


def directory(
    path: str,
    *,
    recursive: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> DirectorySource:
    """A folder the server can read (under its source roots)."""
    return DirectorySource(
        path=str(path), recursive=recursive, include=list(include), exclude=list(exclude)
    )


def zip(path: str, *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> ZipSource:
    """A zip archive the server can read; it is unpacked with zip-bomb and traversal guards."""
    return ZipSource(path=str(path), include=list(include), exclude=list(exclude))


def url(*urls: str) -> UrlSource:
    """Files downloaded by the server: ``sources.url("https://example.org/a.pdf", …)``."""
    return UrlSource(urls=list(urls))


def s3(
    bucket: str,
    prefix: str = "",
    *,
    endpoint_url: str | None = None,
    recursive: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> S3Source:
    """Objects under ``prefix`` in ``bucket``, read with the server's own credentials."""
    return S3Source(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint_url,
        recursive=recursive,
        include=list(include),
        exclude=list(exclude),
    )


def to_api(source: Source | Mapping[str, Any]) -> dict[str, Any]:
    """A builder's JSON, or a dict as given (for sources newer than this SDK)."""
    return source.to_api() if isinstance(source, _Source) else dict(source)


__all__ = [
    "DirectorySource",
    "S3Source",
    "Source",
    "UploadSource",
    "UrlSource",
    "ZipSource",
    "directory",
    "s3",
    "upload",
    "url",
    "zip",
]
