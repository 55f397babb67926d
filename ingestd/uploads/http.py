"""uvicorn's httptools protocol with a wider receive window for request bodies.

uvicorn stops reading a connection once 64 KiB of body wait for the app (its fixed
``HIGH_WATER_LIMIT``) and hands them over as one ``http.request`` message, so a 1 GB upload
reaches the app as ~4,000-16,000 messages, each one a trip through the middleware stack, the
request stream and the upload sink. With a window of ``BODY_WINDOW`` bytes a message carries up
to that much whenever the app is the slower side (the case that matters), and the per-message
cost shrinks about tenfold. Back-pressure is unchanged in kind: at most one window of body is
buffered per connection. uvicorn has no option for this, hence the subclass; ``on_body`` is
uvicorn's own, with the limit swapped and the body gathered as pieces (see ``_Pieces``).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BODY_WINDOW = 1024 * 1024  # bytes of request body buffered per connection before pausing reads


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
