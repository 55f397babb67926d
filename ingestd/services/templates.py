"""Templates as users and workers change them: create, edit (a new version), delete, submit a
mapping, approve or reject it (re-running the files that waited), discover layouts, suggest.

Every change is one transaction with its event (``template.discovered``, ``template.versioned``,
``mapping.submitted``, ``mapping.approved``, ``mapping.rejected``); the API's audit middleware
logs every call. Reads for the API are in ``services/template_views.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingestd.domain.auth import Principal
from ingestd.domain.errors import Conflict, NotFound, ValidationFailed
from ingestd.domain.events import EventType
from ingestd.domain.ids import new_id
from ingestd.store import files as file_store
from ingestd.store import templates as tpl_store
from ingestd.store.db import Connection as AsyncConnection
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.templates.diff import diff_columns
from ingestd.templates.mapping import (
    MappingInvalid,
    normalise_mapping,
    normalise_schema,
)
from ingestd.templates.names import normalise
from ingestd.templates.signature import ColumnSig, Signature
from ingestd.templates.values import TYPES

STATUSES = ("discovered", "pending_approval", "approved", "rejected", "retired")


@dataclass(frozen=True, slots=True)
class Approval:
    """How submitted mappings are decided: ``require`` = an admin approves each."""

    require: bool = True


def _invalid(exc: MappingInvalid) -> ValidationFailed:
    return ValidationFailed(str(exc), errors=exc.errors)


def _signature(columns: Sequence[dict[str, Any]]) -> Signature:
    errors = []
    for i, c in enumerate(columns):
        if not isinstance(c, dict) or not str(c.get("name") or "").strip():
            errors.append({"field": f"columns[{i}].name", "message": "a column needs a name"})
        elif (c.get("type") or "text") not in TYPES:
            errors.append(
                {
                    "field": f"columns[{i}].type",
                    "message": f"{c.get('type')!r} is not one of {', '.join(TYPES)}",
                }
            )
    keys = [normalise(str(c.get("name"))) for c in columns if isinstance(c, dict)]
    if len(set(keys)) != len(keys):
        errors.append({"field": "columns", "message": "two columns have the same name"})
    if not columns:
        errors.append({"field": "columns", "message": "a template needs at least one column"})
    if errors:
        raise ValidationFailed(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )
    return Signature(
        columns=tuple(
            ColumnSig(
                name=str(c["name"]).strip(),
                type=c.get("type") or "text",
                profile=dict(c.get("profile") or {}),
            )
            for c in columns
        )
    )


def _checked(
    signature: Signature, target_schema: Any, mapping: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        schema = normalise_schema(target_schema)
        plan = normalise_mapping(mapping, schema, [c.name for c in signature.columns])
    except MappingInvalid as exc:
        raise _invalid(exc) from None
    return schema, plan


def _mapping_status(mapping: dict[str, Any], approval: Approval) -> str:
    if not mapping:
        return "discovered"
    return "pending_approval" if approval.require else "approved"


async def _template(
    conn: AsyncConnection, principal: Principal, template_id: str
) -> dict[str, Any]:
    row = await tpl_store.get_template(conn, template_id, principal.scope)
    if row is None:
        raise NotFound(f"no template {template_id}")
    return row


async def add_version(
    conn: AsyncConnection,
    template: dict[str, Any],
    *,
    signature: Signature,
    schema: dict[str, Any],
    mapping: dict[str, Any],
    status: str,
    by: str | None,
    source_file_id: str | None,
    now: float,
) -> dict[str, Any]:
    """The template's next version, with what changed from its current one."""
    previous = await tpl_store.get_version(conn, template["id"], template["current_version"])
    old_columns = (previous or {}).get("signature", {}).get("columns", [])
    version = template["current_version"] + 1
    row = {
        "template_id": template["id"],
        "version": version,
        "tenant": template["tenant"],
        "status": status,
        "fingerprint": signature.fingerprint,
        "signature": signature.to_dict(),
        "target_schema": schema,
        "mapping": mapping,
        "diff": diff_columns(old_columns, [c.to_dict() for c in signature.columns]),
        "source_file_id": source_file_id,
        "created_by": by,
        "created_at": now,
        "submitted_by": by if mapping else None,
    }
    await tpl_store.insert_version(conn, row)
    values: dict[str, Any] = {"current_version": version, "updated_at": now, "status": status}
    if status == "approved":
        values["approved_version"] = version
    elif template.get("approved_version") and status == "discovered":
        values["status"] = "discovered"
    await tpl_store.update_template(conn, template["id"], **values)
    await append_event(
        conn,
        tenant=template["tenant"],
        type=EventType.TEMPLATE_VERSIONED,
        file_id=source_file_id,
        data={
            "template_id": template["id"],
            "version": version,
            "status": status,
            "diff": row["diff"],
        },
        at=now,
    )
    return row


async def new_template(
    conn: AsyncConnection,
    *,
    tenant: str,
    name: str,
    signature: Signature,
    schema: dict[str, Any],
    mapping: dict[str, Any],
    status: str,
    by: str | None,
    source_file_id: str | None,
    now: float,
    event: EventType = EventType.TEMPLATE_DISCOVERED,
    job_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    template = {
        "id": new_id("tpl"),
        "tenant": tenant,
        "name": name,
        "status": status,
        "current_version": 1,
        "approved_version": 1 if status == "approved" else None,
        "created_at": now,
        "updated_at": now,
    }
    version = {
        "template_id": template["id"],
        "version": 1,
        "tenant": tenant,
        "status": status,
        "fingerprint": signature.fingerprint,
        "signature": signature.to_dict(),
        "target_schema": schema,
        "mapping": mapping,
        "diff": None,
        "source_file_id": source_file_id,
        "created_by": by,
        "created_at": now,
        "submitted_by": by if mapping else None,
    }
    await tpl_store.insert_template(conn, template)
    await tpl_store.insert_version(conn, version)
    await append_event(
        conn,
        tenant=tenant,
        type=event,
        job_id=job_id,
        file_id=source_file_id,
        data={"template_id": template["id"], "version": 1, "name": name, "status": status},
        at=now,
    )
    return template, version


# -- by hand ----------------------------------------------------------------------------------


async def create_template(
    db: Database,
    principal: Principal,
    approval: Approval,
    *,
    name: str,
    columns: Sequence[dict[str, Any]],
    target_schema: Any = None,
    mapping: Any = None,
) -> str:
    principal.require_write()
    signature = _signature(columns)
    schema, plan = _checked(signature, target_schema, mapping)
    now = time.time()
    async with db.write() as conn:
        template, _version = await new_template(
            conn,
            tenant=principal.tenant,
            name=name,
            signature=signature,
            schema=schema,
            mapping=plan,
            status=_mapping_status(plan, approval),
            by=principal.key_id,
            source_file_id=None,
            now=now,
        )
        if plan:
            await _remember(conn, principal.tenant, plan, now)
    return str(template["id"])


async def update_template(
    db: Database,
    principal: Principal,
    approval: Approval,
    template_id: str,
    *,
    name: str | None = None,
    columns: Sequence[dict[str, Any]] | None = None,
    target_schema: Any = None,
    mapping: Any = None,
    status: str | None = None,
) -> None:
    """An edit: a new version (the current one's parts where the edit leaves them out)."""
    principal.require_write()
    now = time.time()
    async with db.write() as conn:
        template = await _template(conn, principal, template_id)
        current = await tpl_store.get_version(conn, template_id, template["current_version"])
        assert current is not None
        if status is not None:
            if status != "retired" and status != template["status"]:
                raise ValidationFailed(
                    "status: only 'retired' can be set by an edit (approve and reject decide the rest)",
                    errors=[{"field": "status", "message": "only 'retired' can be set"}],
                )
            await tpl_store.update_template(conn, template_id, status=status, updated_at=now)
        if name is not None:
            await tpl_store.update_template(conn, template_id, name=name, updated_at=now)
        if columns is None and target_schema is None and mapping is None:
            return
        signature = (
            _signature(columns)
            if columns is not None
            else Signature.from_dict(current["signature"])
        )
        schema, plan = _checked(
            signature,
            target_schema if target_schema is not None else current["target_schema"],
            mapping if mapping is not None else kept_mapping(current["mapping"], signature),
        )
        await add_version(
            conn,
            template,
            signature=signature,
            schema=schema,
            mapping=plan,
            status=_mapping_status(plan, approval),
            by=principal.key_id,
            source_file_id=None,
            now=now,
        )
        if mapping is not None and plan:
            await _remember(conn, template["tenant"], plan, now)


def kept_mapping(mapping: dict[str, Any], signature: Signature) -> dict[str, Any]:
    """The entries of an old mapping whose source columns are still there."""
    names = {c.name for c in signature.columns}
    return {k: m for k, m in (mapping or {}).items() if k in names or _constant(m)}


def _constant(m: dict[str, Any]) -> bool:
    return any(t.get("type") == "constant" for t in m.get("transform") or [])


async def delete_template(db: Database, principal: Principal, template_id: str) -> None:
    principal.require_write()
    async with db.write() as conn:
        await _template(conn, principal, template_id)
        waiting = await tpl_store.waiting_count(conn, template_id)
        if waiting:
            raise Conflict(
                f"{waiting} file(s) wait for a mapping of this template; map or delete them first"
            )
        await tpl_store.delete_template(conn, template_id)


# -- the mapping workflow ---------------------------------------------------------------------


async def submit_mapping(
    db: Database,
    principal: Principal,
    approval: Approval,
    file_id: str,
    *,
    target_schema: Any,
    mapping: Any,
    template_id: str | None = None,
    table: int | None = None,
) -> tuple[str, int]:
    """A mapping for the table a file waits with: a new version of its template (or of
    ``template_id``), ``pending_approval`` or, without approval required, ``approved`` (and the
    waiting files re-run). Returns ``(template id, version)``."""
    principal.require_write()
    now = time.time()
    async with db.write() as conn:
        file = await file_store.get_file(conn, file_id, principal.scope)
        if file is None:
            raise NotFound(f"no file {file_id}")
        tables = [
            t
            for t in await tpl_store.tables_of_file(conn, file_id)
            if t["status"] == tpl_store.NEEDS_MAPPING
        ]
        if table is not None:
            tables = [t for t in tables if t["table_index"] == table]
        if not tables:
            raise Conflict(f"file {file_id} has no table waiting for a mapping")
        waiting = tables[0]
        signature = Signature.from_dict(waiting["signature"])
        schema, plan = _checked(signature, target_schema, mapping)
        if not plan:
            raise ValidationFailed(
                "mapping: map at least one column",
                errors=[{"field": "mapping", "message": "empty"}],
            )
        status = "pending_approval" if approval.require else "approved"
        tid = template_id or waiting["template_id"]
        if tid is None:
            template, version = await new_template(
                conn,
                tenant=file["tenant"],
                name=name_for(file["name"], waiting["location"]),
                signature=signature,
                schema=schema,
                mapping=plan,
                status=status,
                by=principal.key_id,
                source_file_id=file_id,
                now=now,
                job_id=file["job_id"],
            )
        else:
            template = await _template(conn, principal, tid)
            version = await add_version(
                conn,
                template,
                signature=signature,
                schema=schema,
                mapping=plan,
                status=status,
                by=principal.key_id,
                source_file_id=file_id,
                now=now,
            )
        number = int(version["version"])
        # Every table of the file waiting on no template (or this one) waits on this one now.
        for t in tables:
            await tpl_store.update_file_table(
                conn, file_id, t["table_index"], template_id=template["id"], version=number
            )
        await _remember(conn, file["tenant"], plan, now)
        await append_event(
            conn,
            tenant=file["tenant"],
            type=EventType.MAPPING_SUBMITTED,
            job_id=file["job_id"],
            file_id=file_id,
            data={"template_id": template["id"], "version": number, "status": status},
            at=now,
        )
        if status == "approved":
            await _approved(
                conn, file["tenant"], template["id"], number, principal.key_id, None, now
            )
    if status == "approved":
        db.signals.work_queued()
    return str(template["id"]), number


def name_for(file_name: str, location: str) -> str:
    stem = file_name.rsplit(".", 1)[0] or file_name
    return stem if location in ("rows", "records") else f"{stem} — {location}"


async def decide(
    db: Database,
    principal: Principal,
    template_id: str,
    version: int,
    *,
    approve: bool,
    comment: str | None,
) -> None:
    """An admin approves (the waiting files re-run) or rejects a submitted version."""
    principal.require_admin()
    now = time.time()
    async with db.write() as conn:
        template = await _template(conn, principal, template_id)
        row = await tpl_store.get_version(conn, template_id, version)
        if row is None:
            raise NotFound(f"template {template_id} has no version {version}")
        if row["status"] != "pending_approval":
            raise Conflict(f"version {version} is {row['status']}, not pending_approval")
        if approve:
            await _approved(
                conn, template["tenant"], template_id, version, principal.key_id, comment, now
            )
        else:
            await tpl_store.update_version(
                conn,
                template_id,
                version,
                status="rejected",
                decided_by=principal.key_id,
                decided_at=now,
                comment=comment,
            )
            if version == template["current_version"]:
                await tpl_store.update_template(
                    conn, template_id, status="rejected", updated_at=now
                )
            await append_event(
                conn,
                tenant=template["tenant"],
                type=EventType.MAPPING_REJECTED,
                data={"template_id": template_id, "version": version, "comment": comment},
                at=now,
            )
    if approve:
        db.signals.work_queued()


async def _approved(
    conn: AsyncConnection,
    tenant: str,
    template_id: str,
    version: int,
    by: str,
    comment: str | None,
    now: float,
) -> None:
    await tpl_store.update_version(
        conn,
        template_id,
        version,
        status="approved",
        decided_by=by,
        decided_at=now,
        comment=comment,
    )
    await tpl_store.update_template(
        conn, template_id, status="approved", approved_version=version, updated_at=now
    )
    waiting = await tpl_store.files_waiting_on(conn, template_id)
    rerun = await tpl_store.requeue_waiting_files(
        conn, waiting, now=now, reason={"template_id": template_id, "version": version}
    )
    await append_event(
        conn,
        tenant=tenant,
        type=EventType.MAPPING_APPROVED,
        data={
            "template_id": template_id,
            "version": version,
            "comment": comment,
            "rerun_files": rerun,
        },
        at=now,
    )


async def _remember(conn: AsyncConnection, tenant: str, plan: dict[str, Any], now: float) -> None:
    await tpl_store.remember_mapping(
        conn, tenant, [(normalise(source), m["field"]) for source, m in plan.items()], now=now
    )


async def import_checked(
    db: Database, principal: Principal, items: Sequence[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Write templates checked by ``portable.check_import``, each with all its versions, as
    new templates of the caller's tenant (new ids; statuses, diffs and comments kept)."""
    now = time.time()
    created: list[tuple[str, str]] = []
    async with db.write() as conn:
        for item in items:
            versions = item["versions"]
            last = versions[-1]
            approved = [v["version"] for v in versions if v.get("status") == "approved"]
            template = {
                "id": new_id("tpl"),
                "tenant": principal.tenant,
                "name": item["name"],
                "status": item.get("status") or last.get("status") or "discovered",
                "current_version": int(last["version"]),
                "approved_version": max(approved) if approved else None,
                "created_at": now,
                "updated_at": now,
            }
            await tpl_store.insert_template(conn, template)
            for v in versions:
                signature = Signature(
                    columns=tuple(ColumnSig.from_dict(c) for c in v["columns"]),
                    header_row=int(v.get("header_row") or 0),
                )
                schema = normalise_schema(v.get("target_schema"))
                await tpl_store.insert_version(
                    conn,
                    {
                        "template_id": template["id"],
                        "version": int(v["version"]),
                        "tenant": principal.tenant,
                        "status": v.get("status") or "discovered",
                        "fingerprint": signature.fingerprint,
                        "signature": signature.to_dict(),
                        "target_schema": schema,
                        "mapping": normalise_mapping(v.get("mapping"), schema),
                        "diff": v.get("diff"),
                        "source_file_id": None,
                        "created_by": principal.key_id,
                        "created_at": now,
                        "comment": v.get("comment"),
                    },
                )
            created.append((template["id"], item["name"]))
    return created
