"""The sync client: every method runs the async client's method of the same name and signature
on a private event loop (``_runner.Runner``). Nothing is implemented twice; ``tests/client``
checks that both have the same public methods with the same parameters.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self, overload

import httpx

from ingestd.client import _upload
from ingestd.client._async import AsyncClient, StoreChoice
from ingestd.client._enums import FileStatus, JobAction, Pipeline, Priority, Role
from ingestd.client._models import (
    BulkResult,
    Chunk,
    Conversion,
    Delivery,
    Document,
    Event,
    File,
    Health,
    Job,
    Key,
    KeyCreated,
    Queue,
    SearchResult,
    Stats,
    UploadReport,
    UploadSummary,
    Webhook,
    WebhookCreated,
)
from ingestd.client._operations import ErrorReport, JobTimings, RetryResult, Usage
from ingestd.client._options import JobOptions
from ingestd.client._resources import (
    AsyncFiles,
    AsyncJobs,
    AsyncKeys,
    AsyncWebhooks,
    DocumentFormat,
    ExportFormat,
    OnEvent,
    OnProgress,
    OnUpload,
    Paths,
    StatusFilter,
)
from ingestd.client._retry import RetryPolicy
from ingestd.client._runner import Runner
from ingestd.client._sync_templates import Mapping as MappingResource
from ingestd.client._sync_templates import Records, Templates
from ingestd.client._tus import DEFAULT_CHUNK
from ingestd.client._watch import Detail
from ingestd.client.sources import Source


class Jobs:
    """``client.jobs``: see :class:`ingestd.client.AsyncClient` and ``AsyncJobs``."""

    def __init__(self, jobs: AsyncJobs, runner: Runner) -> None:
        self._async = jobs
        self._run = runner.run
        self._iterate = runner.iterate

    def create(
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
        return self._run(
            self._async.create,
            sources,
            name=name,
            description=description,
            priority=priority,
            pipeline=pipeline,
            options=options,
            start=start,
            run_at=run_at,
            labels=labels,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
        )

    def get(self, job_id: str) -> Job:
        return self._run(self._async.get, job_id)

    def list(
        self,
        *,
        status: StatusFilter = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Job]:
        return self._iterate(self._async.list(status=status, labels=labels, limit=limit))

    def start(self, job_id: str) -> Job:
        return self._run(self._async.start, job_id)

    def pause(self, job_id: str) -> Job:
        return self._run(self._async.pause, job_id)

    def resume(self, job_id: str) -> Job:
        return self._run(self._async.resume, job_id)

    def cancel(self, job_id: str) -> Job:
        return self._run(self._async.cancel, job_id)

    def retry(self, job_id: str, *, failed_only: bool = True) -> Job:
        return self._run(self._async.retry, job_id, failed_only=failed_only)

    def seal(self, job_id: str) -> Job:
        return self._run(self._async.seal, job_id)

    def delete(self, job_id: str) -> None:
        self._run(self._async.delete, job_id)

    def timings(self, job_id: str, *, slowest: int = 10) -> JobTimings:
        return self._run(self._async.timings, job_id, slowest=slowest)

    def bulk(
        self, action: JobAction | str, job_ids: Sequence[str], *, failed_only: bool = True
    ) -> builtins.list[BulkResult]:
        return self._run(self._async.bulk, action, job_ids, failed_only=failed_only)

    def files(
        self, job_id: str, *, status: StatusFilter = None, limit: int | None = None
    ) -> Iterator[File]:
        return self._iterate(self._async.files(job_id, status=status, limit=limit))

    def upload(
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
        return self._run(
            self._async.upload,
            job_id,
            paths,
            include=include,
            exclude=exclude,
            recursive=recursive,
            seal=seal,
            on_upload=on_upload,
        )

    def export(
        self, job_id: str, path: str | os.PathLike[str], *, format: ExportFormat = "jsonl"
    ) -> Path:
        return self._run(self._async.export, job_id, path, format=format)

    def wait(
        self,
        job_id: str,
        *,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        timeout: float | None = None,
        detail: Detail = "summary",
    ) -> Job:
        return self._run(
            self._async.wait,
            job_id,
            on_progress=on_progress,
            on_event=on_event,
            timeout=timeout,
            detail=detail,
        )


class Files:
    """``client.files``: see ``AsyncFiles``."""

    def __init__(self, files: AsyncFiles, runner: Runner) -> None:
        self._async = files
        self._run = runner.run
        self._iterate = runner.iterate

    def get(self, file_id: str) -> File:
        return self._run(self._async.get, file_id)

    def retry(self, file_id: str) -> File:
        return self._run(self._async.retry, file_id)

    def retry_matching(
        self,
        *,
        status: str | FileStatus | None = None,
        error_code: str | None = None,
        job_id: str | None = None,
        mime_type: str | None = None,
        source_type: str | None = None,
        dry_run: bool = False,
    ) -> RetryResult:
        return self._run(
            self._async.retry_matching,
            status=status,
            error_code=error_code,
            job_id=job_id,
            mime_type=mime_type,
            source_type=source_type,
            dry_run=dry_run,
        )

    def chunks(self, file_id: str, *, limit: int | None = None) -> Iterator[Chunk]:
        return self._iterate(self._async.chunks(file_id, limit=limit))

    @overload
    def document(self, file_id: str, *, format: Literal["json"] = "json") -> Document: ...
    @overload
    def document(self, file_id: str, *, format: Literal["markdown", "text"]) -> str: ...
    def document(self, file_id: str, *, format: DocumentFormat = "json") -> Document | str:
        return self._run(self._async.document, file_id, format=format)  # type: ignore[no-any-return]

    def content(self, file_id: str, *, byte_range: tuple[int, int] | None = None) -> bytes:
        return self._run(self._async.content, file_id, byte_range=byte_range)

    def download(self, file_id: str, path: str | os.PathLike[str]) -> Path:
        return self._run(self._async.download, file_id, path)


class Webhooks:
    """``client.webhooks``: see ``AsyncWebhooks``."""

    def __init__(self, webhooks: AsyncWebhooks, runner: Runner) -> None:
        self._async = webhooks
        self._run = runner.run
        self._iterate = runner.iterate

    def create(
        self, url: str, *, events: Sequence[str] = ("*",), secret: str | None = None
    ) -> WebhookCreated:
        return self._run(self._async.create, url, events=events, secret=secret)

    def list(self) -> builtins.list[Webhook]:
        return self._run(self._async.list)

    def delete(self, webhook_id: str) -> None:
        self._run(self._async.delete, webhook_id)

    def deliveries(self, webhook_id: str, *, limit: int | None = None) -> Iterator[Delivery]:
        return self._iterate(self._async.deliveries(webhook_id, limit=limit))


class Keys:
    """``client.keys``: see ``AsyncKeys``."""

    def __init__(self, keys: AsyncKeys, runner: Runner) -> None:
        self._async = keys
        self._run = runner.run

    def create(
        self, name: str, *, role: Role | str = Role.MEMBER, tenant: str | None = None
    ) -> KeyCreated:
        return self._run(self._async.create, name, role=role, tenant=tenant)

    def list(self) -> builtins.list[Key]:
        return self._run(self._async.list)

    def revoke(self, key_id: str) -> None:
        self._run(self._async.revoke, key_id)


class Client:
    """The ingestd API, sync: ``with Client(url, api_key=…) as client: …``.

    The same methods, arguments and results as :class:`AsyncClient`, without ``await``;
    iterators are plain iterators. Callbacks (``on_progress``…) run on the client's own
    background thread.
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
        self._runner = Runner()
        self._async = AsyncClient(
            base_url,
            api_key=api_key,
            timeout=timeout,
            retry=retry,
            transport=transport,
            headers=headers,
            upload_store=upload_store,
            tus_threshold=tus_threshold,
            tus_chunk_size=tus_chunk_size,
            checksum=checksum,
        )
        self._run = self._runner.run
        self.jobs = Jobs(self._async.jobs, self._runner)
        self.files = Files(self._async.files, self._runner)
        self.webhooks = Webhooks(self._async.webhooks, self._runner)
        self.keys = Keys(self._async.keys, self._runner)
        self.templates = Templates(self._async.templates, self._runner)  # docs/templates.md
        self.mapping = MappingResource(self._async.mapping, self._runner)
        self.records = Records(self._async.records, self._runner)

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def api_key(self) -> str | None:
        return self._async.api_key

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._run(self._async.aclose)
        finally:
            self._runner.close()

    def health(self) -> Health:
        return self._run(self._async.health)

    def stats(self) -> Stats:
        return self._run(self._async.stats)

    def queue(self) -> Queue:
        return self._run(self._async.queue)

    def usage(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        group_by: str | Sequence[str] = "day",
    ) -> Usage:
        return self._run(self._async.usage, from_=from_, to=to, group_by=group_by)

    def usage_csv(
        self,
        *,
        from_: str | None = None,
        to: str | None = None,
        group_by: str | Sequence[str] = "day",
    ) -> str:
        return self._run(self._async.usage_csv, from_=from_, to=to, group_by=group_by)

    def errors(self, *, since: str | None = None, bucket: str = "1h") -> ErrorReport:
        return self._run(self._async.errors, since=since, bucket=bucket)

    def search(self, q: str, *, job_id: str | None = None, k: int = 10) -> SearchResult:
        return self._run(self._async.search, q, job_id=job_id, k=k)

    def convert(
        self,
        paths: Paths = (),
        *,
        urls: Sequence[str] = (),
        format: DocumentFormat = "json",
        chunks: bool = False,
        wait_seconds: float = 60,
        options: JobOptions | Mapping[str, Any] | None = None,
    ) -> Conversion:
        return self._run(
            self._async.convert,
            paths,
            urls=urls,
            format=format,
            chunks=chunks,
            wait_seconds=wait_seconds,
            options=options,
        )

    def watch(
        self,
        job_id: str | None = None,
        *,
        after: int | str | None = None,
        detail: Detail = "full",
    ) -> Iterator[Event]:
        return self._runner.iterate(self._async.watch(job_id, after=after, detail=detail))

    def upload_and_wait(
        self,
        paths: Paths,
        *,
        on_progress: OnProgress | None = None,
        on_upload: OnUpload | None = None,
        progress_callback: OnProgress | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        recursive: bool = True,
        timeout: float | None = None,
        name: str | None = None,
        priority: Priority | str | None = None,
        pipeline: Pipeline | str | None = None,
        labels: Mapping[str, str] | None = None,
        options: JobOptions | Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **job_options: Any,
    ) -> UploadSummary:
        return self._run(
            self._async.upload_and_wait,
            paths,
            on_progress=on_progress,
            on_upload=on_upload,
            progress_callback=progress_callback,
            include=include,
            exclude=exclude,
            recursive=recursive,
            timeout=timeout,
            name=name,
            priority=priority,
            pipeline=pipeline,
            labels=labels,
            options=options,
            idempotency_key=idempotency_key,
            **job_options,
        )


def _share_docs(sync: type, asynchronous: type) -> None:
    """Each sync method shows its async twin's docstring (help(), IDEs)."""
    for name, member in vars(sync).items():
        twin = getattr(asynchronous, name, None)
        if callable(member) and not name.startswith("_") and twin is not None and twin.__doc__:
            member.__doc__ = twin.__doc__


for _sync_class, _async_class in (
    (Jobs, AsyncJobs),
    (Files, AsyncFiles),
    (Webhooks, AsyncWebhooks),
    (Keys, AsyncKeys),
    (Client, AsyncClient),
):
    _share_docs(_sync_class, _async_class)
