"""The sync SDK: the async client run on a private event loop (one implementation, not two)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self, TypeVar, cast

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ingestd.client._async import JSON, AsyncClient

T = TypeVar("T")


class Client:
    """``with Client(url, api_key=…) as client: client.get_job(job_id)``."""

    def __init__(
        self, base_url: str | None = None, *, api_key: str | None = None, timeout: float = 60.0
    ) -> None:
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        self._async: AsyncClient = self._portal.call(_make, base_url, api_key, timeout)
        self.base_url = self._async.base_url

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def run() -> T:
            return await fn(*args, **kwargs)

        return self._portal.call(run)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._portal.call(self._async.aclose)
        self._stack.close()

    def health(self) -> JSON:
        return self._call(self._async.health)

    def create_job(self, sources: Sequence[JSON], **fields: Any) -> JSON:
        return self._call(self._async.create_job, sources, **fields)

    def get_job(self, job_id: str) -> JSON:
        return self._call(self._async.get_job, job_id)

    def list_jobs(
        self, *, status: str | None = None, limit: int = 50, after: str | None = None
    ) -> JSON:
        return self._call(self._async.list_jobs, status=status, limit=limit, after=after)

    def job_action(self, job_id: str, action: str, *, failed_only: bool = True) -> JSON:
        return self._call(self._async.job_action, job_id, action, failed_only=failed_only)

    def delete_job(self, job_id: str) -> None:
        self._call(self._async.delete_job, job_id)

    def upload_files(
        self,
        job_id: str,
        paths: Sequence[str | Path],
        *,
        seal: bool = False,
        metadata: JSON | list[JSON] | None = None,
    ) -> list[JSON]:
        return self._call(self._async.upload_files, job_id, paths, seal=seal, metadata=metadata)

    def list_files(
        self, job_id: str, *, status: str | None = None, limit: int = 100, after: str | None = None
    ) -> JSON:
        return self._call(self._async.list_files, job_id, status=status, limit=limit, after=after)

    def all_files(self, job_id: str, *, status: str | None = None) -> list[JSON]:
        async def collect() -> list[JSON]:
            return [f async for f in self._async.iter_files(job_id, status=status)]

        return self._portal.call(collect)

    def get_file(self, file_id: str) -> JSON:
        return self._call(self._async.get_file, file_id)

    def retry_file(self, file_id: str) -> JSON:
        return self._call(self._async.retry_file, file_id)

    def file_chunks(self, file_id: str, *, limit: int = 50, after: str | None = None) -> JSON:
        return self._call(self._async.file_chunks, file_id, limit=limit, after=after)

    def watch(
        self, job_id: str | None = None, *, after: int | str | None = None, max_failures: int = 10
    ) -> Iterator[JSON]:
        """``for event in client.watch(job_id): …`` — see :meth:`AsyncClient.watch`."""
        agen = cast(
            AsyncGenerator[JSON, None],
            self._async.watch(job_id, after=after, max_failures=max_failures),
        )

        async def close() -> None:
            await agen.aclose()

        async def step() -> JSON | None:
            try:
                return await agen.__anext__()
            except StopAsyncIteration:
                return None

        try:
            while True:
                event = self._portal.call(step)
                if event is None:
                    return
                yield event
        finally:
            self._portal.call(close)

    def stats(self) -> JSON:
        return self._call(self._async.stats)

    def queue(self) -> JSON:
        return self._call(self._async.queue)

    def search(self, q: str, *, job_id: str | None = None, k: int = 10) -> JSON:
        """See :meth:`AsyncClient.search`."""
        return self._call(self._async.search, q, job_id=job_id, k=k)


async def _make(base_url: str | None, api_key: str | None, seconds: float) -> AsyncClient:
    return AsyncClient(base_url, api_key=api_key, timeout=seconds)
