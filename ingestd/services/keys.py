"""API keys: ``ik_`` + 256 random bits, shown once, stored as sha256."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from ingestd.domain.auth import Principal, Role
from ingestd.domain.errors import AuthenticationFailed, NotFound
from ingestd.domain.ids import new_id
from ingestd.store import keys as key_store
from ingestd.store.db import Database

KEY_PREFIX = "ik_"
TOUCH_EVERY = 60.0  # seconds between last_used_at writes for one key
# Seconds a process trusts a key it checked: a key revoked elsewhere (the CLI, another API
# process) stops working here within this long; revoked through this process's API, at once.
CACHE_SECONDS = 5.0


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(
    db: Database, *, name: str, role: Role, tenant: str, plain: str | None = None
) -> tuple[dict[str, Any], str]:
    """Store a new key; returns its row and the plain key (never stored)."""
    plain = plain or generate_key()
    row: dict[str, Any] = {
        "id": new_id("key"),
        "name": name,
        "role": role.value,
        "tenant": tenant,
        "key_hash": hash_key(plain),
        "prefix": plain[:10],
        "created_at": time.time(),
    }
    async with db.write() as conn:
        existing = await key_store.key_by_hash(conn, row["key_hash"])
        if existing is not None:
            return existing, plain
        await key_store.insert_key(conn, **row)
    return row, plain


class KeyAuthenticator:
    """Checks keys, remembering recent answers for ``cache_seconds`` so each request does not
    hit the store (a tus upload sends dozens of PATCHes a second). Only valid keys are
    remembered; an unknown or revoked key is looked up every time."""

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._touched: dict[str, float] = {}

    async def authenticate(self, plain: str | None) -> Principal:
        if not plain:
            raise AuthenticationFailed(
                "an API key is needed: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        digest = hash_key(plain)
        now = self.clock()
        cached = self._cache.get(digest)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        async with self.db.read() as conn:
            row = await key_store.key_by_hash(conn, digest)
        if row is None:
            self._cache.pop(digest, None)
            raise AuthenticationFailed("the API key is not valid (unknown or revoked)")
        principal = Principal(key_id=row["id"], tenant=row["tenant"], role=Role(row["role"]))
        self._cache[digest] = (now, principal)
        if now - self._touched.get(row["id"], 0.0) > TOUCH_EVERY:
            self._touched[row["id"]] = now
            async with self.db.write() as conn:
                await key_store.touch_key(conn, row["id"], time.time())
        return principal

    def forget(self) -> None:
        self._cache.clear()


async def revoke(db: Database, principal: Principal, key_id: str) -> None:
    async with db.write() as conn:
        if not await key_store.revoke_key(conn, key_id, principal.scope, time.time()):
            raise NotFound(f"no key {key_id}")
