"""``client.templates``, ``client.mapping`` and ``client.records`` (docs/templates.md).

``ingestd.client._sync`` wraps every method (``Templates``, ``Mapping``, ``Records``)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ingestd.client._http import Http
from ingestd.client._template_models import (
    ColumnSuggestions,
    ImportResult,
    MappingQueueItem,
    Record,
    RecordsPage,
    Template,
    TemplateAnalytics,
    TemplateDetail,
    TemplateDiff,
    TemplateVersion,
    VersionRef,
)

PAGE = 500


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


class AsyncTemplates:
    """``client.templates``: list, read, create, edit (a new version), delete, versions and
    diffs, analytics, suggestions, approve/reject, export/import."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def list(
        self, *, status: str | Sequence[str] | None = None, limit: int | None = None
    ) -> AsyncIterator[Template]:
        """The tenant's templates with their usage, page by page as you iterate."""
        statuses = status if isinstance(status, str) or status is None else ",".join(status)
        after: str | None = None
        count = 0
        while True:
            params = _drop_none({"status": statuses, "limit": PAGE, "after": after})
            page = await self._http.json("GET", "/api/v1/templates", params=params)
            for item in page.get("items") or []:
                yield Template.model_validate(item)
                count += 1
                if limit is not None and count >= limit:
                    return
            after = page.get("next")
            if not after:
                return

    async def get(self, template_id: str) -> TemplateDetail:
        data = await self._http.json("GET", f"/api/v1/templates/{template_id}")
        return TemplateDetail.model_validate(data)

    async def create(
        self,
        name: str,
        columns: Sequence[dict[str, Any]],
        *,
        target_schema: dict[str, Any] | None = None,
        mapping: dict[str, Any] | None = None,
    ) -> TemplateDetail:
        """A template made by hand: its columns (``{"name", "type"}``), optionally the target
        schema and the mapping (then ``pending_approval``, or ``approved`` without approval)."""
        body = _drop_none(
            {
                "name": name,
                "columns": list(columns),
                "target_schema": target_schema,
                "mapping": mapping,
            }
        )
        data = await self._http.json("POST", "/api/v1/templates", json=body)
        return TemplateDetail.model_validate(data)

    async def update(
        self,
        template_id: str,
        *,
        name: str | None = None,
        columns: Sequence[dict[str, Any]] | None = None,
        target_schema: dict[str, Any] | None = None,
        mapping: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> TemplateDetail:
        """An edit: a new version (``status="retired"`` retires the template)."""
        body = _drop_none(
            {
                "name": name,
                "columns": list(columns) if columns is not None else None,
                "target_schema": target_schema,
                "mapping": mapping,
                "status": status,
            }
        )
        data = await self._http.json("PUT", f"/api/v1/templates/{template_id}", json=body)
        return TemplateDetail.model_validate(data)

    async def delete(self, template_id: str) -> None:
        """Remove a template (``ConflictError`` while files wait on it)."""
        await self._http.request("DELETE", f"/api/v1/templates/{template_id}")

    async def versions(self, template_id: str) -> builtins.list[TemplateVersion]:
        data = await self._http.json("GET", f"/api/v1/templates/{template_id}/versions")
        return [TemplateVersion.model_validate(item) for item in data.get("items") or []]

    async def version(self, template_id: str, version: int) -> TemplateVersion:
        data = await self._http.json("GET", f"/api/v1/templates/{template_id}/versions/{version}")
        return TemplateVersion.model_validate(data)

    async def diff(self, template_id: str, version: int, *, from_version: int) -> TemplateDiff:
        """What changed from ``from_version`` to ``version``: added, removed, renamed, retyped."""
        data = await self._http.json(
            "GET",
            f"/api/v1/templates/{template_id}/versions/{version}",
            params={"diff_from": from_version},
        )
        return TemplateDiff.model_validate(data)

    async def analytics(self, template_id: str) -> TemplateAnalytics:
        data = await self._http.json("GET", f"/api/v1/templates/{template_id}/analytics")
        return TemplateAnalytics.model_validate(data)

    async def suggestions(
        self,
        template_id: str,
        *,
        columns: Sequence[dict[str, Any]] | None = None,
        fields: Sequence[dict[str, Any]] | None = None,
    ) -> builtins.list[ColumnSuggestions]:
        """Per source column, target fields ranked with a confidence and the reasons."""
        body = _drop_none(
            {
                "columns": list(columns) if columns is not None else None,
                "fields": list(fields) if fields is not None else None,
            }
        )
        data = await self._http.json(
            "POST", f"/api/v1/templates/{template_id}/suggestions", json=body
        )
        return [ColumnSuggestions.model_validate(item) for item in data.get("items") or []]

    async def approve(
        self, template_id: str, version: int, *, comment: str | None = None
    ) -> VersionRef:
        """Approve a submitted mapping (admin): the files waiting on it run again."""
        return await self._decide(template_id, version, "approve", comment)

    async def reject(
        self, template_id: str, version: int, *, comment: str | None = None
    ) -> VersionRef:
        """Reject a submitted mapping (admin), saying why in ``comment``."""
        return await self._decide(template_id, version, "reject", comment)

    async def _decide(
        self, template_id: str, version: int, action: str, comment: str | None
    ) -> VersionRef:
        data = await self._http.json(
            "POST",
            f"/api/v1/templates/{template_id}/versions/{version}/actions/{action}",
            json={"comment": comment},
        )
        return VersionRef.model_validate(data)

    async def export(self) -> dict[str, Any]:
        """Every template of the tenant with all its versions: the import document."""
        data: dict[str, Any] = await self._http.json("GET", "/api/v1/templates/export")
        return data

    async def import_(self, document: dict[str, Any]) -> ImportResult:
        """Import an export document (admin): new templates with every version."""
        data = await self._http.json("POST", "/api/v1/templates/import", json=document)
        return ImportResult.model_validate(data)


class AsyncMapping:
    """``client.mapping``: the files waiting for a mapping, and submitting one."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def queue(self, *, limit: int | None = None) -> AsyncIterator[MappingQueueItem]:
        """Tables waiting for a mapping, with their closest templates and suggestions."""
        after: str | None = None
        count = 0
        while True:
            params = _drop_none({"limit": PAGE, "after": after})
            page = await self._http.json("GET", "/api/v1/mapping/queue", params=params)
            for item in page.get("items") or []:
                yield MappingQueueItem.model_validate(item)
                count += 1
                if limit is not None and count >= limit:
                    return
            after = page.get("next")
            if not after:
                return

    async def submit(
        self,
        file_id: str,
        *,
        target_schema: dict[str, Any],
        mapping: dict[str, Any],
        template_id: str | None = None,
        table: int | None = None,
    ) -> VersionRef:
        """A mapping for the file's waiting table: a template version, ``pending_approval``
        or (without approval) ``approved``."""
        body = _drop_none(
            {
                "target_schema": target_schema,
                "mapping": mapping,
                "template_id": template_id,
                "table": table,
            }
        )
        data = await self._http.json("POST", f"/api/v1/mapping/{file_id}", json=body)
        return VersionRef.model_validate(data)


class AsyncRecords:
    """``client.records``: typed records of a file or a job, their errors and quality."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def file(self, file_id: str) -> RecordsPage:
        """The first page of a file's records with its invalid cells and quality."""
        data = await self._http.json("GET", f"/api/v1/files/{file_id}/records")
        return RecordsPage.model_validate(data)

    async def job(self, job_id: str) -> RecordsPage:
        """The first page of a job's records with its quality."""
        data = await self._http.json("GET", f"/api/v1/jobs/{job_id}/records")
        return RecordsPage.model_validate(data)

    async def iter_file(self, file_id: str) -> AsyncIterator[Record]:
        """Every record of a file, page by page as you iterate."""
        async for record in self._iterate(f"/api/v1/files/{file_id}/records"):
            yield record

    async def iter_job(self, job_id: str) -> AsyncIterator[Record]:
        """Every record of every file of a job, page by page as you iterate."""
        async for record in self._iterate(f"/api/v1/jobs/{job_id}/records"):
            yield record

    async def export(
        self, *, file_id: str | None = None, job_id: str | None = None, format: str = "csv"
    ) -> bytes:
        """A file's or a job's records as ``csv`` or ``jsonl`` bytes."""
        if (file_id is None) == (job_id is None):
            raise ValueError("give file_id or job_id")
        path = f"/api/v1/files/{file_id}/records" if file_id else f"/api/v1/jobs/{job_id}/records"
        response = await self._http.request("GET", path, params={"format": format})
        return response.content

    async def _iterate(self, path: str) -> AsyncIterator[Record]:
        after: str | None = None
        while True:
            params = _drop_none({"limit": 5000, "after": after})
            page = await self._http.json("GET", path, params=params)
            for item in page.get("items") or []:
                yield Record.model_validate(item)
            after = page.get("next")
            if not after:
                return


__all__ = ["AsyncMapping", "AsyncRecords", "AsyncTemplates"]
