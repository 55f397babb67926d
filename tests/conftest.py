"""Shared fixtures: settings in a temp dir, databases on SQLite and on real PostgreSQL, the app."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from ingestd.api.app import create_app
from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.runtime import Runtime
from ingestd.store.db import Database
from ingestd.store.migrate import upgrade
from tests.eventually import eventually
from tests.needs import missing

PG_DSN = os.environ.get("INGESTD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# One template per test process: concurrent runs (xdist workers, other sessions) never share one.
PG_TEMPLATE = f"ingestd_test_template_{os.getpid()}"
ADMIN_KEY = "ik_test_admin_key_0123456789abcdef"


def _pg_url(database: str) -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _pg_reachable() -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_DSN), 5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


_template_ready = False


async def _make_pg_database() -> str:
    """A fresh database cloned from a migrated template (built once per session)."""
    global _template_ready
    admin = await asyncpg.connect(PG_DSN)
    try:
        if not _template_ready:
            await admin.execute(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {PG_TEMPLATE}")
            await upgrade(_pg_url(PG_TEMPLATE))
            _template_ready = True
        name = f"ingestd_t_{secrets.token_hex(6)}"
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}")
    finally:
        await admin.close()
    return name


async def _drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        await upgrade(url)
        yield url
        return
    if not await _pg_reachable():
        missing(f"PostgreSQL is not reachable at {PG_DSN}")
    name = await _make_pg_database()
    yield _pg_url(name)
    await _drop_pg_database(name)


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_template() -> Iterator[None]:
    yield
    if _template_ready:
        asyncio.run(_drop_pg_database(PG_TEMPLATE))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.close()


@pytest.fixture
def source_root(tmp_path: Path) -> Path:
    root = tmp_path / "sources"
    root.mkdir()
    return root


@pytest.fixture
def make_settings(tmp_path: Path, source_root: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "source_roots": [source_root],
            "admin_key": ADMIN_KEY,
            "workers": 2,
            "extract_processes": 1,
            "poll_seconds": 0.05,
            "heartbeat_seconds": 0.5,
            "retry_base_seconds": 0.05,
            "worker_process": False,  # in-process: the e2e tests run the child-process mode
        }
        values.update(overrides)
        return Settings(**values)

    return make


class App:
    """The app running in-process, with a client that speaks to it over ASGI."""

    def __init__(
        self, client: httpx.AsyncClient, runtime: Runtime, settings: Settings, asgi: Any
    ) -> None:
        self.asgi = asgi
        self.client = client
        self.runtime = runtime
        self.settings = settings

    async def wait_job(
        self,
        job_id: str,
        *,
        seconds: float = 60.0,
        statuses: tuple[str, ...] = ("completed", "failed", "cancelled"),
    ) -> dict[str, Any]:
        async def job() -> dict[str, Any]:
            return (await self.client.get(f"/api/v1/jobs/{job_id}")).json()  # type: ignore[no-any-return]

        return await eventually(
            job,
            until=lambda j: j["status"] in statuses,
            seconds=seconds,
            interval=0.05,
            what=f"job {job_id} {' or '.join(statuses)}",
        )

    async def files(self, job_id: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"limit": 500, **({"status": status} if status else {})}
        return (await self.client.get(f"/api/v1/jobs/{job_id}/files", params=params)).json()[
            "items"
        ]  # type: ignore[no-any-return]

    async def key(self, role: str = "member", tenant: str = "default") -> str:
        response = await self.client.post(
            "/api/v1/keys", json={"name": f"{role}-{tenant}", "role": role, "tenant": tenant}
        )
        assert response.status_code == 201, response.text
        return response.json()["key"]  # type: ignore[no-any-return]


@pytest.fixture
def start_app(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """``async with start_app(**settings) as app:`` — the real app, lifespan and workers included."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[App]:
        settings = make_settings(**overrides)
        runtime = Runtime(settings)
        app = create_app(settings, runtime=runtime)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://test",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            ) as client:
                yield App(client, runtime, settings, app)

    return start


@pytest.fixture
async def app(start_app: Callable[..., Any], database_url: str) -> AsyncIterator[App]:
    async with start_app(database_url=database_url) as running:
        yield running


@pytest.fixture
async def sqlite_app(start_app: Callable[..., Any]) -> AsyncIterator[App]:
    async with start_app() as running:
        yield running


@pytest.fixture
def docs(source_root: Path) -> Iterator[Path]:
    folder = source_root / "docs"
    folder.mkdir()
    yield folder


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    """An empty local blob store in the test's own folder."""
    store = LocalBlobStore(tmp_path / "blobs")
    store.ensure()
    return store
