"""Outbound safety: webhooks must not reach loopback, private, link-local or metadata addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "localhost"})


class UnsafeTarget(Exception):
    """The URL is not http(s) or points at an address webhooks may not reach."""


def check_url_syntax(url: str) -> str:
    """The URL's host, after checking the scheme; raises :class:`UnsafeTarget`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("the url must be http:// or https:// with a host")
    return parts.hostname


def is_blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_literal(url: str) -> None:
    """Reject, without DNS, a URL whose host is a blocked IP literal or a well-known local name."""
    host = check_url_syntax(url)
    if host.lower() in METADATA_HOSTS or host.lower().endswith(".localhost"):
        raise UnsafeTarget(f"{host} is a local address")
    try:
        blocked = is_blocked(host)
    except ValueError:
        return  # a name: resolved at delivery
    if blocked:
        raise UnsafeTarget(f"{host} is a private, loopback or link-local address")


async def check_resolved(url: str) -> None:
    """Resolve the host and refuse if any address it has is blocked."""
    check_literal(url)
    host = check_url_syntax(url)
    port = urlsplit(url).port or 443
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if is_blocked(address):
            raise UnsafeTarget(f"{host} resolves to a blocked address ({address})")
