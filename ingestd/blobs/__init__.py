"""Content-addressed blob storage: bytes are kept under their sha256."""

from ingestd.blobs.local import BlobInfo, LocalBlobStore

__all__ = ["BlobInfo", "LocalBlobStore"]
