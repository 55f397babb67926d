"""Templates for tabular files: list, create, read, edit (a new version), delete, versions and
diffs, analytics, suggestions, approve/reject, export/import (docs/templates.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ingestd.api.deps import Admin, Caller, DbDep, SettingsDep, Writer
from ingestd.api.schemas import ERRORS
from ingestd.api.template_schemas import (
    Decision,
    Imported,
    Open,
    SuggestionsIn,
    TemplateCreate,
    TemplatePage,
    TemplateUpdate,
    VersionRef,
)
from ingestd.config import Settings
from ingestd.domain.errors import ValidationFailed
from ingestd.services import template_views as views
from ingestd.services import templates as tpl_service

router = APIRouter(prefix="/api/v1/templates", tags=["templates"], responses=ERRORS)


def approval(settings: Settings) -> tpl_service.Approval:
    return tpl_service.Approval(require=settings.templates.require_approval)


def _statuses(status: str | None) -> list[str]:
    return [s.strip() for s in (status or "").split(",") if s.strip()]


@router.get("", response_model=TemplatePage, summary="List the tenant's templates")
async def list_templates(
    db: DbDep,
    caller: Caller,
    status: Annotated[
        str | None,
        Query(
            description="comma-separated: discovered, pending_approval, approved, rejected, retired"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: str | None = None,
) -> Any:
    return await views.list_templates(
        db, caller, statuses=_statuses(status), after=after, limit=limit
    )


@router.post("", status_code=201, response_model=Open, summary="Create a template by hand")
async def create_template(
    body: TemplateCreate, db: DbDep, caller: Writer, settings: SettingsDep
) -> Any:
    template_id = await tpl_service.create_template(
        db,
        caller,
        approval(settings),
        name=body.name,
        columns=[c.model_dump() for c in body.columns],
        target_schema=body.target_schema,
        mapping=body.mapping,
    )
    return await views.get_template(db, caller, template_id)


@router.get(
    "/export", response_model=Open, summary="Every template of the tenant with its versions"
)
async def export_templates(db: DbDep, caller: Caller) -> Any:
    return await views.export_templates(db, caller)


@router.post(
    "/import", status_code=201, response_model=Imported, summary="Import exported templates"
)
async def import_templates(request: Request, db: DbDep, caller: Admin) -> Any:
    try:
        document = await request.json()
    except ValueError:
        raise ValidationFailed(
            "the body is not JSON", errors=[{"field": "body", "message": "not JSON"}]
        ) from None
    return await views.import_templates(db, caller, document)


@router.get("/{template_id}", response_model=Open, summary="One template with its current version")
async def get_template(template_id: str, db: DbDep, caller: Caller) -> Any:
    return await views.get_template(db, caller, template_id)


@router.put("/{template_id}", response_model=Open, summary="Edit a template: a new version")
async def update_template(
    template_id: str, body: TemplateUpdate, db: DbDep, caller: Writer, settings: SettingsDep
) -> Any:
    await tpl_service.update_template(
        db,
        caller,
        approval(settings),
        template_id,
        name=body.name,
        columns=[c.model_dump() for c in body.columns] if body.columns is not None else None,
        target_schema=body.target_schema,
        mapping=body.mapping,
        status=body.status,
    )
    return await views.get_template(db, caller, template_id)


@router.delete(
    "/{template_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a template (409 while files wait on it)",
)
async def delete_template(template_id: str, db: DbDep, caller: Writer) -> Response:
    await tpl_service.delete_template(db, caller, template_id)
    return Response(status_code=204)


@router.get("/{template_id}/versions", response_model=Open, summary="A template's versions")
async def list_versions(template_id: str, db: DbDep, caller: Caller) -> Any:
    return await views.list_versions(db, caller, template_id)


@router.get(
    "/{template_id}/versions/{version}",
    response_model=Open,
    summary="One version, or with ?diff_from=m what changed since version m",
    description="With `diff_from`: `{from, to, added, removed, renamed: [{from, to}], retyped: [{column, from, to}]}`.",
)
async def get_version(
    template_id: str,
    version: int,
    db: DbDep,
    caller: Caller,
    diff_from: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    return await views.get_version(db, caller, template_id, version, diff_from=diff_from)


@router.get(
    "/{template_id}/analytics",
    response_model=Open,
    summary="Use, quality and recommendations per version",
)
async def analytics(template_id: str, db: DbDep, caller: Caller) -> Any:
    return await views.analytics(db, caller, template_id)


@router.post(
    "/{template_id}/suggestions",
    response_model=Open,
    summary="Ranked target-field suggestions per source column",
)
async def suggestions(
    template_id: str,
    db: DbDep,
    caller: Caller,
    settings: SettingsDep,
    body: SuggestionsIn | None = None,
) -> Any:
    body = body or SuggestionsIn()
    return await views.suggestions(
        db,
        caller,
        template_id,
        columns=[c.model_dump() for c in body.columns] if body.columns else None,
        fields=body.fields,
        embedder=settings.templates.embedder,
    )


@router.post(
    "/{template_id}/versions/{version}/actions/{action}",
    response_model=VersionRef,
    summary="Approve (re-running the files that wait) or reject a submitted mapping (admin)",
)
async def decide(
    template_id: str,
    version: int,
    action: str,
    db: DbDep,
    caller: Admin,
    body: Decision | None = None,
) -> Any:
    if action not in ("approve", "reject"):
        raise ValidationFailed(
            f"action: {action!r} is not one of approve, reject",
            errors=[{"field": "action", "message": "approve or reject"}],
        )
    await tpl_service.decide(
        db,
        caller,
        template_id,
        version,
        approve=action == "approve",
        comment=(body or Decision()).comment,
    )
    return {
        "template_id": template_id,
        "version": version,
        "status": "approved" if action == "approve" else "rejected",
    }
