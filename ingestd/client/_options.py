"""Job options, typed. Unset fields are not sent, so the server's defaults apply; options newer
than this SDK can be passed as extra keyword arguments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class JobOptions(BaseModel):
    """``JobOptions(chunk_size=800, max_file_size=500 * 2**20)``; see the API for each."""

    model_config = ConfigDict(extra="allow")

    chunk_size: int | None = None  # characters per chunk
    chunk_overlap: int | None = None  # characters shared by neighbouring chunks
    embedder: str | None = None  # embedding model; None: the server's default
    skip_existing: bool | None = None  # skip content (sha256) this tenant already ingested
    max_retries: int | None = None
    max_workers: int | None = None  # files of this job in flight at once
    timeout_seconds: int | None = None  # per file
    allowed_types: list[str] | None = None  # MIME patterns, e.g. ["application/pdf", "text/*"]
    max_file_size: int | None = None  # bytes; larger files are refused (and not uploaded)
    include_notes: bool | None = None  # speaker notes (PPTX) in the chunks too
    ocr: Literal["auto", "off", "force"] | None = None  # when pages are read by OCR
    templates: bool | None = None  # match tables against templates, store records (templates.md)
    # "size": cut by size at the best boundary; "structure": one section per chunk, headings
    # kept with what follows, table rows and list items never split (docs/documents.md)
    chunking: Literal["size", "structure"] | None = None
    chunk_unit: Literal["chars", "tokens"] | None = None  # what chunk_size counts

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
