"""Which blobs the database still needs: the garbage collector's reference check."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.store.tables import files, uploads

# An unfinished tus upload whose bytes were adopted as a blob before its file row was written
# (a crash in between): the upload is finished again later and names the blob then.
UPLOAD_OPEN = "open"


async def referenced_blob_keys(conn: AsyncConnection, keys: Collection[str]) -> set[str]:
    """Those of ``keys`` that a file row (any job, any tenant, any status) names as its bytes
    or its extracted document, or an open upload names. One indexed lookup per key
    (``ix_files_blob_key``, ``ix_files_document_key``); pass a few hundred at a time."""
    if not keys:
        return set()
    named_by_files = sa.select(files.c.blob_key.label("key")).where(files.c.blob_key.in_(keys))
    named_as_documents = sa.select(files.c.document_key.label("key")).where(
        files.c.document_key.in_(keys)
    )
    named_by_uploads = sa.select(uploads.c.sha256.label("key")).where(
        uploads.c.sha256.in_(keys), uploads.c.status == UPLOAD_OPEN
    )
    result = await conn.execute(sa.union(named_by_files, named_as_documents, named_by_uploads))
    return {row.key for row in result}


__all__ = ["referenced_blob_keys"]
