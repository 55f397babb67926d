"""``SimpleClient``: the few-lines integration for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from ingestd.client._async import default_name, failed_file, summarise
from ingestd.client._errors import UploadError
from ingestd.client._models import UploadSummary
from ingestd.client._resources import OnProgress, OnUpload, Paths
from ingestd.client._sync import Client
from ingestd.client._walk import select
from ingestd.client.sources import upload


class SimpleClient:
    """Upload files, optionally wait, get a summary::

        from ingestd.client import SimpleClient

        summary = SimpleClient("http://127.0.0.1:8000", "ik_…").upload_files(
            ["a.pdf", "reports/"], wait_for_completion=True
        )
        print(summary.processed, summary.skipped, summary.job_id)
        for failure in summary.failed:
            print(failure.path, failure.code, failure.message)

    ``url`` and ``key`` default to ``$INGESTD_URL`` and ``$INGESTD_KEY``; other keyword
    arguments go to :class:`Client` (``timeout``, ``transport``…). ``client`` is that client,
    for everything else.
    """

    def __init__(self, url: str | None = None, key: str | None = None, **options: Any) -> None:
        self.client = Client(url, api_key=key, **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def upload_files(
        self,
        paths: Paths,
        *,
        wait_for_completion: bool = False,
        on_progress: OnProgress | None = None,
        on_upload: OnUpload | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        timeout: float | None = None,
        **job_options: Any,
    ) -> UploadSummary:
        """Upload files and folders as one job; with ``wait_for_completion``, wait for it to
        end. The summary says what was processed, skipped, failed (with reasons) and not sent.
        Keyword arguments are those of ``Client.upload_and_wait`` (``name``, ``pipeline``,
        ``idempotency_key``, job options…)."""
        if wait_for_completion:
            return self.client.upload_and_wait(
                paths,
                on_progress=on_progress,
                on_upload=on_upload,
                include=include,
                exclude=exclude,
                timeout=timeout,
                **job_options,
            )
        selection = select(paths, include=include, exclude=exclude)
        if not selection.files and not selection.rejected:
            raise UploadError(f"nothing to upload in {paths}")
        fields = {k: job_options.pop(k) for k in _JOB_FIELDS if k in job_options}
        fields.setdefault("name", default_name(paths))
        options = {**(fields.pop("options", None) or {}), **job_options}
        job = self.client.jobs.create(upload(), options=options or None, **fields)
        report = self.client.jobs.upload(
            job.id, paths, include=include, exclude=exclude, seal=True, on_upload=on_upload
        )
        job = self.client.jobs.get(job.id)
        failed = [failed_file(f) for f in self.client.jobs.files(job.id, status="failed")]
        return summarise(job, report, failed)


_JOB_FIELDS = ("name", "priority", "pipeline", "labels", "options", "idempotency_key")
