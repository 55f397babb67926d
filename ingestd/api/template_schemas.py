"""Request and response models of the templates API (docs/templates.md, API.md "Templates")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ColumnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    type: str = Field(
        default="text",
        description="integer, decimal, currency, percent, date, datetime, boolean, email, url, "
        "categorical or text",
    )
    profile: dict[str, Any] | None = None


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    columns: list[ColumnIn] = Field(min_length=1, max_length=2000)
    target_schema: dict[str, Any] | list[Any] | None = Field(
        default=None,
        description='{"fields": [{"name", "type", "required", "format"}]}; types: string, integer, '
        "decimal, boolean, date, datetime, email, url, currency, percent, categorical",
    )
    mapping: dict[str, Any] | None = Field(
        default=None,
        description='{"source column": {"field", "transform"?}}; transforms: trim, cast, '
        "date_format, split, join, constant, default, value_map (docs/templates.md)",
    )


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=300)
    columns: list[ColumnIn] | None = Field(default=None, min_length=1, max_length=2000)
    target_schema: dict[str, Any] | list[Any] | None = None
    mapping: dict[str, Any] | None = None
    status: Literal["retired"] | None = Field(
        default=None, description="retire the template: it matches no table any more"
    )


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=5000)


class SuggestionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: list[ColumnIn] | None = Field(
        default=None, description="source columns; default: the template's current columns"
    )
    fields: list[dict[str, Any]] | None = Field(
        default=None, description="target fields; default: the template's target schema"
    )


class MappingSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: str | None = Field(
        default=None,
        description="the template this mapping versions; default: the one the table waits on",
    )
    table: int | None = Field(
        default=None, description="which waiting table of the file (default: the first)"
    )
    target_schema: dict[str, Any] | list[Any]
    mapping: dict[str, Any]


class Usage(BaseModel):
    files: int
    rows: int
    valid_rate: float | None
    last_used_at: str | None


class TemplateView(Open):
    id: str
    name: str
    status: str
    current_version: int
    approved_version: int | None
    usage: Usage


class TemplatePage(BaseModel):
    items: list[TemplateView]
    next: str | None


class VersionRef(BaseModel):
    template_id: str
    version: int
    status: str


class Imported(BaseModel):
    imported: int
    items: list[dict[str, str]]
