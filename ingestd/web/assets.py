"""The dashboard's files, read once from package data into memory.

Serving from a dict keyed by file name (not from a path built out of the URL) means no request
can reach a file outside ``static/``: ``..``, encoded slashes and backslashes are simply names
that are not in the dict. The whole folder is a few tens of kilobytes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

PAGE = "index.html"

# What each kind of file is served as; anything else in static/ is not served.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str  # quoted, strong: the content's hash, so a changed file is never served stale


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


@functools.cache
def load() -> dict[str, Asset]:
    """Every servable file of ``static/``, by name (the page included, as ``index.html``)."""
    found: dict[str, Asset] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        media_type = MEDIA_TYPES.get(_suffix(entry.name))
        if media_type is None or not entry.is_file():
            continue
        body = entry.read_bytes()
        found[entry.name] = Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return found


def page() -> Asset:
    return load()[PAGE]


def asset(name: str) -> Asset | None:
    """A file under /dashboard/assets/: never the page itself, which has its own URL."""
    if name == PAGE:
        return None
    return load().get(name)
