"""services/keys.py, directly: keys are stored as hashes, checked with a short cache, revoked."""

from __future__ import annotations

import pytest

from ingestd.domain.auth import Role
from ingestd.domain.errors import AuthenticationFailed, NotFound
from ingestd.services.keys import KEY_PREFIX, KeyAuthenticator, create_key, hash_key, revoke
from ingestd.store import keys as key_store
from ingestd.store.db import Database
from ingestd.store.errors import Duplicate
from tests.services.conftest import ADMIN, OTHER_TENANT


async def test_a_key_is_shown_once_and_stored_as_its_hash(db: Database) -> None:
    row, plain = await create_key(db, name="ci", role=Role.MEMBER, tenant="acme")
    assert plain.startswith(KEY_PREFIX) and row["key_hash"] == hash_key(plain)
    async with db.read() as conn:
        [stored] = await key_store.list_keys(conn, "acme")
    assert plain not in str(stored) and stored["prefix"] == plain[:10]
    same, again = await create_key(db, name="ci", role=Role.MEMBER, tenant="acme", plain=plain)
    assert (same["id"], again) == (row["id"], plain)  # the same value: the same key


async def test_a_second_insert_of_one_hash_is_a_duplicate(db: Database) -> None:
    row, _plain = await create_key(db, name="a", role=Role.ADMIN, tenant="default")
    with pytest.raises(Duplicate):
        async with db.write() as conn:
            await key_store.insert_key(conn, **{**row, "id": "key_other"})


async def test_authentication_caches_valid_keys_only(db: Database) -> None:
    now = [0.0]
    auth = KeyAuthenticator(db, cache_seconds=5, clock=lambda: now[0])
    row, plain = await create_key(db, name="m", role=Role.MEMBER, tenant="acme")
    principal = await auth.authenticate(plain)
    assert (principal.tenant, principal.role) == ("acme", Role.MEMBER)
    with pytest.raises(AuthenticationFailed, match="not valid"):
        await auth.authenticate("ik_unknown")
    with pytest.raises(AuthenticationFailed, match="needed"):
        await auth.authenticate(None)
    await revoke(db, ADMIN, row["id"])
    assert await auth.authenticate(plain) == principal  # trusted for cache_seconds
    now[0] = 6.0
    with pytest.raises(AuthenticationFailed):
        await auth.authenticate(plain)


async def test_a_key_of_another_tenant_cannot_be_revoked(db: Database) -> None:
    row, _plain = await create_key(db, name="d", role=Role.MEMBER, tenant="default")
    with pytest.raises(NotFound):
        await revoke(db, OTHER_TENANT, row["id"])
    await revoke(db, ADMIN, row["id"])
    with pytest.raises(NotFound):
        await revoke(db, ADMIN, row["id"])
