"""Which push feed a process uses: Redis if configured, else PostgreSQL, else (SQLite) local
sockets; none when told to poll."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestd.config import Settings
from ingestd.events.push import PgPush, RedisPush, choose
from ingestd.events.unix_push import UnixPush
from ingestd.store.db import Database

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"  # never connected to here


def _choose(tmp_path: Path, url: str, **settings: object) -> object:
    db = Database(url)
    return choose(Settings(data_dir=tmp_path, **settings), db)  # type: ignore[arg-type]


def test_auto_picks_redis_then_postgres_then_local_sockets(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert isinstance(_choose(tmp_path, PG_URL, redis_url="redis://127.0.0.1:6379/0"), RedisPush)
    assert isinstance(_choose(tmp_path, sqlite, redis_url="redis://127.0.0.1:6379/0"), RedisPush)
    assert isinstance(_choose(tmp_path, PG_URL), PgPush)
    # A short path: a socket's name is limited to ~100 bytes (pytest's tmp_path may be longer).
    assert isinstance(_choose(tmp_path, "sqlite+aiosqlite:////tmp/x.db"), UnixPush)
    assert _choose(tmp_path, PG_URL, event_feed="poll") is None
    assert _choose(tmp_path, sqlite, event_feed="poll") is None


def test_a_forced_feed_that_cannot_work_is_refused(tmp_path: Path) -> None:
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ValueError, match="needs INGESTD_REDIS_URL"):
        _choose(tmp_path, PG_URL, event_feed="redis")
    with pytest.raises(ValueError, match="needs a PostgreSQL"):
        _choose(tmp_path, sqlite, event_feed="postgres")


def test_a_bad_channel_name_is_refused() -> None:
    with pytest.raises(ValueError, match="event_channel"):
        Settings(event_channel="no spaces; please")


def test_a_sqlite_tail_woken_by_sockets_polls_slowly_when_idle(tmp_path: Path) -> None:
    """With local sockets waking it, an idle SQLite tail polls every 0.25 s, not every 25 ms
    (a tenth of a core for an idle server); without them it keeps the brisk poll."""
    from ingestd.events.service import SQLITE_FALLBACK_POLL_SECONDS, LiveEvents

    woken = LiveEvents(Settings(data_dir=tmp_path), Database("sqlite+aiosqlite:////tmp/x.db"))
    assert isinstance(woken.push, UnixPush)
    assert woken.feed.idle_poll_seconds == SQLITE_FALLBACK_POLL_SECONDS == 0.25
    polled = LiveEvents(
        Settings(data_dir=tmp_path, event_feed="poll"), Database("sqlite+aiosqlite:////tmp/x.db")
    )
    assert polled.push is None
    assert polled.feed.idle_poll_seconds == polled.settings.event_poll_seconds
