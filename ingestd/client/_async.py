"""The async client: the implementation (``Client`` runs it on a private event loop)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self

import httpx

from ingestd.client import _upload
from ingestd.client._enums import FileStatus, Pipeline, Priority
from ingestd.client._errors import UploadError
from ingestd.client._http import DEFAULT_TIMEOUT, Http
from ingestd.client._models import (
    Conversion,
    Event,
    FailedFile,
    Health,
    Job,
    Queue,
    SearchResult,
    Stats,
    UploadReport,
    UploadSummary,
)
from ingestd.client._operations import ErrorReport, Usage
from ingestd.client._options import JobOptions
from ingestd.client._resources import (
    AsyncFiles,
    AsyncJobs,
    AsyncKeys,
    AsyncWebhooks,
    DocumentFormat,
    OnProgress,
    OnUpload,
    Paths,
)
from ingestd.client._retry import RetryPolicy
from ingestd.client._templates import AsyncMapping, AsyncRecords, AsyncTemplates
from ingestd.client._tus import DEFAULT_CHUNK, UploadStore
from ingestd.client._walk import select
from ingestd.client._watch import Detail, follow
from ingestd.client.sources import upload

StoreChoice = UploadStore | str | os.PathLike[str] | bool


class AsyncClient:
    """The ingestd API, async: ``async with AsyncClient(url, api_key=…) as client: …``.

    - ``base_url`` and ``api_key`` default to ``$INGESTD_URL`` (else ``http://127.0.0.1:8000``)
      and ``$INGESTD_KEY``.
    - ``timeout``: seconds for each connect, read and write (or an ``httpx.Timeout``).
    - ``retry``: a ``RetryPolicy``, or how many retries (``0``: none). Connection errors,
      timeouts, ``429`` and ``503`` are retried with exponential backoff and jitter, honouring
      ``Retry-After``, for idempotent requests and for job creation (``Idempotency-Key``).
    - ``transport``: any httpx transport, e.g. ``httpx.ASGITransport(app)`` for an app in the
      same process or ``httpx.MockTransport(handler)``; events are then polled through it.
    - ``upload_store``: where resumable uploads remember their URL (``True``: the default
      file, see ``UploadStore.default()``; ``False``: nowhere, a crash restarts the file).
    - ``tus_threshold``: files of this many bytes and more go by resumable upload (tus), in
      chunks of ``tus_chunk_size`` bytes, each checked by the server when ``checksum``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        upload_store: StoreChoice = True,
        tus_threshold: int = _upload.TUS_THRESHOLD,
        tus_chunk_size: int = DEFAULT_CHUNK,
        checksum: bool = True,
    ) -> None:
        policy = retry if isinstance(retry, RetryPolicy) else RetryPolicy()
        if isinstance(retry, int):
            policy = RetryPolicy(retries=retry)
        self._http = Http(
            base_url,
            api_key=api_key,
            timeout=timeout,
            retry=policy,
            transport=transport,
            headers=dict(headers or {}),
        )
        options = _upload.UploadOptions(
            tus_threshold=tus_threshold,
            chunk_size=tus_chunk_size,
            checksum=checksum,
            store=_store(upload_store),
        )
        self.jobs = AsyncJobs(self._http, options)
        self.files = AsyncFiles(self._http)
        self.webhooks = AsyncWebhooks(self._http)
        self.keys = AsyncKeys(self._http)
        self.templates = AsyncTemplates(self._http)  # docs/templates.md
        self.mapping = AsyncMapping(self._http)
        self.records = AsyncRecords(self._http)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def api_key(self) -> str | None:
        return self._http.api_key

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def health(self) -> Health:
        """The server's liveness and version (needs no key)."""
        return Health.model_validate(await self._http.json("GET", "/health"))

    async def stats(self) -> Stats:
        """Totals of your jobs and files, success rate and processing times."""
        return Stats.model_validate(await self._http.json("GET", "/api/v1/stats"))

    async def queue(self) -> Queue:
        """Files queued and running, the workers, and the last minute's throughput."""
        return Queue.model_validate(await self._http.json("GET", "/api/v1/queue"))

    async def usage(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        group_by: str | Sequence[str] = "day",
    ) -> Usage:
        """Usage per UTC day (``from_``..``to``, both included; the last 30 days by default),
        tenant or pipeline: jobs, files, bytes, pages, chunks, vectors, OCR pages, CPU seconds."""
        return Usage.model_validate(
            await self._http.json("GET", "/api/v1/usage", params=_usage_params(from_, to, group_by))
        )

    async def usage_csv(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        group_by: str | Sequence[str] = "day",
    ) -> str:
        """``usage()`` as CSV text, a header line first (for a spreadsheet or a bill)."""
        params = {**_usage_params(from_, to, group_by), "format": "csv"}
        response = await self._http.request("GET", "/api/v1/usage", params=params)
        return response.text

    async def errors(self, *, since: str | None = None, bucket: str = "1h") -> ErrorReport:
        """Failed files grouped by error code, type, source type and extractor, in time buckets,
        each with an example; ``since`` is an RFC 3339 time or a duration (``"24h"``)."""
        params: dict[str, Any] = {"bucket": bucket}
        if since is not None:
            params["since"] = since
        return ErrorReport.model_validate(
            await self._http.json("GET", "/api/v1/errors", params=params)
        )

    async def search(self, q: str, *, job_id: str | None = None, k: int = 10) -> SearchResult:
        """The ``k`` chunks (of yours, or of one job) that best match ``q``, best first."""
        params: dict[str, Any] = {"q": q, "k": k}
        if job_id is not None:
            params["job_id"] = job_id
        return SearchResult.model_validate(
            await self._http.json("GET", "/api/v1/search", params=params)
        )

    async def convert(
        self,
        paths: Paths = (),
        *,
        urls: Sequence[str] = (),
        format: DocumentFormat = "json",
        chunks: bool = False,
        wait_seconds: float = 60,
        options: JobOptions | Mapping[str, Any] | None = None,
    ) -> Conversion:
        """Files (paths) and/or URLs to documents in one call: ``items`` holds each file's
        ``document`` (a ``Document`` for ``format="json"``, else Markdown or text), its
        ``chunks`` with ``chunks=True``, or its ``error``. The server runs it as an urgent job
        and waits up to ``wait_seconds``; past that ``pending`` is true and ``job_id``/``files``
        say where to read the documents later."""
        given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        files = [Path(p) for p in given]
        data: dict[str, Any] = {
            "format": format,
            "chunks": "true" if chunks else "false",
            "wait_seconds": str(wait_seconds),
        }
        if urls:
            data["urls"] = json.dumps(list(urls))
        if options:
            data["options"] = json.dumps(_options(options))
        with ExitStack() as stack:
            parts = [
                ("file", (f.name, stack.enter_context(f.open("rb")), "application/octet-stream"))
                for f in files
            ]
            response = await self._http.request(
                "POST",
                "/api/v1/convert",
                data=data,
                files=parts or None,
                timeout=httpx.Timeout(DEFAULT_TIMEOUT, read=wait_seconds + DEFAULT_TIMEOUT),
                retry=False,
            )
        body = response.json()
        if response.status_code == 202:
            return Conversion.model_validate({**body, "pending": True})
        return Conversion.model_validate(body)

    async def watch(
        self,
        job_id: str | None = None,
        *,
        after: int | str | None = None,
        detail: Detail = "full",
    ) -> AsyncIterator[Event]:
        """Events as they happen: one job's (from its start, ending after its final event) or,
        without ``job_id``, all of yours from now on. ``after`` resumes after an event (its
        ``seq`` or id). A dropped connection is resumed from the last event, with backoff and
        jitter: nothing is missed or repeated. ``detail="summary"`` asks for job-level events
        only (a server without it sends everything)."""
        async for event in follow(self._http, job_id=job_id, after=after, detail=detail):
            yield event

    async def upload_and_wait(
        self,
        paths: Paths,
        *,
        on_progress: OnProgress | None = None,
        on_upload: OnUpload | None = None,
        progress_callback: OnProgress | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        recursive: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109 - the job's deadline, not a request's
        name: str | None = None,
        priority: Priority | str | None = None,
        pipeline: Pipeline | str | None = None,
        labels: Mapping[str, str] | None = None,
        options: JobOptions | Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **job_options: Any,
    ) -> UploadSummary:
        """Upload files and folders as one job, wait for it to end, and sum it up.

        ``on_upload`` follows the upload, ``on_progress`` (or ``progress_callback``, its older
        name) the processing. Other keyword arguments are job options (``chunk_size=800``…).
        Pass an ``idempotency_key`` to make a re-run of your script continue the same job
        (within 24 h): files already sent are skipped, a large file resumes where it stopped.
        """
        _upload.check_callback(on_upload)
        selection = select(paths, include=include, exclude=exclude, recursive=recursive)
        if not selection.files and not selection.rejected:
            raise UploadError(f"nothing to upload in {_shown(paths)}")
        merged = {**_options(options), **job_options}
        job = await self.jobs.create(
            upload(),
            name=name or default_name(paths),
            priority=priority,
            pipeline=pipeline,
            labels=labels,
            options=merged or None,
            idempotency_key=idempotency_key,
        )
        report = await self.jobs._send(job, selection, seal=True, on_upload=on_upload)
        final = await self.jobs.wait(
            job.id, on_progress=on_progress or progress_callback, timeout=timeout
        )
        failed = [f async for f in self.jobs.files(job.id, status=FileStatus.FAILED)]
        return summarise(final, report, [failed_file(f) for f in failed])


def summarise(job: Job, report: UploadReport | None, failed: list[FailedFile]) -> UploadSummary:
    files = job.progress.files
    return UploadSummary(
        job_id=job.id,
        job=job,
        status=job.status,
        processed=files.completed,
        skipped=files.skipped,
        failed=failed,
        rejected=report.rejected if report is not None else [],
        upload=report,
    )


def failed_file(item: Any) -> FailedFile:
    error = item.error
    return FailedFile(
        file_id=item.id,
        path=item.relative_path,
        code=error.code if error else "unknown",
        message=error.message if error else None,
        retryable=error.retryable if error else True,
    )


def _options(options: JobOptions | Mapping[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    return options.to_api() if isinstance(options, JobOptions) else dict(options)


def _usage_params(
    first: str | None, last: str | None, group_by: str | Sequence[str]
) -> dict[str, Any]:
    groups = group_by if isinstance(group_by, str) else ",".join(group_by)
    params: dict[str, Any] = {"group_by": groups}
    if first is not None:
        params["from"] = first
    if last is not None:
        params["to"] = last
    return params


def default_name(paths: Paths) -> str:
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if len(given) == 1:
        return Path(given[0]).resolve().name or "upload"
    return "upload"


def _shown(paths: Paths) -> str:
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return ", ".join(str(p) for p in given) or "(no paths)"


def _store(choice: StoreChoice) -> UploadStore | None:
    if choice is True:
        return UploadStore.default()
    if choice is False:
        return None
    return choice if isinstance(choice, UploadStore) else UploadStore(choice)
