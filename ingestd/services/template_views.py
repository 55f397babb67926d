"""What the API shows of templates: lists with usage, one template with its current version,
versions and diffs, analytics with recommendations, suggestions, the mapping queue, records,
and the export/import document."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ingestd.domain.auth import Principal
from ingestd.domain.errors import NotFound, ValidationFailed
from ingestd.domain.times import rfc3339
from ingestd.pipeline.embed import get_embedder
from ingestd.services import templates as tpl_service
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store import records as record_store
from ingestd.store import templates as tpl_store
from ingestd.store.db import Database
from ingestd.templates.analytics import recommendations
from ingestd.templates.diff import diff_columns
from ingestd.templates.match import TemplateIndex
from ingestd.templates.names import normalise
from ingestd.templates.portable import EXPORT_SCHEMA, PortableInvalid, check_import
from ingestd.templates.signature import Signature
from ingestd.templates.suggest import EmbedTexts, suggest

RECORDS_PAGE_MAX = 5000


def embedder_texts(name: str | None) -> EmbedTexts:
    embedder = get_embedder(name)

    def embed(texts: Sequence[str]) -> Any:
        return embedder.embed(list(texts)).tolist()

    return embed


def version_view(row: dict[str, Any]) -> dict[str, Any]:
    signature = row.get("signature") or {}
    return {
        "version": row["version"],
        "status": row["status"],
        "signature": {
            "header_row": signature.get("header_row", 0),
            "fingerprint": row["fingerprint"],
            "columns": [
                {"name": c["name"], "type": c.get("type"), "profile": c.get("profile") or {}}
                for c in signature.get("columns") or []
            ],
        },
        "target_schema": row["target_schema"],
        "mapping": row["mapping"],
        "diff": row.get("diff"),
        "source_file_id": row.get("source_file_id"),
        "created_by": row.get("created_by"),
        "created_at": rfc3339(row["created_at"]),
        "submitted_by": row.get("submitted_by"),
        "decided_by": row.get("decided_by"),
        "decided_at": rfc3339(row.get("decided_at")),
        "comment": row.get("comment"),
    }


def _usage(u: dict[str, Any] | None) -> dict[str, Any]:
    u = u or {"files": 0, "rows": 0, "valid_rows": 0, "last_used_at": None}
    return {
        "files": u["files"],
        "rows": u["rows"],
        "valid_rate": round(u["valid_rows"] / u["rows"], 4) if u["rows"] else None,
        "last_used_at": rfc3339(u["last_used_at"]),
    }


def template_view(row: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "status": row["status"],
        "current_version": row["current_version"],
        "approved_version": row["approved_version"],
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
        "usage": _usage(usage),
    }


async def list_templates(
    db: Database, principal: Principal, *, statuses: Sequence[str], after: str | None, limit: int
) -> dict[str, Any]:
    bad = [s for s in statuses if s not in tpl_service.STATUSES]
    if bad:
        raise ValidationFailed(
            f"status: {', '.join(bad)} is not one of {', '.join(tpl_service.STATUSES)}",
            errors=[{"field": "status", "message": f"allowed: {', '.join(tpl_service.STATUSES)}"}],
        )
    async with db.read() as conn:
        rows = await tpl_store.list_templates(
            conn, principal.scope, statuses=statuses, after=after, limit=limit + 1
        )
        page = rows[:limit]
        usage = await tpl_store.usage(conn, [r["id"] for r in page])
    items = [template_view(r, usage.get(r["id"])) for r in page]
    return {"items": items, "next": page[-1]["id"] if len(rows) > limit else None}


async def get_template(db: Database, principal: Principal, template_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        row = await tpl_store.get_template(conn, template_id, principal.scope)
        if row is None:
            raise NotFound(f"no template {template_id}")
        current = await tpl_store.get_version(conn, template_id, row["current_version"])
        usage = await tpl_store.usage(conn, [template_id])
        waiting = await tpl_store.waiting_count(conn, template_id)
    assert current is not None
    version = version_view(current)
    return {
        **template_view(row, usage.get(template_id)),
        "signature": version["signature"],
        "mapping": version["mapping"],
        "target_schema": version["target_schema"],
        "version": version,
        "waiting_files": waiting,
    }


async def list_versions(db: Database, principal: Principal, template_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        if await tpl_store.get_template(conn, template_id, principal.scope) is None:
            raise NotFound(f"no template {template_id}")
        rows = await tpl_store.list_versions(conn, template_id)
    return {"items": [version_view(r) for r in rows], "next": None}


async def get_version(
    db: Database, principal: Principal, template_id: str, version: int, *, diff_from: int | None
) -> dict[str, Any]:
    async with db.read() as conn:
        if await tpl_store.get_template(conn, template_id, principal.scope) is None:
            raise NotFound(f"no template {template_id}")
        row = await tpl_store.get_version(conn, template_id, version)
        other = (
            await tpl_store.get_version(conn, template_id, diff_from)
            if diff_from is not None
            else None
        )
    if row is None:
        raise NotFound(f"template {template_id} has no version {version}")
    if diff_from is not None and other is None:
        raise NotFound(f"template {template_id} has no version {diff_from}")
    if other is not None:
        old = other["signature"].get("columns") or []
        new = row["signature"].get("columns") or []
        return {"from": diff_from, "to": version, **diff_columns(old, new)}
    return version_view(row)


async def analytics(db: Database, principal: Principal, template_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        if await tpl_store.get_template(conn, template_id, principal.scope) is None:
            raise NotFound(f"no template {template_id}")
        versions = await tpl_store.list_versions(conn, template_id)
        used = await tpl_store.version_usage(conn, template_id)
    items = []
    for v in versions:
        mine = [u for u in used if u["version"] == v["version"]]
        rows = sum(u["rows"] for u in mine)
        valid = sum(u["valid_rows"] for u in mine)
        times = [u["duration_ms"] for u in mine if u["duration_ms"] is not None]
        errors = _merged_errors(u["error_counts"] or [] for u in mine)
        items.append(
            {
                "version": v["version"],
                "status": v["status"],
                "files": len({u["file_id"] for u in mine}),
                "rows": rows,
                "valid_rate": round(valid / rows, 4) if rows else None,
                "mean_ms": round(sum(times) / len(times), 1) if times else None,
                "last_used_at": rfc3339(max((u["created_at"] for u in mine), default=None)),
                "top_errors": errors[:10],
                "recommendations": recommendations(
                    columns=v["signature"].get("columns") or [],
                    mapping=v["mapping"] or {},
                    target_schema=v["target_schema"] or {},
                    rows=rows,
                    error_counts=errors,
                ),
            }
        )
    return {"template_id": template_id, "versions": items}


def _merged_errors(groups: Any) -> list[dict[str, Any]]:
    counts: Counter[tuple[Any, Any, str]] = Counter()
    examples: dict[tuple[Any, Any, str], list[Any]] = {}
    for group in groups:
        for e in group:
            key = (e.get("field"), e.get("column"), e["reason"])
            counts[key] += int(e["count"])
            examples.setdefault(key, []).extend(e.get("examples") or [])
    return [
        {"field": f, "column": c, "reason": r, "count": n, "examples": examples[(f, c, r)][:5]}
        for (f, c, r), n in counts.most_common()
    ]


async def _fields_for(
    conn: Any, tenant: str, version: dict[str, Any] | None
) -> list[dict[str, Any]]:
    fields = list(((version or {}).get("target_schema") or {}).get("fields") or [])
    if fields:
        return fields
    seen: dict[str, dict[str, Any]] = {}
    for tid, number, _status, _cols in await tpl_store.index_rows(conn, tenant):
        row = await tpl_store.get_version(conn, tid, number)
        for f in ((row or {}).get("target_schema") or {}).get("fields") or []:
            seen.setdefault(f["name"], f)
    return list(seen.values())


async def suggestions(
    db: Database,
    principal: Principal,
    template_id: str,
    *,
    columns: Sequence[dict[str, Any]] | None,
    fields: Sequence[dict[str, Any]] | None,
    embedder: str | None,
) -> dict[str, Any]:
    async with db.read() as conn:
        template = await tpl_store.get_template(conn, template_id, principal.scope)
        if template is None:
            raise NotFound(f"no template {template_id}")
        version = await tpl_store.get_version(conn, template_id, template["current_version"])
        history = await tpl_store.history(conn, template["tenant"])
        targets = list(fields) if fields else await _fields_for(conn, template["tenant"], version)
    cols = (
        list(columns)
        if columns
        else list(((version or {}).get("signature") or {}).get("columns") or [])
    )
    if not targets:
        raise ValidationFailed(
            "no target fields to suggest: give the template a target_schema, or send 'fields'",
            errors=[{"field": "fields", "message": "no target schema"}],
        )
    items = suggest(cols, targets, embed=embedder_texts(embedder), history=history)
    return {"template_id": template_id, "items": items}


async def mapping_queue(
    db: Database, principal: Principal, *, after: str | None, limit: int, embedder: str | None
) -> dict[str, Any]:
    async with db.read() as conn:
        rows = await tpl_store.mapping_queue(conn, principal.scope, after=after, limit=limit + 1)
        tenants = {r["tenant"] for r in rows[:limit]}
        indexes = {t: TemplateIndex.from_rows(await tpl_store.index_rows(conn, t)) for t in tenants}
        histories = {t: await tpl_store.history(conn, t) for t in tenants}
        fields = {t: await _fields_for(conn, t, None) for t in tenants}
        waiting_versions = {
            (r["template_id"], r["version"]): await tpl_store.get_version(
                conn, r["template_id"], r["version"]
            )
            for r in rows[:limit]
            if r["template_id"] is not None
        }
    embed = embedder_texts(embedder)
    # Whole files per page: the cursor is a file id.
    page = rows[:limit]
    more = len(rows) > limit
    if more and page:
        last = page[-1]["file_id"]
        page = [r for r in page if r["file_id"] != last] or page
    items = []
    for r in page:
        signature = Signature.from_dict(r["signature"])
        version = waiting_versions.get((r["template_id"], r["version"]))
        targets = ((version or {}).get("target_schema") or {}).get("fields") or fields[r["tenant"]]
        columns = [c.to_dict() for c in signature.columns]
        items.append(
            {
                "file_id": r["file_id"],
                "job_id": r["job_id"],
                "name": r["name"],
                "path": r["path"],
                "table": r["table_index"],
                "location": r["location"],
                "template_id": r["template_id"],
                "version": r["version"],
                "signature": {
                    **r["signature"],
                    "columns": [{k: c[k] for k in ("name", "type", "profile")} for c in columns],
                },
                "samples": r["samples"],
                "closest": [
                    {
                        "template_id": m.template_id,
                        "version": m.version,
                        "status": m.status,
                        "score": m.score,
                    }
                    for m in indexes[r["tenant"]].ranked(signature, limit=3)
                ],
                "suggestions": suggest(
                    columns, targets, embed=embed, history=histories[r["tenant"]]
                )
                if targets
                else [],
                "created_at": rfc3339(r["created_at"]),
            }
        )
    return {"items": items, "next": page[-1]["file_id"] if more and page else None}


# -- records ----------------------------------------------------------------------------------


def _cursor(after: str | None) -> tuple[str, int, int] | None:
    if not after:
        return None
    try:
        file_id, table, row = after.rsplit(":", 2)
        return file_id, int(table), int(row)
    except ValueError:
        raise ValidationFailed(
            "after: not a cursor this list gave",
            errors=[{"field": "after", "message": "bad cursor"}],
        ) from None


async def file_records(
    db: Database, principal: Principal, file_id: str, *, after: str | None, limit: int
) -> dict[str, Any]:
    async with db.read() as conn:
        file = await file_store.get_file(conn, file_id, principal.scope)
        if file is None:
            raise NotFound(f"no file {file_id}")
        tables = await tpl_store.tables_of_file(conn, file_id)
        rows = await record_store.list_records(
            conn, [file_id], after=_cursor(after), limit=limit + 1
        )
        errors = await record_store.list_errors(conn, file_id) if not after else []
        order = await _field_order(conn, [file_id])
    applied = [t for t in tables if t["status"] == tpl_store.APPLIED]
    total = sum(t["rows"] for t in applied)
    valid = sum(t["valid_rows"] for t in applied)
    page = rows[:limit]
    return {
        "file_id": file_id,
        "status": file["status"],
        "items": [_record(r, order) for r in page],
        "next": _next(page) if len(rows) > limit else None,
        "errors": errors,
        "quality": round(valid / total, 4) if total else None,
        "rows": total,
        "valid_rows": valid,
        "tables": [
            {
                "table": t["table_index"],
                "location": t["location"],
                "status": t["status"],
                "template_id": t["template_id"],
                "version": t["version"],
                "rows": t["rows"],
                "valid_rows": t["valid_rows"],
                "quality": round(t["valid_rows"] / t["rows"], 4) if t["rows"] else None,
            }
            for t in tables
        ],
    }


FieldOrder = dict[tuple[str, int], list[str]]


async def _field_order(conn: Any, file_ids: Sequence[str]) -> FieldOrder:
    """Each applied table's fields in its target schema's order (JSONB keeps no key order)."""
    order: FieldOrder = {}
    versions: dict[tuple[str, int], list[str]] = {}
    for file_id in file_ids:
        for t in await tpl_store.tables_of_file(conn, file_id):
            if t["status"] != tpl_store.APPLIED or t["template_id"] is None:
                continue
            key = (t["template_id"], t["version"])
            if key not in versions:
                row = await tpl_store.get_version(conn, *key)
                fields = ((row or {}).get("target_schema") or {}).get("fields") or []
                versions[key] = [f["name"] for f in fields]
            order[(file_id, t["table_index"])] = versions[key]
    return order


def _record(r: dict[str, Any], order: FieldOrder | None = None) -> dict[str, Any]:
    data = r["data"]
    fields = (order or {}).get((r["file_id"], r["table_index"]))
    if fields:
        data = {f: data.get(f) for f in fields}
    return {
        "file_id": r["file_id"],
        "table": r["table_index"],
        "row": r["row"],
        "valid": r["valid"],
        "data": data,
    }


def _next(page: list[dict[str, Any]]) -> str:
    last = page[-1]
    return f"{last['file_id']}:{last['table_index']}:{last['row']}"


async def iter_records(
    db: Database, principal: Principal, *, file_id: str | None = None, job_id: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Every record of a file or a job, page by page (memory flat), for the exports."""
    async with db.read() as conn:
        if file_id is not None:
            if await file_store.get_file(conn, file_id, principal.scope) is None:
                raise NotFound(f"no file {file_id}")
            ids = [file_id]
        else:
            assert job_id is not None
            if await job_store.get_job(conn, job_id, principal.scope) is None:
                raise NotFound(f"no job {job_id}")
            ids = await tpl_store.applied_files_of_job(conn, job_id)
        order = await _field_order(conn, ids)
    cursor: tuple[str, int, int] | None = None
    while ids:
        async with db.read() as conn:
            rows = await record_store.list_records(conn, ids, after=cursor, limit=RECORDS_PAGE_MAX)
        for r in rows:
            yield _record(r, order)
        if len(rows) < RECORDS_PAGE_MAX:
            return
        cursor = (rows[-1]["file_id"], rows[-1]["table_index"], rows[-1]["row"])


async def job_records(
    db: Database, principal: Principal, job_id: str, *, after: str | None, limit: int
) -> dict[str, Any]:
    async with db.read() as conn:
        if await job_store.get_job(conn, job_id, principal.scope) is None:
            raise NotFound(f"no job {job_id}")
        ids = await tpl_store.applied_files_of_job(conn, job_id)
        quality = await tpl_store.job_quality(conn, job_id)
        rows = (
            await record_store.list_records(conn, ids, after=_cursor(after), limit=limit + 1)
            if ids
            else []
        )
        order = await _field_order(conn, sorted({r["file_id"] for r in rows}))
    page = rows[:limit]
    return {
        "job_id": job_id,
        "items": [_record(r, order) for r in page],
        "next": _next(page) if len(rows) > limit else None,
        "quality": quality["quality"],
        "rows": quality["rows"],
        "valid_rows": quality["valid_rows"],
        "files": len(ids),
    }


# -- export and import ------------------------------------------------------------------------


async def export_templates(db: Database, principal: Principal) -> dict[str, Any]:
    async with db.read() as conn:
        rows = await tpl_store.list_templates(conn, principal.tenant, limit=1_000_000)
        versions = await tpl_store.versions_of(conn, [r["id"] for r in rows])
    return {
        "schema": EXPORT_SCHEMA,
        "exported_at": rfc3339(time.time()),
        "templates": [
            {
                "id": r["id"],
                "name": r["name"],
                "status": r["status"],
                "current_version": r["current_version"],
                "approved_version": r["approved_version"],
                "versions": [
                    {
                        "version": v["version"],
                        "status": v["status"],
                        "columns": (v["signature"] or {}).get("columns") or [],
                        "header_row": (v["signature"] or {}).get("header_row", 0),
                        "target_schema": v["target_schema"],
                        "mapping": v["mapping"],
                        "diff": v["diff"],
                        "comment": v["comment"],
                        "created_at": rfc3339(v["created_at"]),
                    }
                    for v in versions.get(r["id"], [])
                ],
            }
            for r in rows
        ],
    }


async def import_templates(db: Database, principal: Principal, document: Any) -> dict[str, Any]:
    principal.require_admin()
    try:
        templates = check_import(document)
    except PortableInvalid as exc:
        raise ValidationFailed(str(exc), errors=exc.errors) from None
    created = await tpl_service.import_checked(db, principal, templates)
    return {"imported": len(created), "items": [{"id": tid, "name": name} for tid, name in created]}


def normalised_keys(columns: Sequence[dict[str, Any]]) -> list[str]:
    return [normalise(c["name"]) for c in columns]
