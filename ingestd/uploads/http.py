"""uvicorn's httptools protocol with a wider receive window for request bodies.

uvicorn stops reading a connection once 64 KiB of body wait for the app (its fixed
``HIGH_WATER_LIMIT``) and hands them over as one ``http.request`` message, so a 1 GB upload
reaches the app as ~4,000-16,000 messages, each one a trip through the middleware stack, the
request stream and the upload sink. With a window of ``BODY_WINDOW`` bytes a message carries up
to that much whenever the app is the slower side (the case that matters), and the per-message
cost shrinks about tenfold. Back-pressure is unchanged in kind: at most one window of body is
buffered per connection. uvicorn has no option for this, hence the subclass; ``on_body`` is
uvicorn's own, with the limit swapped.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BODY_WINDOW = 1024 * 1024  # bytes of request body buffered per connection before pausing reads


class WideWindowHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.run(..., http=WideWindowHttpToolsProtocol)``."""

    def on_body(self, body: bytes) -> None:
        if (
            self.parser.should_upgrade() and self._should_upgrade()
        ) or self.cycle.response_complete:
            return
        self.cycle.body += body
        if len(self.cycle.body) > BODY_WINDOW:
            self.flow.pause_reading()
        self.cycle.message_event.set()
