"""The async resources: ``client.jobs``, ``client.files``, ``client.webhooks``, ``client.keys``.

Each method is one request (or a paging iterator) and returns models; ``jobs.wait`` and
``jobs.upload`` are the two that do more. ``ingestd.client._sync`` wraps every one of them.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from urllib.parse import unquote

from ingestd.client import _upload
from ingestd.client._enums import FileStatus, JobAction, JobStatus, Pipeline, Priority, Role
from ingestd.client._errors import ConnectError, WaitTimeout
from ingestd.client._http import IDEMPOTENCY_HEADER, Http
from ingestd.client._models import (
    BulkResult,
    Chunk,
    Delivery,
    Document,
    Event,
    File,
    Job,
    Key,
    KeyCreated,
    Model,
    Progress,
    UploadReport,
    Webhook,
    WebhookCreated,
)
from ingestd.client._operations import JobTimings, RetryResult
from ingestd.client._options import JobOptions
from ingestd.client._progress import JobMeter
from ingestd.client._walk import Selection, select
from ingestd.client._watch import NOW, Detail, follow
from ingestd.client.sources import Source, to_api

M = TypeVar("M", bound=Model)
PAGE = 500  # items per page when iterating
POLL_SECONDS = 1.0  # wait() without an event stream: between polls
OnProgress = Callable[[Progress], object]  # may return an awaitable: it is awaited
OnEvent = Callable[[Event], object]
OnUpload = _upload.OnUpload  # called as bytes go out: a plain function
DocumentFormat = Literal["json", "markdown", "text"]
ExportFormat = Literal["jsonl", "markdown"]
StatusFilter = str | JobStatus | FileStatus | Sequence[str | JobStatus | FileStatus] | None
Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


async def _call(callback: Callable[[Any], object] | None, value: Any) -> None:
    if callback is not None:
        result = callback(value)
        if inspect.isawaitable(result):
            await result


def _statuses(status: StatusFilter) -> str | None:
    if status is None:
        return None
    if isinstance(status, str):
        return str(status)
    return ",".join(str(s) for s in status)


async def _pages(
    http: Http, path: str, model: type[M], params: dict[str, Any], limit: int | None
) -> AsyncIterator[M]:
    """Every item of a listing, page after page, up to ``limit`` items."""
    after: str | None = None
    count = 0
    while True:
        size = PAGE if limit is None else max(min(PAGE, limit - count), 1)
        page = await http.json("GET", path, params={**params, "limit": size, "after": after})
        for item in page.get("items") or []:
            yield model.model_validate(item)
            count += 1
            if limit is not None and count >= limit:
                return
        after = page.get("next")
        if not after:
            return


class AsyncJobs:
    """``client.jobs``: create, read, list, control, upload to and wait for jobs."""

    def __init__(self, http: Http, upload_options: _upload.UploadOptions) -> None:
        self._http = http
        self._upload_options = upload_options

    async def create(
        self,
        sources: Sequence[Source | Mapping[str, Any]] | Source,
        *,
        name: str | None = None,
        description: str | None = None,
        priority: Priority | str | None = None,
        pipeline: Pipeline | str | None = None,
        options: JobOptions | Mapping[str, Any] | None = None,
        start: bool = True,
        run_at: datetime | str | None = None,
        labels: Mapping[str, str] | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Create a job over ``sources`` (``ingestd.client.sources``).

        Creation is safe to retry: it carries an ``Idempotency-Key`` (a new one per call unless
        you pass your own), so a retried request returns the job the first one created. Pass
        the same ``idempotency_key`` from a re-run script to get the same job back (24 h).
        """
        body: dict[str, Any] = {
            "sources": [
                to_api(s) for s in (sources if isinstance(sources, Sequence) else [sources])
            ],
            "start": start,
        }
        for key, value in (
            ("name", name),
            ("description", description),
            ("priority", priority),
            ("pipeline", pipeline),
            ("labels", dict(labels) if labels is not None else None),
            ("webhook_url", webhook_url),
            ("run_at", run_at.isoformat() if isinstance(run_at, datetime) else run_at),
        ):
            if value is not None:
                body[key] = str(value) if isinstance(value, Priority | Pipeline) else value
        if options is not None:
            body["options"] = options.to_api() if isinstance(options, JobOptions) else dict(options)
        key = idempotency_key or str(uuid.uuid4())
        data = await self._http.json(
            "POST", "/api/v1/jobs", json=body, headers={IDEMPOTENCY_HEADER: key}
        )
        return Job.model_validate(data)

    async def get(self, job_id: str) -> Job:
        return Job.model_validate(await self._http.json("GET", f"/api/v1/jobs/{job_id}"))

    async def list(
        self,
        *,
        status: StatusFilter = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Job]:
        """Jobs, newest first, fetched page by page as you iterate (at most ``limit``)."""
        params: dict[str, Any] = {"status": _statuses(status)}
        if labels:
            params["label"] = [f"{k}:{v}" for k, v in labels.items()]
        async for job in _pages(self._http, "/api/v1/jobs", Job, params, limit):
            yield job

    async def _act(self, job_id: str, action: JobAction, body: Any = None) -> Job:
        data = await self._http.json(
            "POST", f"/api/v1/jobs/{job_id}/actions/{action.value}", json=body
        )
        return Job.model_validate(data)

    async def start(self, job_id: str) -> Job:
        """Queue a job created with ``start=False``."""
        return await self._act(job_id, JobAction.START)

    async def pause(self, job_id: str) -> Job:
        """Stop claiming the job's files; those in flight finish."""
        return await self._act(job_id, JobAction.PAUSE)

    async def resume(self, job_id: str) -> Job:
        return await self._act(job_id, JobAction.RESUME)

    async def cancel(self, job_id: str) -> Job:
        """Stop the job: queued files are cancelled, files in flight are told to stop."""
        return await self._act(job_id, JobAction.CANCEL)

    async def retry(self, job_id: str, *, failed_only: bool = True) -> Job:
        """Queue the failed files again; ``failed_only=False`` runs cancelled ones too (a
        cancelled job runs again)."""
        return await self._act(job_id, JobAction.RETRY, {"failed_only": failed_only})

    async def seal(self, job_id: str) -> Job:
        """Tell an upload job that no more files are coming, so it can end."""
        return await self._act(job_id, JobAction.SEAL)

    async def timings(self, job_id: str, *, slowest: int = 10) -> JobTimings:
        """Where the job's time went: wall and CPU per step, queue wait, its slowest files."""
        data = await self._http.json(
            "GET", f"/api/v1/jobs/{job_id}/timings", params={"slowest": slowest}
        )
        return JobTimings.model_validate(data)

    async def delete(self, job_id: str) -> None:
        """Cancel the job if needed, then remove it with its files and chunks."""
        await self._http.request("DELETE", f"/api/v1/jobs/{job_id}")

    async def bulk(
        self, action: JobAction | str, job_ids: Sequence[str], *, failed_only: bool = True
    ) -> builtins.list[BulkResult]:
        """Apply one action to many jobs; one result per job (an error does not stop the rest)."""
        data = await self._http.json(
            "POST",
            f"/api/v1/jobs/actions/{JobAction(action).value}",
            json={"job_ids": list(job_ids), "failed_only": failed_only},
        )
        return [BulkResult.model_validate(item) for item in data.get("items") or []]

    async def files(
        self, job_id: str, *, status: StatusFilter = None, limit: int | None = None
    ) -> AsyncIterator[File]:
        """The job's files, page by page as you iterate (``status="failed"`` for failures)."""
        params = {"status": _statuses(status)}
        async for item in _pages(self._http, f"/api/v1/jobs/{job_id}/files", File, params, limit):
            yield item

    async def upload(
        self,
        job_id: str,
        paths: Paths,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        recursive: bool = True,
        seal: bool = False,
        on_upload: OnUpload | None = None,
    ) -> UploadReport:
        """Send local files and folders to an upload job.

        Folders are walked with the server's include/exclude rules. Files the job would refuse
        (over its ``max_file_size``) are not sent but listed in ``rejected``; files the job
        already has (same relative path and size, from an interrupted run) are not sent again;
        files of ``tus_threshold`` bytes and more go by resumable upload, continuing from the
        stored offset after a crash. ``on_upload`` gets an ``UploadProgress`` as bytes go out.
        ``seal=True`` tells the job no more files are coming.
        """
        _upload.check_callback(on_upload)
        selection = select(paths, include=include, exclude=exclude, recursive=recursive)
        return await self._send(await self.get(job_id), selection, seal=seal, on_upload=on_upload)

    async def _send(
        self, job: Job, selection: Selection, *, seal: bool, on_upload: OnUpload | None
    ) -> UploadReport:
        already: set[tuple[str, int]] = set()
        if job.progress.files.total:
            async for item in self.files(job.id):
                already.add((item.relative_path, item.size))

        return await _upload.send(
            self._http,
            job,
            selection,
            options=self._upload_options,
            already=already,
            seal=seal,
            on_upload=on_upload,
        )

    async def export(
        self, job_id: str, path: str | os.PathLike[str], *, format: ExportFormat = "jsonl"
    ) -> Path:
        """Stream the job's export to ``path``: ``jsonl`` (one chunk a line: ``file_id``,
        ``path``, ``sha256``, ``index``, ``text``, ``metadata``, ``element_ids``, ``vector`` when
        made) or ``markdown`` (a zip, one ``.md`` per file, paths kept). Memory stays flat."""
        target = Path(path)
        async with self._http.stream(
            "GET", f"/api/v1/jobs/{job_id}/export", params={"format": format}
        ) as response:
            await _save(response, target)
        return target

    async def wait(
        self,
        job_id: str,
        *,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the job's deadline, not a request's
        detail: Detail = "summary",
    ) -> Job:
        """Wait until the job ends and return its final state.

        ``on_progress`` gets a ``Progress`` at once and then as the job moves: files, bytes,
        percent, the recent throughput and an ETA (``None`` until there is evidence).
        ``on_event`` gets every event of the job's stream (``detail="full"`` includes each
        file's progress). ``timeout`` (seconds) raises ``WaitTimeout``; the job goes on. An
        upload job ends only once sealed.
        """
        meter = JobMeter(job_id)
        seen: list[Job] = []

        async def report(job: Job) -> None:
            seen.append(job)
            if len(seen) > 1:
                del seen[0]
            progress = meter.observe(
                job.progress, job.status, started_at=job.started_at, completed_at=job.completed_at
            )
            await _call(on_progress, progress)

        try:
            async with asyncio.timeout(timeout):
                return await self._until_ended(job_id, report, on_event, detail)
        except TimeoutError:
            if not seen:
                raise
            last = seen[-1]
            raise WaitTimeout(
                f"job {job_id} is still {last.status.value} after {timeout:g} s", last
            ) from None

    async def _until_ended(
        self,
        job_id: str,
        report: Callable[[Job], Awaitable[None]],
        on_event: OnEvent | None,
        detail: Detail,
    ) -> Job:
        state = await self.get(job_id)
        await report(state)
        if state.status.is_terminal:
            return state
        try:
            events = follow(self._http, job_id=job_id, after=NOW, detail=detail, max_failures=3)
            async with aclosing(events):
                async for event in events:
                    await _call(on_event, event)
                    if event.type.startswith("job."):
                        update: dict[str, Any] = {"status": event.status or state.status}
                        if event.progress is not None:
                            update["progress"] = event.progress
                        state = state.model_copy(update=update)
                        await report(state)
                    if event.type.ends_job:
                        break
        except ConnectError:  # no event stream here (e.g. a proxy that drops WebSockets): poll
            while not state.status.is_terminal:
                await self._http.sleep(POLL_SECONDS)
                state = await self.get(job_id)
                await report(state)
        final = await self.get(job_id)
        await report(final)
        return final


async def _save(response: Any, target: Path) -> None:
    """Write a streamed body to ``target`` (through a temporary name: never half a file)."""
    partial = target.with_name(target.name + ".part")
    with partial.open("wb") as out:
        async for block in response.aiter_bytes():
            out.write(block)
    partial.replace(target)


def _attachment_name(response: Any, fallback: str) -> str:
    """The file name of a ``Content-Disposition: attachment`` (RFC 6266/5987), made safe."""
    header = response.headers.get("content-disposition", "")
    name = ""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and "''" in value:
            name = unquote(value.split("''", 1)[1])
            break
        if key.lower() == "filename":
            name = value.strip('"')
    name = name.replace("\\", "/").rsplit("/", 1)[-1].lstrip(".")
    return name or fallback


class AsyncFiles:
    """``client.files``: one file, its chunks, its document and original bytes, a retry."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def get(self, file_id: str) -> File:
        return File.model_validate(await self._http.json("GET", f"/api/v1/files/{file_id}"))

    async def retry(self, file_id: str) -> File:
        """Queue a failed file again."""
        data = await self._http.json("POST", f"/api/v1/files/{file_id}/actions/retry")
        return File.model_validate(data)

    async def chunks(self, file_id: str, *, limit: int | None = None) -> AsyncIterator[Chunk]:
        """The file's chunks in order, page by page as you iterate."""
        async for chunk in _pages(self._http, f"/api/v1/files/{file_id}/chunks", Chunk, {}, limit):
            yield chunk

    async def retry_matching(
        self,
        *,
        status: str | FileStatus | None = None,
        error_code: str | None = None,
        job_id: str | None = None,
        mime_type: str | None = None,
        source_type: str | None = None,
        dry_run: bool = False,
    ) -> RetryResult:
        """Queue again every failed file (or ``status="cancelled"``) that matches; with
        ``dry_run`` only count them. ``files.retry_matching(error_code="timeout")``."""
        wanted = {
            "status": None if status is None else str(status),
            "error_code": error_code,
            "job_id": job_id,
            "mime_type": mime_type,
            "source_type": source_type,
        }
        body = {"filter": {k: v for k, v in wanted.items() if v is not None}, "dry_run": dry_run}
        data = await self._http.json("POST", "/api/v1/files/actions/retry", json=body)
        return RetryResult.model_validate(data)

    @overload
    async def document(self, file_id: str, *, format: Literal["json"] = "json") -> Document: ...
    @overload
    async def document(self, file_id: str, *, format: Literal["markdown", "text"]) -> str: ...
    async def document(self, file_id: str, *, format: DocumentFormat = "json") -> Document | str:
        """The file's extracted document: a typed ``Document`` (``format="json"``), or its
        Markdown or plain text. Raises ``ConflictError`` while the file has not completed and
        ``NotFoundError`` (``code`` ``no_document``) when it has none."""
        response = await self._http.request(
            "GET", f"/api/v1/files/{file_id}/document", params={"format": format}
        )
        if format == "json":
            return Document.model_validate(response.json())
        return response.text

    async def content(self, file_id: str, *, byte_range: tuple[int, int] | None = None) -> bytes:
        """The file's original bytes (``byte_range=(first, last)``, inclusive, for a part).
        ``NotFoundError`` with ``code == "no_content"`` when its pipeline kept none. For a
        large file, ``download`` streams to disk instead."""
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        response = await self._http.request(
            "GET", f"/api/v1/files/{file_id}/content", headers=headers
        )
        return response.content

    async def download(self, file_id: str, path: str | os.PathLike[str]) -> Path:
        """Stream the file's original bytes to ``path`` (a folder: the file's own name in it);
        returns where they went."""
        target = Path(path)
        async with self._http.stream("GET", f"/api/v1/files/{file_id}/content") as response:
            if await asyncio.to_thread(target.is_dir):
                target = target / _attachment_name(response, file_id)
            await _save(response, target)
        return target


class AsyncWebhooks:
    """``client.webhooks``: subscribe URLs to events, see each delivery attempt."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def create(
        self, url: str, *, events: Sequence[str] = ("*",), secret: str | None = None
    ) -> WebhookCreated:
        """Subscribe ``url`` to ``events`` (``["*"]``: all); the answer holds the signing
        ``secret``, shown this once."""
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if secret is not None:
            body["secret"] = secret
        data = await self._http.json("POST", "/api/v1/webhooks", json=body)
        return WebhookCreated.model_validate(data)

    async def list(self) -> builtins.list[Webhook]:
        data = await self._http.json("GET", "/api/v1/webhooks")
        return [Webhook.model_validate(item) for item in data.get("items") or []]

    async def delete(self, webhook_id: str) -> None:
        await self._http.request("DELETE", f"/api/v1/webhooks/{webhook_id}")

    async def deliveries(
        self, webhook_id: str, *, limit: int | None = None
    ) -> AsyncIterator[Delivery]:
        """Each delivery attempt, newest first."""
        path = f"/api/v1/webhooks/{webhook_id}/deliveries"
        async for item in _pages(self._http, path, Delivery, {}, limit):
            yield item


class AsyncKeys:
    """``client.keys`` (admin keys only): create, list and revoke API keys."""

    def __init__(self, http: Http) -> None:
        self._http = http

    async def create(
        self, name: str, *, role: Role | str = Role.MEMBER, tenant: str | None = None
    ) -> KeyCreated:
        """A new key; its secret (``.key``) is shown only in this answer."""
        body: dict[str, Any] = {"name": name, "role": str(Role(role))}
        if tenant is not None:
            body["tenant"] = tenant
        return KeyCreated.model_validate(await self._http.json("POST", "/api/v1/keys", json=body))

    async def list(self) -> builtins.list[Key]:
        data = await self._http.json("GET", "/api/v1/keys")
        return [Key.model_validate(item) for item in data.get("items") or []]

    async def revoke(self, key_id: str) -> None:
        await self._http.request("DELETE", f"/api/v1/keys/{key_id}")


__all__ = ["AsyncFiles", "AsyncJobs", "AsyncKeys", "AsyncWebhooks"]
