"""Per-key rate limits, by route class: reads, writes, and uploaded megabytes.

Built on the ``limits`` library (moving windows). In memory by default; with ``--redis-url`` the
counters live in Redis, so every API process of a deployment shares them.
"""

from __future__ import annotations

import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import HTTPConnection

from ingestd.config import Settings
from ingestd.domain.errors import RateLimited

MB = 1024 * 1024
_UPLOAD_SUFFIXES = ("/files", "/uploads")


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._pool: Any = None
        if settings.redis_url:
            import redis.asyncio as redis  # the `redis` extra

            # Our own pool, so shutdown can close the connections it opened.
            self._pool = redis.ConnectionPool.from_url(settings.redis_url)
            storage = storage_from_string(
                f"async+{settings.redis_url}", implementation="redispy", connection_pool=self._pool
            )
        else:
            storage = storage_from_string("async+memory://")
        assert isinstance(storage, Storage)
        self._strategy = MovingWindowRateLimiter(storage)
        self._limits: dict[str, RateLimitItem] = {
            "read": parse(settings.rate_limit_reads),
            "write": parse(settings.rate_limit_writes),
            "upload": parse(settings.rate_limit_upload_mb),
        }
        self.enabled = settings.rate_limits

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    def _classify(self, request: HTTPConnection) -> tuple[str, int]:
        # A WebSocket (no method) is a read: it opens a stream of events.
        if request.scope.get("method", "GET") in ("GET", "HEAD", "OPTIONS"):
            return "read", 1
        path = request.url.path.rstrip("/")
        if path.endswith(_UPLOAD_SUFFIXES) or "/uploads/" in path:
            length = int(request.headers.get("content-length") or 0)
            return "upload", max(1, -(-length // MB))  # whole megabytes, rounded up
        return "write", 1

    async def check(self, request: HTTPConnection, key_id: str) -> dict[str, str]:
        """Count this request (or WebSocket) against the key; raise ``RateLimited`` (429) when
        over."""
        if not self.enabled:
            return {}
        kind, cost = self._classify(request)
        item = self._limits[kind]
        allowed = await self._strategy.hit(item, "ingestd", kind, key_id, cost=cost)
        stats = await self._strategy.get_window_stats(item, "ingestd", kind, key_id)
        reset = max(1, int(stats.reset_time - time.time()) + 1)
        headers = {
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(max(stats.remaining, 0)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{item.amount};w={item.get_expiry()};name={kind}",
        }
        if not allowed:
            unit = "MB uploaded" if kind == "upload" else f"{kind} requests"
            raise RateLimited(
                f"rate limit exceeded: {item.amount} {unit} per {item.get_expiry()} s for this key",
                retry_after=reset,
                headers=headers,
            )
        return headers
