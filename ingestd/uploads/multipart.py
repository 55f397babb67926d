"""A ``multipart/form-data`` body parsed as it arrives, file parts streamed to disk while hashed.

``request.form()`` spools every file to a temporary file and the service then copied it again
into the blob store. Here ``python-multipart``'s push parser is fed from ``request.stream()`` and
each ``file`` part goes straight into a temporary file in the blob store's ``tmp`` directory,
hashed on the way; the caller adopts it under its sha256 without another copy. A part over the
size limit is refused (413) the moment it crosses it: the rest of the body is never read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header

from ingestd.domain.errors import BadRequest, PayloadTooLarge
from ingestd.uploads.sink import HashingSink, new_sha256

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024 * 1024  # a text field (metadata JSON, seal) is small
MAX_URLENCODED = 64 * 1024


@dataclass(slots=True)
class TempPart:
    """One ``file`` part on disk under ``path`` (not yet in the blob store)."""

    filename: str | None
    path: Path
    sha256: str
    size: int


@dataclass(slots=True)
class StreamedForm:
    files: list[TempPart] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # the last value of each text field

    def discard(self) -> None:
        """Remove the temporary files (on error, or of parts the caller did not adopt)."""
        for part in self.files:
            part.path.unlink(missing_ok=True)


class _Part:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.filename: str | None = None
        self.text = bytearray()
        self.sink: HashingSink | None = None
        self.digest: Any = None
        self.handle: Any = None
        self.path: Path | None = None
        self.skip = False


async def parse_form(
    content_type: str,
    body: AsyncIterator[bytes],
    tmp_dir: Path,
    *,
    max_size: int,
    max_files: int,
    max_fields: int = 100,
    too_large: Callable[[str | None], Exception] | None = None,
) -> StreamedForm:
    """Read the whole body; file parts named ``file`` land in ``tmp_dir``. On any error every
    temporary file made so far is removed before the error propagates. A file part that passes
    ``max_size`` stops the reading at once: ``too_large(filename)`` is raised (default: a 413
    naming the limit) and the rest of the body is never read."""
    media, params = parse_options_header(content_type)
    if media == b"application/x-www-form-urlencoded":
        return await _urlencoded(body)
    if media != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("the body must be multipart/form-data with `file` parts")
    form = StreamedForm()
    parser = _FormParser(form, tmp_dir, max_size=max_size, max_files=max_files, too_large=too_large)
    multipart = MultipartParser(params[b"boundary"], parser.callbacks())
    try:
        async for chunk in body:
            multipart.write(chunk)
            await parser.drain()
        multipart.finalize()
        await parser.drain()
        if len(form.fields) > max_fields:
            raise BadRequest(f"more than {max_fields} form fields")
    except BaseException:
        await parser.abort()
        form.discard()
        raise
    return form


async def _urlencoded(body: AsyncIterator[bytes]) -> StreamedForm:
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > MAX_URLENCODED:
            raise PayloadTooLarge(
                "a url-encoded form is limited to 64 KiB; send files as multipart"
            )
    return StreamedForm(fields=dict(parse_qsl(data.decode("latin-1"), keep_blank_values=True)))


class _FormParser:
    """Callbacks record events synchronously; ``drain`` acts on them (awaiting the disk)."""

    def __init__(
        self,
        form: StreamedForm,
        tmp_dir: Path,
        *,
        max_size: int,
        max_files: int,
        too_large: Callable[[str | None], Exception] | None,
    ) -> None:
        self.form = form
        self.tmp_dir = tmp_dir
        self.max_size = max_size
        self.max_files = max_files
        self.too_large = too_large or self._too_large
        self.events: list[tuple[str, bytes | memoryview]] = []
        self.part = _Part()

    def callbacks(self) -> Any:
        def data_event(kind: str) -> Any:
            def record(data: bytes, start: int, end: int) -> None:
                # A view of an immutable chunk instead of a slice: the sink hands big ones to
                # its threads without copying (see HashingSink.write).
                piece = memoryview(data)[start:end] if isinstance(data, bytes) else data[start:end]
                self.events.append((kind, piece))

            return record

        def plain_event(kind: str) -> Any:
            def record() -> None:
                self.events.append((kind, b""))

            return record

        return {
            "on_part_begin": plain_event("begin"),
            "on_part_data": data_event("data"),
            "on_part_end": plain_event("end"),
            "on_header_field": data_event("field"),
            "on_header_value": data_event("value"),
            "on_header_end": plain_event("header_end"),
            "on_headers_finished": plain_event("headers_done"),
        }

    async def drain(self) -> None:
        events, self.events = self.events, []
        for kind, data in events:
            await self._handle(kind, data)

    async def _handle(self, kind: str, data: bytes | memoryview) -> None:
        part = self.part
        if kind == "begin":
            self.part = _Part()
        elif kind == "field":
            part.header_field += data
        elif kind == "value":
            part.header_value += data
        elif kind == "header_end":
            part.headers[bytes(part.header_field).lower()] = bytes(part.header_value)
            part.header_field.clear()
            part.header_value.clear()
        elif kind == "headers_done":
            self._start(part)
        elif kind == "data":
            await self._data(part, data)
        elif kind == "end":
            await self._end(part)

    def _start(self, part: _Part) -> None:
        _disposition, options = parse_options_header(part.headers.get(b"content-disposition"))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        part.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
        if raw_filename is None:
            return
        if part.name != FILE_FIELD:
            part.skip = True  # a file under another name: not ours, as before
            return
        if len(self.form.files) >= self.max_files:
            raise BadRequest(f"more than {self.max_files} files in one request")
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".part")
        part.path = Path(name)
        part.handle = os.fdopen(fd, "wb")
        part.digest = new_sha256()
        part.sink = HashingSink(part.handle, [part.digest])

    async def _data(self, part: _Part, data: bytes | memoryview) -> None:
        if part.skip:
            return
        if part.sink is None:
            part.text += data
            if len(part.text) > MAX_FIELD_BYTES:
                raise PayloadTooLarge(f"the form field {part.name!r} is over 1 MiB")
            return
        if part.sink.size + len(data) > self.max_size:
            raise self.too_large(part.filename)
        await part.sink.write(data)

    def _too_large(self, filename: str | None) -> Exception:
        return PayloadTooLarge(f"{filename!r} is larger than the {self.max_size}-byte upload limit")

    async def _end(self, part: _Part) -> None:
        if part.skip:
            return
        if part.sink is None:
            self.form.fields[part.name] = part.text.decode("utf-8", "replace")
            return
        await part.sink.finish()
        part.handle.close()
        assert part.path is not None
        self.form.files.append(
            TempPart(part.filename, part.path, part.digest.hexdigest(), part.sink.size)
        )
        part.sink = None
        part.path = None

    async def abort(self) -> None:
        """Close and remove a file part cut off mid-way."""
        part = self.part
        if part.sink is not None:
            await part.sink.settle()
        if part.handle is not None:
            with contextlib.suppress(OSError):
                part.handle.close()
        if part.path is not None:
            part.path.unlink(missing_ok=True)
