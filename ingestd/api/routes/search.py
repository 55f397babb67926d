"""Search: chunks ranked for a query, with their file, job and position."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ingestd.api.deps import Caller, DbDep
from ingestd.api.schemas import ERRORS
from ingestd.services import search as search_service

router = APIRouter(prefix="/api/v1", tags=["search"], responses=ERRORS)


class SearchFile(BaseModel):
    id: str
    name: str
    path: str


class SearchChunk(BaseModel):
    index: int = Field(description="the chunk's position in its file, from 0")
    text: str
    metadata: dict[str, Any] = Field(description="page, pages, section, kinds, sheet, …")
    embedder: str | None = Field(description="the model of its stored vector; null: none")


class SearchPosition(BaseModel):
    start: int = Field(description="offset of the chunk's first character in the file's text")
    end: int = Field(description="offset just past its last character")
    page: int | None = Field(description="page of its first character; null for formats without")


class SearchHit(BaseModel):
    score: float = Field(ge=0, le=1, description="cosine (vector) or normalised BM25 (lexical)")
    match: Literal["vector", "lexical"] = Field(description="how this chunk was ranked")
    job_id: str
    file: SearchFile
    chunk: SearchChunk
    position: SearchPosition


class SearchResults(BaseModel):
    items: list[SearchHit] = Field(description="best first, at most k")
    query: str = Field(description="the query, without surrounding blanks")
    mode: Literal["vector", "lexical", "hybrid"] = Field(
        description="vector: every chunk searched had a comparable vector; lexical: none had; "
        "hybrid: both kinds, merged by score"
    )
    truncated: bool = Field(
        description=f"true when the scope holds more than "
        f"{search_service.MAX_SCANNED_CHUNKS:,} chunks: only the newest were searched"
    )


@router.get(
    "/search",
    response_model=SearchResults,
    summary="Chunks ranked for a query, with file, job and position",
    description=(
        "Chunks with a stored vector are ranked by cosine similarity to the query embedded by "
        "the same embedder; the others (the `extract` pipeline, or an embedder not available "
        "on this server) by BM25 over the query's words, case-insensitive. A search reads the "
        f"newest {search_service.MAX_SCANNED_CHUNKS:,} chunks of its scope (`truncated` says "
        "when there were more): pass `job_id` to search one job."
    ),
)
async def search(
    db: DbDep,
    caller: Caller,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=search_service.MAX_QUERY_LENGTH,
            description="what to look for; not blank",
        ),
    ],
    job_id: Annotated[str | None, Query(min_length=1, description="only this job's chunks")] = None,
    k: Annotated[
        int, Query(ge=1, le=search_service.MAX_K, description="how many chunks to return")
    ] = 10,
) -> Any:
    result = await search_service.search_chunks(db, caller, q, job_id=job_id, k=k)
    return {
        "items": result.items,
        "query": result.query,
        "mode": result.mode,
        "truncated": result.truncated,
    }
