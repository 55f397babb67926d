"""Files: read one, retry a failed one, read its chunks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ingestd.api.deps import Caller, DbDep, Writer
from ingestd.api.schemas import ERRORS, ChunkView, File, Page
from ingestd.domain.errors import NotFound
from ingestd.services.jobs import retry_file
from ingestd.store import files as file_store
from ingestd.store.views import file_view

router = APIRouter(prefix="/api/v1/files", tags=["files"], responses=ERRORS)


@router.get("/{file_id}", response_model=File, summary="Get a file")
async def get_file(file_id: str, db: DbDep, caller: Caller) -> Any:
    async with db.read() as conn:
        row = await file_store.get_file(conn, file_id, caller.scope)
    if row is None:
        raise NotFound(f"no file {file_id}")
    return file_view(row)


@router.post("/{file_id}/actions/retry", response_model=File, summary="Re-queue a failed file")
async def retry(file_id: str, db: DbDep, caller: Writer) -> Any:
    row = await retry_file(db, caller, file_id)
    return file_view(row)


@router.get(
    "/{file_id}/chunks", response_model=Page[ChunkView], summary="A file's chunks, in order"
)
async def chunks(
    file_id: str,
    db: DbDep,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="cursor: the last chunk index seen")] = None,
) -> Any:
    after_index = int(after) if after and after.isdigit() else -1
    async with db.read() as conn:
        if await file_store.get_file(conn, file_id, caller.scope) is None:
            raise NotFound(f"no file {file_id}")
        rows = await file_store.list_chunks(conn, file_id, after_index=after_index, limit=limit + 1)
    items = [
        {
            "index": r["idx"],
            "text": r["text"],
            "start": r["start"],
            "end": r["end"],
            "metadata": r["metadata"],
            "embedder": r["embedder"],
        }
        for r in rows[:limit]
    ]
    return {"items": items, "next": str(rows[limit - 1]["idx"]) if len(rows) > limit else None}
