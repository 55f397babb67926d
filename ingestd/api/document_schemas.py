"""The Document (``ingestd.document/1``) and convert bodies, as the OpenAPI document shows them.

The server builds the JSON from the stored document (``domain/documents.py``); these models
describe it (docs/documents.md is the long form).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ingestd.domain.documents import ELEMENT_KINDS, SCHEMA

ElementKind = Literal[ELEMENT_KINDS]  # type: ignore[valid-type]


class DocumentPage(BaseModel):
    number: int = Field(description="1-based page (PDF), slide (PPTX) or sheet (XLSX)")
    width: float = Field(description="points (1/72 inch)")
    height: float = Field(description="points (1/72 inch)")
    text_source: Literal["text_layer", "ocr"] = Field(description="where the page's text came from")
    ocr_confidence: float | None = Field(
        description="mean word confidence 0..1 of a page read by OCR, else null"
    )


class DocumentCell(BaseModel):
    text: str
    colspan: int = 1
    rowspan: int = 1


class DocumentTable(BaseModel):
    header_rows: int = Field(description="the first this many rows are headers")
    rows: list[list[DocumentCell]] = Field(
        description="rows of cells as drawn: a merged cell is one cell with spans, and the "
        "positions it covers have no cell of their own (as in HTML)"
    )


class DocumentElement(BaseModel):
    id: str = Field(description="stable within the document: e1, e2… in reading order")
    kind: ElementKind  # type: ignore[valid-type]
    level: int | None = Field(
        default=None, description="headings (1 = top) and list items (1 = outermost)"
    )
    text: str = Field(description="the element's text; a table's is one labelled line per row")
    page: int | None = None
    bbox: list[float] | None = Field(
        default=None, description="[x0, y0, x1, y1] in points from the page's top-left, y down"
    )
    section: list[str] = Field(description="the heading texts above it; a heading ends with itself")
    caption: str | None = Field(default=None, description="a table's caption")
    table: DocumentTable | None = None
    meta: dict[str, Any] | None = Field(
        default=None, description="format-specific extras (sheet, style…)"
    )


class DocumentOut(BaseModel):
    """One file's extracted document: its elements in reading order, its pages, its metadata."""

    schema_: str = Field(alias="schema", description=f"the schema version: `{SCHEMA}`")
    file_id: str
    name: str
    mime_type: str | None
    pages: list[DocumentPage]
    elements: list[DocumentElement]
    metadata: dict[str, Any] = Field(
        description="`title` (null when unknown) and `furniture`: running headers, footers and "
        "site chrome kept out of the body, each once"
    )


class ConvertItem(BaseModel):
    file_id: str
    name: str
    status: str = Field(description="the file's status: `completed`, `failed`, `skipped`…")
    document: DocumentOut | str | None = Field(
        default=None,
        description="the Document (`format=json`), or its Markdown or text as a string",
    )
    error: dict[str, Any] | None = Field(default=None, description="`{code, message}` of a failure")
    chunks: list[dict[str, Any]] | None = Field(
        default=None, description="with `chunks=true`: `{index, text, metadata}` in order"
    )


class ConvertDone(BaseModel):
    items: list[ConvertItem]


class ConvertPending(BaseModel):
    job_id: str
    job: str = Field(description="the job's URL")
    files: list[dict[str, Any]] = Field(
        description="`{file_id, name, status, url}`: read each one's document when it completes"
    )
