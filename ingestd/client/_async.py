"""The async SDK: a thin, typed layer over the HTTP API, on httpx."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self, cast

import httpx

from ingestd.client._errors import APIError, ConnectError

DEFAULT_URL = "http://127.0.0.1:8000"
JSON = dict[str, Any]


class AsyncClient:
    """``async with AsyncClient(url, api_key=…) as client: await client.get_job(job_id)``.

    ``transport`` may be any httpx transport, e.g. ``httpx.ASGITransport(app)`` to talk to an app
    in the same process (tests), or a mock.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("INGESTD_URL") or DEFAULT_URL).rstrip("/")
        api_key = api_key or os.environ.get("INGESTD_KEY")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ConnectError(f"cannot reach ingestd at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def _json(self, method: str, path: str, **kwargs: Any) -> JSON:
        return cast(JSON, await self._request(method, path, **kwargs))

    # -- service -----------------------------------------------------------------------
    async def health(self) -> JSON:
        return await self._json("GET", "/health")

    # -- jobs --------------------------------------------------------------------------
    async def create_job(self, sources: Sequence[JSON], **fields: Any) -> JSON:
        return await self._json("POST", "/api/v1/jobs", json={"sources": list(sources), **fields})

    async def get_job(self, job_id: str) -> JSON:
        return await self._json("GET", f"/api/v1/jobs/{job_id}")

    async def list_jobs(
        self, *, status: str | None = None, limit: int = 50, after: str | None = None
    ) -> JSON:
        params = {
            k: v
            for k, v in {"status": status, "limit": limit, "after": after}.items()
            if v is not None
        }
        return await self._json("GET", "/api/v1/jobs", params=params)

    async def job_action(self, job_id: str, action: str, *, failed_only: bool = True) -> JSON:
        body = {"failed_only": failed_only} if action == "retry" else None
        return await self._json("POST", f"/api/v1/jobs/{job_id}/actions/{action}", json=body)

    async def delete_job(self, job_id: str) -> None:
        await self._request("DELETE", f"/api/v1/jobs/{job_id}")

    async def upload_files(
        self,
        job_id: str,
        paths: Sequence[str | Path],
        *,
        seal: bool = False,
        metadata: JSON | list[JSON] | None = None,
    ) -> list[JSON]:
        """Upload files in one multipart request (streamed from disk)."""
        with ExitStack() as stack:
            # httpx reads each file in chunks while sending: nothing is loaded whole.
            handles = [stack.enter_context(open(p, "rb")) for p in paths]  # noqa: ASYNC230
            parts = [
                ("file", (Path(p).name, h, _mime(p))) for p, h in zip(paths, handles, strict=True)
            ]
            data: dict[str, str] = {"seal": "true"} if seal else {}
            if metadata is not None:
                import orjson

                data["metadata"] = orjson.dumps(metadata).decode()
            body = await self._request(
                "POST", f"/api/v1/jobs/{job_id}/files", files=parts, data=data
            )
        return cast(list[JSON], body["items"])

    async def list_files(
        self, job_id: str, *, status: str | None = None, limit: int = 100, after: str | None = None
    ) -> JSON:
        params = {
            k: v
            for k, v in {"status": status, "limit": limit, "after": after}.items()
            if v is not None
        }
        return await self._json("GET", f"/api/v1/jobs/{job_id}/files", params=params)

    async def iter_files(self, job_id: str, *, status: str | None = None) -> AsyncIterator[JSON]:
        after: str | None = None
        while True:
            page = await self.list_files(job_id, status=status, limit=500, after=after)
            for item in page["items"]:
                yield item
            after = page["next"]
            if after is None:
                return

    # -- files -------------------------------------------------------------------------
    async def get_file(self, file_id: str) -> JSON:
        return await self._json("GET", f"/api/v1/files/{file_id}")

    async def retry_file(self, file_id: str) -> JSON:
        return await self._json("POST", f"/api/v1/files/{file_id}/actions/retry")

    async def file_chunks(self, file_id: str, *, limit: int = 50, after: str | None = None) -> JSON:
        params: dict[str, Any] = {"limit": limit, **({"after": after} if after else {})}
        return await self._json("GET", f"/api/v1/files/{file_id}/chunks", params=params)

    # -- events ------------------------------------------------------------------------
    async def watch(
        self,
        job_id: str | None = None,
        *,
        after: int | str | None = None,
        max_failures: int = 10,
    ) -> AsyncIterator[JSON]:
        """Event envelopes over WebSocket: a job's (ending with its final event) or all of
        yours. Reconnects with backoff and jitter and resumes after the last ``seq`` seen."""
        from ingestd.client._watch import follow

        headers = {k: v for k, v in self._http.headers.items() if k.lower() == "authorization"}
        async for event in follow(
            self.base_url, headers, job_id=job_id, after=after, max_failures=max_failures
        ):
            yield event

    # -- insight -----------------------------------------------------------------------
    async def stats(self) -> JSON:
        return await self._json("GET", "/api/v1/stats")

    async def queue(self) -> JSON:
        return await self._json("GET", "/api/v1/queue")

    # -- search ------------------------------------------------------------------------
    async def search(self, q: str, *, job_id: str | None = None, k: int = 10) -> JSON:
        """The ``k`` chunks of yours (or of one job) that best match ``q``, best first:
        ``{"items": [{"score", "match", "job_id", "file", "chunk", "position"}], "query",
        "mode", "truncated"}``."""
        params: dict[str, Any] = {"q": q, "k": k}
        if job_id is not None:
            params["job_id"] = job_id
        return await self._json("GET", "/api/v1/search", params=params)


def _mime(path: str | Path) -> str:
    return mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def _api_error(response: httpx.Response) -> APIError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return APIError(
        response.status_code,
        str(body.get("code", "http_error")),
        str(body.get("detail") or response.reason_phrase),
        body,
    )
