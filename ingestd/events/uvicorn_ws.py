"""uvicorn's sans-I/O WebSocket protocol, minus what an open event socket need not keep.

uvicorn keeps the handshake request (every header the client sent) and the 101 response on the
protocol object for the connection's whole life, though neither is read after the handshake:
~1.5 KB per idle subscriber (20.7 vs 19.2 KB each with 10,000 open, bench/events.py), which
thousands of them feel. This subclass drops both once they are used; everything else is
uvicorn's own.

It also takes pre-framed events straight to its socket (:meth:`LeanWebSocketProtocol.write_frame`):
the ASGI ``send`` path costs a task wake-up, Starlette's and uvicorn's checks and a frame built
by ``websockets``, per subscriber per event, which with 1,000 subscribers made most of an
event's latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

WS_MAX_MESSAGE = 64 * 1024  # bytes; event clients send only small pings


class _Inbox:
    """What uvicorn uses of its ``asyncio.Queue`` (``put_nowait``, ``get``, ``empty``) for the
    messages the client sent, without the four deques (~2.5 KB) an ``asyncio.Queue`` makes up
    front: a list and, only while the app waits, one future. One reader at a time (ASGI)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as ``uvicorn.run(..., ws=LeanWebSocketProtocol)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Any = _Inbox()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope (built by the call above) has the headers the app needs; the request object
        # is never read again.
        self.request: Any = None

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after writing the 101 response, which it reads only
        # before that. A hook here rather than in ``send``: ``send`` runs per event.
        super().start_keepalive()
        self.response: Any = None

    def write_frame(self, frame: bytes) -> bool:
        """Write one pre-encoded server frame (:func:`~ingestd.events.envelope.text_frame`) to
        the socket, bypassing ASGI; False, writing nothing, when ``send`` would not write now.

        That is: the socket's write buffer is past its high-water mark (``send`` would wait for
        it to drain; the caller buffers the event in its bounded queue instead), the connection
        is closing or closed, or it negotiated an extension that changes frames (compression).
        The ``websockets`` state machine need not see these frames: it tracks only fragmented
        and control frames on the way out.
        """
        if (
            self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.extensions
            or self.transport.is_closing()
        ):
            return False
        try:
            self.transport.write(frame)
        except (OSError, RuntimeError):
            # A transport that broke under us: the consumer's own send finds out and ends the
            # session; the fan-out to everyone else must go on.
            return False
        return True


def frame_writer(send: Callable[..., Any]) -> LeanWebSocketProtocol | None:
    """The connection behind an ASGI ``send`` when it is our protocol's own (event sockets are
    dispatched ahead of every middleware: see ingestd/api/app.py); None for any other server or
    a wrapped ``send``, which then take the ASGI path."""
    protocol = getattr(send, "__self__", None)
    return protocol if isinstance(protocol, LeanWebSocketProtocol) else None
