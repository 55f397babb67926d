"""Content-addressed blob storage: bytes are kept under their sha256."""

from ingestd.blobs.base import (
    BlobInfo,
    BlobStore,
    BlobStoreConfigError,
    StoredBlob,
    run_blob_io,
)
from ingestd.blobs.local import LocalBlobStore
from ingestd.blobs.url import open_blob_store

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobStoreConfigError",
    "LocalBlobStore",
    "StoredBlob",
    "open_blob_store",
    "run_blob_io",
]
