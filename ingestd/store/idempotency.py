"""``Idempotency-Key`` on job creation: the same key, per tenant and for 24 hours, names the job
its first request created.

The key is claimed in the transaction that creates the job, before the job row, with one
``INSERT … ON CONFLICT`` on the ``(tenant, key)`` primary key: of two requests racing with one
key, the second waits for the first to commit and then finds its row, so one job is created. A
row older than the window is replaced in the same statement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.errors import BadRequest, Conflict
from ingestd.domain.paths import show
from ingestd.store.tables import idempotency_keys

WINDOW_SECONDS = 24 * 3600  # a key names its first job this long
MAX_KEY_CHARS = 255


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key and the fingerprint of the request it came with."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, body: dict[str, Any]) -> IdempotencyKey:
        """Check the header's value and fingerprint the (validated) request body: the same
        fields give the same fingerprint however the JSON was spelt."""
        if not key or len(key) > MAX_KEY_CHARS or not all(" " <= ch <= "~" for ch in key):
            raise BadRequest(
                f"Idempotency-Key {show(key)} must be 1 to {MAX_KEY_CHARS} printable ASCII "
                "characters, e.g. a UUID"
            )
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        return cls(key, hashlib.sha256(canonical).hexdigest())


class Replayed(Exception):
    """The key already names a job (created by an identical request): answer with that job."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


async def claim(
    conn: AsyncConnection,
    tenant: str,
    idempotency: IdempotencyKey,
    job_id: str,
    now: float,
    *,
    window: float = WINDOW_SECONDS,
) -> None:
    """Make ``idempotency`` name ``job_id``, which the caller creates in this transaction.

    Raises :class:`Replayed` when a live row names another job for the same request, and
    ``Conflict`` (409) when it was made by a different request.
    """
    t = idempotency_keys.c
    values = {
        "tenant": tenant,
        "key": idempotency.key,
        "fingerprint": idempotency.fingerprint,
        "job_id": job_id,
        "created_at": now,
    }
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(idempotency_keys)
    statement = insert.values(**values).on_conflict_do_update(
        index_elements=[t.tenant, t.key],
        set_={k: v for k, v in values.items() if k not in ("tenant", "key")},
        where=t.created_at < now - window,  # only an expired row is taken over
    )
    if (await conn.execute(statement)).rowcount == 1:
        return
    row = (
        await conn.execute(
            sa.select(t.fingerprint, t.job_id).where(t.tenant == tenant, t.key == idempotency.key)
        )
    ).one()
    if row.fingerprint != idempotency.fingerprint:
        raise Conflict(
            f"Idempotency-Key {show(idempotency.key)} was used in the last 24 h for a different "
            f"request (it created {row.job_id}); send a new key for a new job"
        )
    raise Replayed(str(row.job_id))
