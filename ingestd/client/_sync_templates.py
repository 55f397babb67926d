"""The sync ``client.templates``, ``client.mapping`` and ``client.records``: each method runs
its async twin (``_templates.py``) on the client's private loop."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any

from ingestd.client._runner import Runner
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
from ingestd.client._templates import AsyncMapping, AsyncRecords, AsyncTemplates


class Templates:
    """``client.templates``: see ``AsyncTemplates``."""

    def __init__(self, templates: AsyncTemplates, runner: Runner) -> None:
        self._async = templates
        self._run = runner.run
        self._iterate = runner.iterate

    def list(
        self, *, status: str | Sequence[str] | None = None, limit: int | None = None
    ) -> Iterator[Template]:
        return self._iterate(self._async.list(status=status, limit=limit))

    def get(self, template_id: str) -> TemplateDetail:
        return self._run(self._async.get, template_id)

    def create(
        self,
        name: str,
        columns: Sequence[dict[str, Any]],
        *,
        target_schema: dict[str, Any] | None = None,
        mapping: dict[str, Any] | None = None,
    ) -> TemplateDetail:
        return self._run(
            self._async.create, name, columns, target_schema=target_schema, mapping=mapping
        )

    def update(
        self,
        template_id: str,
        *,
        name: str | None = None,
        columns: Sequence[dict[str, Any]] | None = None,
        target_schema: dict[str, Any] | None = None,
        mapping: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> TemplateDetail:
        return self._run(
            self._async.update,
            template_id,
            name=name,
            columns=columns,
            target_schema=target_schema,
            mapping=mapping,
            status=status,
        )

    def delete(self, template_id: str) -> None:
        self._run(self._async.delete, template_id)

    def versions(self, template_id: str) -> builtins.list[TemplateVersion]:
        return self._run(self._async.versions, template_id)

    def version(self, template_id: str, version: int) -> TemplateVersion:
        return self._run(self._async.version, template_id, version)

    def diff(self, template_id: str, version: int, *, from_version: int) -> TemplateDiff:
        return self._run(self._async.diff, template_id, version, from_version=from_version)

    def analytics(self, template_id: str) -> TemplateAnalytics:
        return self._run(self._async.analytics, template_id)

    def suggestions(
        self,
        template_id: str,
        *,
        columns: Sequence[dict[str, Any]] | None = None,
        fields: Sequence[dict[str, Any]] | None = None,
    ) -> builtins.list[ColumnSuggestions]:
        return self._run(self._async.suggestions, template_id, columns=columns, fields=fields)

    def approve(self, template_id: str, version: int, *, comment: str | None = None) -> VersionRef:
        return self._run(self._async.approve, template_id, version, comment=comment)

    def reject(self, template_id: str, version: int, *, comment: str | None = None) -> VersionRef:
        return self._run(self._async.reject, template_id, version, comment=comment)

    def export(self) -> dict[str, Any]:
        return self._run(self._async.export)

    def import_(self, document: dict[str, Any]) -> ImportResult:
        return self._run(self._async.import_, document)


class Mapping:
    """``client.mapping``: see ``AsyncMapping``."""

    def __init__(self, mapping: AsyncMapping, runner: Runner) -> None:
        self._async = mapping
        self._run = runner.run
        self._iterate = runner.iterate

    def queue(self, *, limit: int | None = None) -> Iterator[MappingQueueItem]:
        return self._iterate(self._async.queue(limit=limit))

    def submit(
        self,
        file_id: str,
        *,
        target_schema: dict[str, Any],
        mapping: dict[str, Any],
        template_id: str | None = None,
        table: int | None = None,
    ) -> VersionRef:
        return self._run(
            self._async.submit,
            file_id,
            target_schema=target_schema,
            mapping=mapping,
            template_id=template_id,
            table=table,
        )


class Records:
    """``client.records``: see ``AsyncRecords``."""

    def __init__(self, records: AsyncRecords, runner: Runner) -> None:
        self._async = records
        self._run = runner.run
        self._iterate = runner.iterate

    def file(self, file_id: str) -> RecordsPage:
        return self._run(self._async.file, file_id)

    def job(self, job_id: str) -> RecordsPage:
        return self._run(self._async.job, job_id)

    def iter_file(self, file_id: str) -> Iterator[Record]:
        return self._iterate(self._async.iter_file(file_id))

    def iter_job(self, job_id: str) -> Iterator[Record]:
        return self._iterate(self._async.iter_job(job_id))

    def export(
        self, *, file_id: str | None = None, job_id: str | None = None, format: str = "csv"
    ) -> bytes:
        return self._run(self._async.export, file_id=file_id, job_id=job_id, format=format)


def share_docs() -> None:
    for sync, asynchronous in (
        (Templates, AsyncTemplates),
        (Mapping, AsyncMapping),
        (Records, AsyncRecords),
    ):
        for name, member in vars(sync).items():
            twin = getattr(asynchronous, name, None)
            if callable(member) and not name.startswith("_") and twin is not None and twin.__doc__:
                member.__doc__ = twin.__doc__


share_docs()
