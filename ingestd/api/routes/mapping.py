"""The mapping queue and mapping submissions, and typed records of files and jobs
(docs/templates.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ingestd.api.deps import Caller, DbDep, SettingsDep, Writer
from ingestd.api.routes.templates import approval
from ingestd.api.schemas import ERRORS
from ingestd.api.template_schemas import MappingSubmit, Open, VersionRef
from ingestd.domain.auth import Principal
from ingestd.services import jobs as job_service
from ingestd.services import template_views as views
from ingestd.services import templates as tpl_service
from ingestd.store.db import Database

router = APIRouter(tags=["templates"], responses=ERRORS)

RecordFormat = Literal["json", "jsonl", "csv"]


@router.get(
    "/api/v1/mapping/queue",
    response_model=Open,
    summary="Files waiting for a mapping, with suggestions",
)
async def mapping_queue(
    db: DbDep,
    caller: Caller,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: str | None = None,
) -> Any:
    return await views.mapping_queue(
        db, caller, after=after, limit=limit, embedder=settings.templates.embedder
    )


async def _callers_file(file_id: str, db: DbDep, caller: Writer) -> str:
    """404 for a file the caller cannot see, before the body is read (as every id route)."""
    await job_service.get_file_row(db, caller, file_id)
    return file_id


@router.post(
    "/api/v1/mapping/{file_id}",
    status_code=201,
    response_model=VersionRef,
    summary="Submit a mapping for a file's waiting table: a template version",
)
async def submit_mapping(
    file_id: Annotated[str, Depends(_callers_file)],
    body: MappingSubmit,
    db: DbDep,
    caller: Writer,
    settings: SettingsDep,
) -> Any:
    policy = approval(settings)
    template_id, version = await tpl_service.submit_mapping(
        db,
        caller,
        policy,
        file_id,
        target_schema=body.target_schema,
        mapping=body.mapping,
        template_id=body.template_id,
        table=body.table,
    )
    return {
        "template_id": template_id,
        "version": version,
        "status": "pending_approval" if policy.require else "approved",
    }


@router.get(
    "/api/v1/files/{file_id}/records",
    response_model=None,
    summary="A file's typed records: json (a page, errors, quality), jsonl or csv (all)",
)
async def file_records(
    file_id: str,
    db: DbDep,
    caller: Caller,
    format: RecordFormat = "json",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    after: str | None = None,
) -> Any:
    if format == "json":
        return await views.file_records(db, caller, file_id, after=after, limit=limit)
    await views.file_records(db, caller, file_id, after=None, limit=1)  # 404 before streaming
    return _stream(db, caller, format, file_id=file_id)


@router.get(
    "/api/v1/jobs/{job_id}/records",
    response_model=None,
    summary="A job's typed records, every file's: json (a page), jsonl or csv (all)",
)
async def job_records(
    job_id: str,
    db: DbDep,
    caller: Caller,
    format: RecordFormat = "json",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    after: str | None = None,
) -> Any:
    if format == "json":
        return await views.job_records(db, caller, job_id, after=after, limit=limit)
    await views.job_records(db, caller, job_id, after=None, limit=1)
    return _stream(db, caller, format, job_id=job_id)


def _stream(
    db: Database,
    caller: Principal,
    format: str,
    *,
    file_id: str | None = None,
    job_id: str | None = None,
) -> StreamingResponse:
    records = views.iter_records(db, caller, file_id=file_id, job_id=job_id)
    name = file_id or job_id
    if format == "jsonl":
        return StreamingResponse(
            _jsonl(records),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{name}-records.jsonl"'},
        )
    return StreamingResponse(
        _csv(records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-records.csv"'},
    )


async def _jsonl(records: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for r in records:
        yield orjson.dumps(r) + b"\n"


async def _csv(records: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Columns: file_id, table, row, valid, then the fields of the first record (a later
    table's other fields are added as they appear, in its own header line)."""
    fields: list[str] | None = None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    async for r in records:
        data = r["data"]
        if fields is None or list(data) != fields:
            fields = list(data)
            writer.writerow(["file_id", "table", "row", "valid", *fields])
        writer.writerow(
            [r["file_id"], r["table"], r["row"], r["valid"], *(_cell(data[f]) for f in fields)]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value
