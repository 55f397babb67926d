"""``ingestd doctor``: is this installation able to run? Each check says ok, warn or fail, and
for a problem, what fixes it.

Checked: the settings (values and the extras they need), the database (reachable, migrated),
the blob store (write, read back, delete; a HEAD for S3), clamd (when configured), the extras
installed, free disk in the data directory, the source roots (readable), and the outbound
allowlist (private ranges it opens). Nothing is changed, except a probe file written and
deleted in the blob store's staging directory (created if missing, as serve would).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ingestd import preflight
from ingestd.blobs.url import open_blob_store
from ingestd.config import Settings
from ingestd.domain.addresses import parse_outbound_allow
from ingestd.pipeline.scan import ClamdScanner
from ingestd.store.db import describe_url, missing_sqlite_file
from ingestd.store.migrate import revisions

LOW_DISK_BYTES = 1024**3  # warn below 1 GiB free in the data directory
NO_DISK_BYTES = 100 * 1024**2  # fail below 100 MiB
DB_TIMEOUT_SECONDS = 10.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # what was checked: "database", "blob store", …
    status: Status
    detail: str  # what was found
    fix: str = ""  # what to do about it (problems only)


def broken(findings: list[Finding]) -> bool:
    return any(f.status is Status.FAIL for f in findings)


async def diagnose(settings: Settings) -> list[Finding]:
    """Every check, in the order a person would fix them."""
    findings = _settings(settings)
    findings.append(await _database(settings))
    findings.append(await asyncio.to_thread(_blobs, settings))
    findings.append(await asyncio.to_thread(_clamd, settings))
    findings.append(_extras())
    findings.append(_disk(settings.data_dir))
    findings.extend(_source_roots(settings))
    findings.append(_outbound(settings))
    return findings


def _settings(settings: Settings) -> list[Finding]:
    problems = preflight.problems(settings)
    if not problems:
        return [Finding("settings", Status.OK, "every setting is usable")]
    return [
        Finding(
            "settings",
            Status.FAIL,
            f"{_variable(p.field)}: {p.message.split(': pip install')[0]}",
            fix=_fix_of(p.message) or f"change {_variable(p.field)}",
        )
        for p in problems
    ]


def _variable(field: str) -> str:
    return field if field.isupper() else f"INGESTD_{field.upper()}"


def _fix_of(message: str) -> str:
    return message[message.index("pip install") :] if "pip install" in message else ""


async def _database(settings: Settings) -> Finding:
    url = settings.database.url
    where = describe_url(url)
    if missing_sqlite_file(url):  # opening it would create an empty one: do not
        return Finding(
            "database",
            Status.WARN,
            f"no database at {where} yet",
            fix="ingestd serve creates it; or point --data-dir at the server's directory",
        )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_TIMEOUT_SECONDS):
            current, heads = await revisions(url)
    except Exception as exc:
        return Finding(
            "database",
            Status.FAIL,
            f"{where} cannot be reached: {_reason(exc)}",
            fix="start the database, or correct INGESTD_DATABASE_URL (--database-url)",
        )
    took = (time.perf_counter() - started) * 1000
    if not current:
        return Finding(
            "database",
            Status.WARN,
            f"{where} answers ({took:.0f} ms) but has no tables yet",
            fix="ingestd migrate (serve and worker also migrate at start)",
        )
    if current != heads:
        return Finding(
            "database",
            Status.FAIL,
            f"{where} is at migration {', '.join(sorted(current))}; this version needs "
            f"{', '.join(sorted(heads))}",
            fix="ingestd migrate (or run the version that migrated it)",
        )
    return Finding(
        "database", Status.OK, f"{where}, migration {', '.join(sorted(current))} ({took:.0f} ms)"
    )


def _blobs(settings: Settings) -> Finding:
    try:
        store = open_blob_store(settings)
        where = store.describe()
        started = time.perf_counter()
        store.check()  # write, read back, delete (a HEAD of the bucket for S3)
    except Exception as exc:
        return Finding(
            "blob store",
            Status.FAIL,
            f"cannot write and read blobs: {_reason(exc)}",
            fix="check INGESTD_BLOB_URL, its credentials and the directory's permissions",
        )
    took = (time.perf_counter() - started) * 1000
    return Finding("blob store", Status.OK, f"{where}: write, read, delete ({took:.0f} ms)")


def _clamd(settings: Settings) -> Finding:
    if not settings.clamd:
        return Finding("clamd", Status.OK, "not configured: files are not scanned for malware")
    try:
        ClamdScanner.from_url(settings.clamd, timeout=5.0).ping()
    except Exception as exc:
        return Finding(
            "clamd",
            Status.FAIL,
            f"{settings.clamd} does not answer: {_reason(exc)}",
            fix="start clamd (systemctl start clamav-daemon) or correct INGESTD_CLAMD",
        )
    return Finding("clamd", Status.OK, f"{settings.clamd} answers PONG")


def _extras() -> Finding:
    present = [e.name for e in preflight.EXTRAS if e.installed]
    absent = [e.name for e in preflight.EXTRAS if not e.installed]
    detail = (
        f"installed: {', '.join(present) or 'none'}; not installed: {', '.join(absent) or 'none'}"
    )
    return Finding("extras", Status.OK, detail)


def _disk(data_dir: Path) -> Finding:
    where = data_dir.absolute() if data_dir.exists() else _existing_parent(data_dir)
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return Finding("disk", Status.FAIL, f"{where}: {_reason(exc)}", fix="check the path")
    shown = f"{free / 1024**3:.1f} GiB free in {where}"
    if free < NO_DISK_BYTES:
        return Finding("disk", Status.FAIL, shown, fix="free space or move INGESTD_DATA_DIR")
    if free < LOW_DISK_BYTES:
        return Finding("disk", Status.WARN, shown, fix="free space or move INGESTD_DATA_DIR")
    return Finding("disk", Status.OK, shown)


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _source_roots(settings: Settings) -> list[Finding]:
    found = []
    for root in settings.resolved_source_roots:
        if not root.is_dir():
            found.append(
                Finding(
                    "source root",
                    Status.FAIL,
                    f"{root} is not a directory",
                    fix="create it or correct INGESTD_SOURCE_ROOTS (--source-root)",
                )
            )
        elif not os.access(root, os.R_OK | os.X_OK):
            found.append(
                Finding(
                    "source root",
                    Status.FAIL,
                    f"{root} cannot be read by this user",
                    fix=f"chmod a+rx {root}, or run ingestd as a user who may read it",
                )
            )
        else:
            found.append(Finding("source root", Status.OK, f"{root} is readable"))
    return found


def _outbound(settings: Settings) -> Finding:
    entries = settings.outbound_allow
    if not entries:
        return Finding("outbound", Status.OK, "public addresses only (no private range is allowed)")
    networks, hosts = parse_outbound_allow(entries)
    wide = [str(n) for n in networks if n.prefixlen == 0 or n.num_addresses >= 2**24]
    if wide:
        return Finding(
            "outbound",
            Status.WARN,
            f"URL sources and webhooks may reach {', '.join(wide)}",
            fix="allow only the hosts or small ranges they need (INGESTD_OUTBOUND_ALLOW)",
        )
    private = [str(n) for n in networks if n.is_private or n.is_loopback]
    shown = ", ".join([*private, *sorted(hosts)] or [str(n) for n in networks])
    return Finding("outbound", Status.OK, f"also allowed: {shown}")


def _reason(exc: BaseException) -> str:
    """One line, no secrets: the exception's own words, trimmed."""
    from ingestd.observe.logs import redact

    text = getattr(exc, "detail", None) or getattr(exc, "strerror", None) or str(exc)
    text = " ".join(str(text).split()) or type(exc).__name__
    return redact(text)[:160]
