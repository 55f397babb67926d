"""What a perfect extractor would give for a generated document."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TruthTable:
    """A table's body rows as ``(label, value)`` pairs in column order (label ``None`` where the
    table has no header); ``header`` and ``caption`` as a reader sees them."""

    rows: list[list[tuple[str | None, str]]]
    header: list[str] = field(default_factory=list)
    caption: str | None = None

    def text(self) -> list[str]:
        lines = [self.caption] if self.caption else []
        if self.header:
            lines.append(" ".join(self.header))
        lines += [" ".join(value for _label, value in row) for row in self.rows]
        return lines


@dataclass
class Truth:
    """``body``: the document's text blocks in reading order (tables as their ``TruthTable``);
    ``furniture``: strings that must not appear (running headers, footers, site chrome, notes);
    ``anchors``: distinctive sentences whose order must be kept."""

    path: Path
    kind: str
    body: list[str | TruthTable] = field(default_factory=list)
    furniture: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    two_column: bool = False

    @property
    def tables(self) -> list[TruthTable]:
        return [block for block in self.body if isinstance(block, TruthTable)]

    def body_text(self) -> str:
        lines: list[str] = []
        for block in self.body:
            lines += block.text() if isinstance(block, TruthTable) else [block]
        return "\n".join(lines)

    def labels(self) -> set[str]:
        return {label for t in self.tables for row in t.rows for label, _v in row if label}
