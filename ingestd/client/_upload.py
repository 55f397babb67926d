"""Sending local files to an upload job: small ones in multipart batches, large ones by tus,
none that the job would refuse, none that an earlier interrupted run already sent."""

from __future__ import annotations

import functools
import inspect
import io
import mimetypes
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import orjson

from ingestd.client._errors import APIError, ConflictError
from ingestd.client._http import Http
from ingestd.client._models import Job, Rejected, UploadProgress, UploadReport
from ingestd.client._progress import RateMeter, eta
from ingestd.client._tus import DEFAULT_CHUNK, ENDPOINT, TusUpload, UploadStore
from ingestd.client._walk import LocalFile, Selection

TUS_THRESHOLD = 64 * 1024 * 1024  # files from this size on go by tus, resumably
BATCH_FILES = 32  # files per multipart request, at most
BATCH_BYTES = 32 * 1024 * 1024  # bytes per multipart request, about
REPORT_SECONDS = 0.1  # on_upload is called at most this often (and at every file's end)

OnUpload = Callable[[UploadProgress], None]


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """How files go up: see ``AsyncClient`` for each."""

    tus_threshold: int = TUS_THRESHOLD
    chunk_size: int = DEFAULT_CHUNK
    checksum: bool = True
    store: UploadStore | None = None


@dataclass(slots=True)
class _Meter:
    """Counts bytes out and calls ``on_upload`` with the recent rate, at most every 0.1 s."""

    files_total: int
    bytes_total: int
    on_upload: OnUpload | None
    clock: Callable[[], float] = time.monotonic
    files_sent: int = 0
    bytes_done: int = 0  # of files finished
    in_file: int = 0  # bytes of the file being sent
    current: str | None = None
    resumed_from: int | None = None
    already_there: int = 0  # bytes of resumed uploads the server had before this run
    _rate: RateMeter = field(default_factory=RateMeter)
    _reported: float = float("-inf")

    @property
    def bytes_sent(self) -> int:
        return self.bytes_done + self.in_file

    def start(self, file: LocalFile) -> None:
        self.current, self.in_file = file.rel, 0

    def at(self, offset: int) -> None:
        self.in_file = offset
        self.report()

    def finish(self, file: LocalFile) -> None:
        self.files_sent += 1
        self.bytes_done += file.size
        self.in_file = max(self.in_file - file.size, 0)  # a batch's other files stay counted
        self.report(force=True)

    def report(self, *, force: bool = False) -> None:
        now = self.clock()
        self._rate.add(now, self.bytes_sent - self.already_there)  # bytes that moved, now
        if self.on_upload is None or (not force and now - self._reported < REPORT_SECONDS):
            return
        self._reported = now
        self.on_upload(
            UploadProgress(
                files_total=self.files_total,
                files_sent=self.files_sent,
                bytes_total=self.bytes_total,
                bytes_sent=self.bytes_sent,
                bytes_per_s=round(self._rate.rate, 1),
                eta_seconds=eta(
                    self._rate,
                    self.bytes_sent,
                    self.bytes_total,
                    min_growth=0.01 * self.bytes_total,
                ),
                file=self.current,
                resumed_from=self.resumed_from,
            )
        )
        self.resumed_from = None


def check_callback(on_upload: Callable[..., object] | None) -> None:
    """``on_upload`` runs between the reads of a file being sent: it cannot be awaited."""
    if on_upload is not None and inspect.iscoroutinefunction(on_upload):
        raise TypeError("on_upload must be a plain function, not a coroutine function")


class _CountedFile(io.RawIOBase):
    """A file httpx reads for a multipart part; ``on_read`` hears of each new byte read."""

    def __init__(self, file: LocalFile, on_read: Callable[[int], None]) -> None:
        super().__init__()
        self._handle = file.path.open("rb")
        self._on_read = on_read
        self._high = 0  # bytes counted so far (a re-read after a seek counts once)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        position = self._handle.tell()
        if position > self._high:
            self._on_read(position - self._high)
            self._high = position
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()
        super().close()


async def send(
    http: Http,
    job: Job,
    selection: Selection,
    *,
    options: UploadOptions,
    already: set[tuple[str, int]],
    seal: bool,
    on_upload: OnUpload | None,
) -> UploadReport:
    """Upload ``selection`` to ``job``; see ``AsyncJobs.upload``."""
    started = time.monotonic()
    rejected = list(selection.rejected)
    todo: list[LocalFile] = []
    limit = await _limit(http, job)
    skipped = 0
    for file in selection.files:
        if (file.rel, file.size) in already:
            skipped += 1
        elif limit is not None and file.size > limit[0]:
            rejected.append(_too_large(file, *limit))
        else:
            todo.append(file)
    meter = _Meter(len(todo), sum(f.size for f in todo), on_upload)
    meter.report(force=True)
    small = [f for f in todo if f.size < options.tus_threshold]
    large = [f for f in todo if f.size >= options.tus_threshold]
    for batch in _batches(small):
        await _multipart(http, job.id, batch, meter)
    tus = TusUpload(
        http, chunk_size=options.chunk_size, checksum=options.checksum, store=options.store
    )
    resumed = 0
    for file in large:
        meter.start(file)
        resumed_from = await tus.send(
            file,
            job_id=job.id,
            metadata={"relative_path": file.rel},
            on_offset=functools.partial(_resume_note, meter, file),
        )
        resumed += resumed_from > 0
        meter.finish(file)
    if seal and not job.sealed:
        await _seal(http, job.id)
    return UploadReport(
        job_id=job.id,
        files_sent=meter.files_sent,
        bytes_sent=meter.bytes_sent - meter.already_there,
        already_uploaded=skipped,
        resumed=resumed,
        rejected=rejected,
        seconds=round(time.monotonic() - started, 3),
        sealed=seal or job.sealed,
    )


def _resume_note(meter: _Meter, file: LocalFile, offset: int) -> None:
    if meter.in_file == 0 and offset > 0 and meter.current == file.rel:
        meter.resumed_from = offset
        meter.already_there += offset
    meter.at(offset)


async def _limit(http: Http, job: Job) -> tuple[int, str] | None:
    """The size over which a file would be refused: the job's, or the server's if smaller."""
    limits: list[tuple[int, str]] = []
    if job.max_file_size is not None:
        limits.append((job.max_file_size, "the job's max_file_size"))
    try:
        response = await http.request("OPTIONS", ENDPOINT)
        server = response.headers.get("tus-max-size")
        if server and server.isdigit():
            limits.append((int(server), "the server's upload limit"))
    except APIError:
        pass
    return min(limits) if limits else None


def _too_large(file: LocalFile, limit: int, what: str) -> Rejected:
    return Rejected(
        path=file.rel,
        size=file.size,
        code="too_large",
        message=f"{file.size:,} bytes is over {what} ({limit:,} bytes)",
    )


def _batches(files: list[LocalFile]) -> Iterator[list[LocalFile]]:
    batch: list[LocalFile] = []
    size = 0
    for file in files:
        if batch and (len(batch) >= BATCH_FILES or size + file.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file.size
    if batch:
        yield batch


async def _multipart(http: Http, job_id: str, batch: list[LocalFile], meter: _Meter) -> None:
    meter.start(batch[0])

    def read(count: int) -> None:
        meter.at(meter.in_file + count)

    with ExitStack() as stack:
        parts: list[tuple[str, Any]] = [
            (
                "file",
                (
                    file.path.name,
                    stack.enter_context(_CountedFile(file, read)),
                    mimetypes.guess_type(file.path.name)[0] or "application/octet-stream",
                ),
            )
            for file in batch
        ]
        metadata = orjson.dumps([{"relative_path": f.rel} for f in batch]).decode()
        await http.request(
            "POST", f"/api/v1/jobs/{job_id}/files", files=parts, data={"metadata": metadata}
        )
    for file in batch:
        meter.finish(file)


async def _seal(http: Http, job_id: str) -> None:
    try:
        await http.request("POST", f"/api/v1/jobs/{job_id}/actions/seal")
    except ConflictError as exc:
        if "sealed" not in exc.detail:
            raise
