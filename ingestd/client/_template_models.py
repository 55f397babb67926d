"""Typed models of templates, mappings and records (docs/templates.md)."""

from __future__ import annotations

from typing import Any

from ingestd.client._models import Model


class TemplateUsage(Model):
    files: int = 0
    rows: int = 0
    valid_rate: float | None = None
    last_used_at: str | None = None


class TemplateColumn(Model):
    name: str
    type: str | None = None
    profile: dict[str, Any] = {}


class Signature(Model):
    header_row: int = 0
    fingerprint: str | None = None
    columns: list[TemplateColumn] = []


class TemplateVersion(Model):
    version: int
    status: str
    signature: Signature
    target_schema: dict[str, Any] = {}
    mapping: dict[str, Any] = {}
    diff: dict[str, Any] | None = None
    source_file_id: str | None = None
    created_at: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None


class Template(Model):
    """A template as listed: its status, versions and use."""

    id: str
    name: str
    status: str
    current_version: int
    approved_version: int | None = None
    usage: TemplateUsage = TemplateUsage()


class TemplateDetail(Template):
    """One template with its current version's signature, target schema and mapping."""

    signature: Signature
    target_schema: dict[str, Any] = {}
    mapping: dict[str, Any] = {}
    version: TemplateVersion
    waiting_files: int = 0


class TemplateDiff(Model):
    """What changed from version ``from_`` to ``to``."""

    from_: int | None = None
    to: int | None = None
    added: list[str] = []
    removed: list[str] = []
    renamed: list[dict[str, str]] = []
    retyped: list[dict[str, Any]] = []

    def __init__(self, **data: Any) -> None:
        if "from" in data:
            data["from_"] = data.pop("from")
        super().__init__(**data)


class VersionAnalytics(Model):
    version: int
    status: str
    files: int = 0
    rows: int = 0
    valid_rate: float | None = None
    mean_ms: float | None = None
    last_used_at: str | None = None
    top_errors: list[dict[str, Any]] = []
    recommendations: list[dict[str, Any]] = []


class TemplateAnalytics(Model):
    template_id: str
    versions: list[VersionAnalytics] = []


class Suggestion(Model):
    field: str
    confidence: float
    reasons: list[str] = []


class ColumnSuggestions(Model):
    column: str
    type: str | None = None
    suggestions: list[Suggestion] = []


class VersionRef(Model):
    template_id: str
    version: int
    status: str


class MappingQueueItem(Model):
    """A file's table waiting for a mapping, with its closest templates and suggestions."""

    file_id: str
    job_id: str
    name: str
    table: int
    location: str
    template_id: str | None = None
    version: int | None = None
    signature: Signature
    samples: list[list[str]] = []
    closest: list[dict[str, Any]] = []
    suggestions: list[ColumnSuggestions] = []


class Record(Model):
    """One typed record: the row of a table of a file, valid or not."""

    file_id: str
    table: int
    row: int
    valid: bool
    data: dict[str, Any]


class CellError(Model):
    table_index: int = 0
    row: int
    column: str | None = None
    field: str | None = None
    value: Any = None
    reason: str


class RecordsPage(Model):
    """A page of records with the quality (valid rows / rows) and, on a file's first page,
    its invalid cells."""

    items: list[Record] = []
    next: str | None = None
    errors: list[CellError] = []
    quality: float | None = None
    rows: int = 0
    valid_rows: int = 0


class ImportResult(Model):
    imported: int
    items: list[dict[str, str]] = []
