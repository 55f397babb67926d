"""uvicorn's httptools protocol with a wider receive window for request bodies.

uvicorn stops reading a connection once 64 KiB of body wait for the app (its fixed
``HIGH_WATER_LIMIT``) and hands them over as one ``http.request`` message, so a 1 GB upload
reaches the app as ~4,000-16,000 messages, each one a trip through the middleware stack, the
request stream and the upload sink. With a window of ``BODY_WINDOW`` bytes a message carries up
to that much whenever the app is the slower side (the case that matters), and the per-message
cost shrinks about tenfold. Back-pressure is unchanged in kind: at most one window of body is
buffered per connection. uvicorn has no option for this, hence the subclass; ``on_body`` is
uvicorn's own, with the limit swapped and the body gathered as pieces (see ``_Pieces``).

The first connection also tunes glibc's allocator for these messages (``keep_heap_for_bodies``).
"""

from __future__ import annotations

import ctypes
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BODY_WINDOW = 1024 * 1024  # bytes of request body buffered per connection before pausing reads
# glibc mallopt(3) parameters, and the values set (bytes): see keep_heap_for_bodies
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 * 1024 * 1024  # above the largest body message (the window + one read)
TRIM_THRESHOLD = 32 * 1024 * 1024  # free memory kept at the top of the heap

_heap_tuned: bool | None = None  # None: not tried yet


def keep_heap_for_bodies() -> bool:
    """Let glibc reuse the memory of body messages instead of returning it to the kernel.

    Each ~1 MB body message is a fresh ``bytes``. With glibc's defaults it is either ``mmap``-ed
    or carved from the top of the heap, which is trimmed again once the message is freed; either
    way the next message's pages are new to the process, and the kernel faults in and zeroes
    every 4 KB of them: ~100,000 page faults and ~0.3 CPU-s per GB uploaded (measured with
    ``bench/uploads.py``). Serving such sizes from the heap and keeping up to ``TRIM_THRESHOLD``
    of free heap makes it a few thousand. The memory kept is what the busiest moment used (a few
    MB per upload in flight), not more. A no-op (False) where the C library is not glibc.
    """
    global _heap_tuned
    if _heap_tuned is None:
        try:
            mallopt: Any = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            _heap_tuned = False
        else:
            _heap_tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            )
    return _heap_tuned


class _Pieces:
    """The body gathered for the next ``http.request`` message, as the pieces httptools gave.

    uvicorn keeps it in a ``bytearray`` (``+=`` copies every piece in, with reallocations) and
    hands the app ``bytes(body)`` (a second copy). Keeping the pieces and joining them once in
    ``bytes()`` copies each byte once — and not at all when one piece is the whole message
    (``b"".join`` returns a lone ``bytes`` as it is). It offers exactly what uvicorn's cycle
    uses of its body: ``+=``, ``len`` and ``bytes()``.
    """

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def __iadd__(self, piece: bytes) -> _Pieces:
        self.parts.append(piece)
        self.size += len(piece)
        return self

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


class WideWindowHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.run(..., http=WideWindowHttpToolsProtocol)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        keep_heap_for_bodies()  # once per process; see there
        super().__init__(*args, **kwargs)

    def on_body(self, body: bytes) -> None:
        if (
            self.parser.should_upgrade() and self._should_upgrade()
        ) or self.cycle.response_complete:
            return
        gathered = self.cycle.body
        if not isinstance(gathered, _Pieces):  # uvicorn starts each message with a bytearray
            pieces = _Pieces()
            if gathered:
                pieces += bytes(gathered)
            self.cycle.body = gathered = pieces  # type: ignore[assignment]
        gathered += body
        if len(gathered) > BODY_WINDOW:
            self.flow.pause_reading()
        self.cycle.message_event.set()
