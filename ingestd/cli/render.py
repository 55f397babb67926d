"""How the command line shows numbers, tables and progress lines: fitted to the terminal's width
(ids never cut, other columns give way), with one formatter for every rate so that a summary
and the bar before it speak the same units."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich import box
from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:
    from ingestd.client import FileCounts, Progress, UploadProgress

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR_MIN = 10  # a bar narrower than this is left out


def size(count: float) -> str:
    """Bytes in decimal units: ``512 B``, ``12.3 kB``, ``41.2 MB``."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def rate(bytes_per_s: float) -> str:
    return f"{size(bytes_per_s)}/s"


def duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def file_count(files: FileCounts) -> str:
    """``302/304`` with what else happened: ``(2 skipped, 1 failed, 3 cancelled)``."""
    text = f"{files.done:,}/{files.total:,}"
    extra = [
        f"{n:,} {what}"
        for n, what in (
            (files.skipped, "skipped"),
            (files.failed, "failed"),
            (files.cancelled, "cancelled"),
        )
        if n
    ]
    return text + (f" ({', '.join(extra)})" if extra else "")


def table(*columns: str, wrap: Sequence[str] = ()) -> Table:
    """A compact table; lay it out with :func:`fitted` once its rows are in."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    for name in columns:
        wraps = name in wrap
        grid.add_column(name, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
    return grid


def fitted(grid: Table, width: int, *, give_way: Sequence[str], least: int = 6) -> Table:
    """Size the columns to their content, then narrow those in ``give_way`` (in that order,
    down to ``least`` cells or their header), then leave them out (in the reverse order), until
    the table fits in ``width``: the other columns (ids above all) are never cut."""
    natural = {str(c.header): _widest(c) for c in grid.columns}

    def excess() -> int:
        chrome = 3 * (len(natural) - 1)  # a padding cell each side of a one-cell rule
        return sum(natural.values()) + chrome - width

    for name in give_way:
        floor = min(natural[name], max(least, len(name)))
        natural[name] -= max(min(excess(), natural[name] - floor), 0)
    for name in reversed(give_way):
        if excess() <= 0:
            break
        del natural[name]
    grid.columns[:] = [c for c in grid.columns if str(c.header) in natural]
    for column in grid.columns:
        column.width = natural[str(column.header)]
    return grid


def _widest(column: Column) -> int:
    from rich.cells import cell_len

    widths = [cell_len(str(column.header))]
    for cell in column.cells:
        text = cell.plain if isinstance(cell, Text) else str(cell)
        widths.extend(cell_len(line) for line in text.splitlines() or [""])
    return max(widths)


def bar(fraction: float, width: int) -> Text:
    done = max(0, min(width, round(fraction * width)))
    line = Text("━" * done, style="green" if fraction >= 1 else "magenta")
    line.append("━" * (width - done), style="grey23")
    return line


def fit(parts: list[tuple[str, str]], width: int, fraction: float, *, lead: str = "") -> Text:
    """``lead``, a bar and then ``parts`` (text, style), dropping the last parts and narrowing the
    bar until the line fits in ``width`` columns: it never wraps."""
    parts = list(parts)
    while True:
        fixed = len(lead) + sum(len(text) + 1 for text, _ in parts)
        room = width - fixed - 1
        if room >= BAR_MIN or not parts:
            break
        parts.pop()
    line = Text(lead)
    if room >= BAR_MIN:
        line.append_text(bar(fraction, min(room, 40)))
        line.append(" ")
    for text, style in parts:
        line.append(text, style=style)
        line.append(" ")
    line.rstrip()
    line.truncate(width, overflow="ellipsis")
    return line


def spinner() -> str:
    return SPINNER[int(time.monotonic() * 10) % len(SPINNER)]


def job_line(name: str, progress: Progress, width: int) -> Text:
    """The job's line: name and status, a bar, percent and files that agree, bytes, the
    recent rate and the ETA (once there is one), fitted to ``width``."""
    files, sizes = progress.files, progress.bytes
    status = str(progress.status or "")
    percent = progress.files_percent
    cancelled = progress.status is not None and status == "cancelled"
    label = name if len(name) <= 24 else name[:23] + "…"
    parts: list[tuple[str, str]] = [
        (f"{percent:5.1f}%", "bold"),
        (f"{file_count(files)} files", ""),
    ]
    if sizes.total:
        parts.append((f"{size(sizes.completed)}/{size(sizes.total)}", "cyan"))
    if progress.throughput_bytes_per_s:
        parts.append((rate(progress.throughput_bytes_per_s), "red"))
    if progress.eta_seconds is not None and not (progress.status and progress.status.is_terminal):
        parts.append((f"ETA {duration(progress.eta_seconds)}", "cyan"))
    lead = f"{spinner()} {label} [{status}] " if status else f"{spinner()} {label} "
    return fit(parts, width, 0.0 if cancelled and not files.done else percent / 100, lead=lead)


def upload_line(progress: UploadProgress, width: int) -> Text:
    parts: list[tuple[str, str]] = [
        (f"{progress.files_sent:,}/{progress.files_total:,} files", ""),
        (f"{size(progress.bytes_sent)}/{size(progress.bytes_total)}", "cyan"),
    ]
    if progress.bytes_per_s:
        parts.append((rate(progress.bytes_per_s), "red"))
    if progress.eta_seconds is not None:
        parts.append((f"ETA {duration(progress.eta_seconds)}", "cyan"))
    if progress.file:
        parts.append((progress.file, "dim"))
    fraction = progress.bytes_sent / progress.bytes_total if progress.bytes_total else 0.0
    return fit(parts, width, fraction, lead=f"{spinner()} uploading ")


def file_line(name: str, step: str, fraction: float, total: int | None, width: int) -> Text:
    """A file in flight: its name, step, a bar and its real bytes when its size is known."""
    shown = name if len(name) <= 28 else "…" + name[-27:]
    parts: list[tuple[str, str]] = []
    if total:
        parts.append((f"{size(fraction * total)}/{size(total)}", "cyan"))
    return fit(parts, width, fraction, lead=f"  {shown} {step} ")
