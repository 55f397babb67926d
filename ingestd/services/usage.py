"""Usage per tenant, day and pipeline (``GET /api/v1/usage``): admins read every tenant's,
others their own. The counters are kept as work happens (``store/usage.py``); this reads them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ingestd.domain.auth import Principal
from ingestd.domain.errors import ValidationFailed
from ingestd.store import usage as usage_store
from ingestd.store.db import Database

DEFAULT_DAYS = 30  # without ``from``: the last 30 days, today included
MAX_DAYS = 3660  # about ten years: a range is a few rows a day, but not unbounded


def parse_day(value: str | None, name: str) -> date | None:
    """A day as ``2026-12-06``, or an RFC 3339 time (its UTC day)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{name}: {value!r} is not a day (2026-12-06) or an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def parse_groups(value: str | None) -> list[str]:
    """``day``, ``tenant``, ``pipeline``, or several joined by commas (``day,tenant``)."""
    wanted = [g.strip() for g in (value or "day").split(",") if g.strip()]
    unknown = [g for g in wanted if g not in usage_store.GROUPS]
    if unknown or not wanted:
        raise ValidationFailed(
            f"group_by: {', '.join(unknown) or 'nothing'} is not one of "
            f"{', '.join(usage_store.GROUPS)} (several may be joined by commas)"
        )
    if len(set(wanted)) != len(wanted):
        raise ValidationFailed(f"group_by: {value!r} names a group twice")
    return wanted


def day_range(first: date | None, last: date | None, *, today: date) -> tuple[date, date]:
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed(f"from ({first}) is after to ({last})")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(f"the range covers more than {MAX_DAYS} days; ask for less")
    return first, last


async def usage_report(
    db: Database, principal: Principal, *, first: date, last: date, group_by: Sequence[str]
) -> list[dict[str, Any]]:
    """Counters summed per group over ``first..last`` (UTC days, both included)."""
    async with db.read() as conn:
        return await usage_store.usage_between(
            conn,
            first_day=first.isoformat(),
            last_day=last.isoformat(),
            group_by=group_by,
            tenant=principal.scope,
        )


def as_csv(items: Sequence[dict[str, Any]], group_by: Sequence[str]) -> str:
    """The report as CSV: the group columns, then every counter; a header line first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = [*group_by, *usage_store.COUNTERS]
    writer.writerow(columns)
    for item in items:
        writer.writerow([item[c] for c in columns])
    return out.getvalue()
