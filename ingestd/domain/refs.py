"""Where a file's bytes are: a typed reference, one kind per way of reaching them.

A listed file records its reference (the ``files.ref`` JSON column); the source adapter of its
kind (``ingestd/sources/``) turns it into a local file to read when the file is processed.
Nothing is told apart by a string prefix: the kind says what the other fields mean.

>>> ref = S3Ref(bucket="docs", key="in/a b.pdf", endpoint_url=None)
>>> ref_from_json(ref_to_json(ref)) == ref
True
>>> ref_to_json(PathRef("/srv/docs/a.pdf"))
{'kind': 'path', 'path': '/srv/docs/a.pdf'}
>>> ref_from_json({"kind": "gdrive", "file_id": "1AbC"})
ConnectorRef(kind='gdrive', data={'file_id': '1AbC'})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class PathRef:
    """A file on a disk this process can open: a directory source's file (absolute path)."""

    kind: ClassVar[str] = "path"
    path: str


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob of the blob store (an upload, a zip archive's member), by its sha256 key."""

    kind: ClassVar[str] = "blob"
    key: str


@dataclass(frozen=True, slots=True)
class UrlRef:
    """A document to download over HTTP(S)."""

    kind: ClassVar[str] = "url"
    url: str


@dataclass(frozen=True, slots=True)
class S3Ref:
    """An object of an S3-compatible bucket, read with the server's own credentials."""

    kind: ClassVar[str] = "s3"
    bucket: str
    key: str
    endpoint_url: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorRef:
    """A reference of an installed connector (its source type is the ``kind``): what ``data``
    holds is the connector's business (a Drive file id, a revision…), JSON values only."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


FileRef = PathRef | BlobRef | UrlRef | S3Ref | ConnectorRef
BUILT_IN: dict[str, type[PathRef | BlobRef | UrlRef | S3Ref]] = {
    cls.kind: cls for cls in (PathRef, BlobRef, UrlRef, S3Ref)
}


def ref_to_json(ref: FileRef) -> dict[str, Any]:
    """The JSON object stored for ``ref``: its ``kind`` and its fields."""
    if isinstance(ref, ConnectorRef):
        return {**ref.data, "kind": ref.kind}
    if isinstance(ref, S3Ref):
        out: dict[str, Any] = {"kind": ref.kind, "bucket": ref.bucket, "key": ref.key}
        if ref.endpoint_url:
            out["endpoint_url"] = ref.endpoint_url
        return out
    if isinstance(ref, PathRef):
        return {"kind": ref.kind, "path": ref.path}
    if isinstance(ref, BlobRef):
        return {"kind": ref.kind, "key": ref.key}
    return {"kind": ref.kind, "url": ref.url}


def ref_from_json(value: Mapping[str, Any]) -> FileRef:
    """The reference a stored JSON object describes (see :func:`ref_to_json`)."""
    kind = str(value["kind"])
    fields = {k: v for k, v in value.items() if k != "kind"}
    built_in = BUILT_IN.get(kind)
    if built_in is None:
        return ConnectorRef(kind=kind, data=fields)
    return built_in(**fields)
