"""Opaque, sortable ids with a type prefix: ``job_01J…``.

The body is a ULID-style string: 48 bits of milliseconds then 80 random bits, in Crockford
base32, so ids sort by creation time and carry no guessable counter.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"job", "file", "evt", "key", "whk", "src", "upl", "wrk", "dlv", "prb"})


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, random part) of the previous id from this process


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """Return a new id such as ``job_01JD2X…`` (26 base32 characters after the prefix).

    Ids made in one process are strictly increasing: within one millisecond the random part is
    incremented instead of drawn again, so creation order survives sorting.
    """
    global _last
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms and last_rand < (1 << 80) - 1:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = secrets.randbits(79)  # leaves room to count up within the millisecond
        _last = (ms, rand)
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id of that type (cheap check before a lookup)."""
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27
