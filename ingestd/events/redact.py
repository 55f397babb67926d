"""Keep API keys passed as ``?token=`` (WebSocket and EventSource clients) out of the logs.

uvicorn logs each WebSocket handshake with its query string; this filter rewrites the record.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"([?&](?:token|api_key|key)=)[^&\s\"']+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        if "=" in message and _TOKEN.search(message):
            record.msg = _TOKEN.sub(r"\1***", message)
            record.args = None
        return True


def install() -> None:
    """Idempotent: add the filter to the loggers that print request lines."""
    for name in ("uvicorn.error", "uvicorn.access", "ingestd"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
