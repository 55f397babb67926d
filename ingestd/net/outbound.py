"""Outbound requests made on a user's behalf (URL sources, webhooks) may not reach this machine,
its private networks or a cloud metadata service — unless the operator's allowlist says so.

Three places check, so that nothing slips between them:

- :func:`check_url` — the URL's syntax (http/https, a host, a valid port), without DNS;
- :func:`check_literal` — the same plus a host that is itself a refused IP literal or local name;
- :class:`GuardedBackend` — at connect time, on every connection (so every redirect hop): the
  host is resolved, every address it has is classified, and the socket is opened to an address
  that passed. Connecting to the address that was checked is what defeats DNS rebinding (a name
  that answers "public" to the check and "127.0.0.1" to the connect). TLS still uses the host
  name for SNI and certificate checks: httpcore passes the origin's host to ``start_tls``.

:func:`guarded_client` builds an ``httpx.AsyncClient`` on that backend with proxies from the
environment ignored (a proxy would do the connecting for us, unchecked) and redirects left to
:func:`send_following`, which bounds them and re-checks each target's syntax.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore
import httpx

from ingestd.domain.addresses import parse_outbound_allow

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_CHARS = 8192
# Cloud metadata services (AWS, ECS, GCP, Azure, Alibaba, Oracle): reachable only when the
# allowlist names the exact address, never through a wider allowed network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.253",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "100.100.100.200",
        "192.0.0.192",
    )
)
LOCAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """The URL may not be fetched: bad syntax, or a refused address. ``str()`` says why."""


def classify(address: str | IPAddress) -> str | None:
    """Why ``address`` may not be reached (``"loopback"``, ``"private"``, ``"metadata"``, …),
    or None when it is a public address. IPv6 forms that embed an IPv4 address (mapped
    ``::ffff:a.b.c.d``, 6to4, NAT64, Teredo) are judged by the embedded address too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if ip in METADATA_ADDRESSES:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return classify(ip.ipv4_mapped)  # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket
    for embedded in _embedded_ipv4(ip):
        reason = classify(embedded)
        if reason is not None:
            return reason
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None if ip.is_global else "not globally routable"


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.sixtofour] if ip.sixtofour is not None else []
    if ip.teredo is not None:
        found.append(ip.teredo[1])
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What the operator allows beyond public addresses: networks (CIDRs or single addresses)
    and host names (``files.corp`` or ``*.corp``, matched case-insensitively).

    ``allow_all`` turns the guard off (the old ``INGESTD_WEBHOOK_ALLOW_PRIVATE=true``).
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)
    allow_all: bool = False

    @classmethod
    def parse(cls, entries: Iterable[str], *, allow_all: bool = False) -> OutboundPolicy:
        """Build from setting entries; a malformed one raises ValueError naming it."""
        networks, hosts = parse_outbound_allow(entries)
        return cls(networks, hosts, allow_all)

    def permits_host(self, host: str) -> bool:
        """Whether the allowlist names this host (then any address it resolves to is fine)."""
        host = host.lower().rstrip(".")
        return self.allow_all or any(
            host == h or (h.startswith("*.") and host.endswith(h[1:])) for h in self.hosts
        )

    def refusal(self, host: str, address: str) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None."""
        if self.permits_host(host):
            return None
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = classify(ip)
        if reason is None:
            return None
        exact = reason == "metadata"  # only an exact entry unlocks a metadata address
        for network in self.networks:
            if ip in network and (not exact or network.prefixlen == network.max_prefixlen):
                return None
        return f"{host} resolves to a {reason} address ({ip})"


DENY_PRIVATE = OutboundPolicy()


def check_url(url: str) -> SplitResult:
    """Refuse what no outbound request may be: not http(s), no host, spaces, a bad port."""
    if len(url) > MAX_URL_CHARS:
        raise OutboundRefused(f"the url is longer than {MAX_URL_CHARS} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise OutboundRefused("the url contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("the url must be http:// or https:// with a host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise OutboundRefused(f"bad port in the url: {exc}") from None
    return parts


def check_literal(url: str, policy: OutboundPolicy = DENY_PRIVATE) -> None:
    """:func:`check_url`, and refuse, without DNS, a host that is a refused IP literal or a
    local name (``localhost``, ``*.localhost``, metadata names)."""
    host = check_url(url).hostname or ""
    if policy.permits_host(host):
        return
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        if not any(ipaddress.ip_address("127.0.0.1") in n for n in policy.networks):
            raise OutboundRefused(f"{host} is a local name")
        return
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return  # a name: judged by its addresses when connecting
    reason = policy.refusal(host, host)
    if reason is not None:
        raise OutboundRefused(reason)


async def resolve_checked(
    host: str, port: int, policy: OutboundPolicy, *, resolve_seconds: float | None = None
) -> list[str]:
    """The addresses of ``host``, all of them allowed; raises :class:`OutboundRefused` if any
    is refused (a name that mixes public and private answers is not trusted with either)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(resolve_seconds):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = policy.refusal(host, address)
        if reason is not None:
            raise OutboundRefused(reason)
    return addresses


async def check_resolved(url: str, policy: OutboundPolicy = DENY_PRIVATE) -> None:
    """Resolve the URL's host and refuse if any address it has is refused."""
    check_literal(url, policy)
    parts = check_url(url)
    default = 443 if parts.scheme.lower() == "https" else 80
    await resolve_checked(parts.hostname or "", parts.port or default, policy)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check in ``connect_tcp``: resolve, classify, connect
    to an address that passed. ``start_tls`` is the inner stream's, given the host name."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self.policy, resolve_seconds=timeout)
        last: Exception | None = None
        for address in addresses:  # the first that answers, like a normal connect
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not outbound targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, error translation, streaming) over a connection
    pool whose every connection goes through :class:`GuardedBackend`."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=5)
        # httpx has no public hook for a network backend: swap the pool it built for one that
        # has ours. tests/net/test_outbound.py checks the swap still takes effect.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def guarded_client(
    policy: OutboundPolicy,
    *,
    timeout: httpx.Timeout,
    headers: dict[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An httpx client whose connections are checked; it follows no redirects by itself.
    ``ssl_context``: certificates to trust instead of the default bundle (tests use their own)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, ssl_context=ssl_context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )


class TooManyRedirects(Exception):
    """More redirects than allowed."""


async def send_following(
    client: httpx.AsyncClient, request: httpx.Request, *, max_redirects: int
) -> httpx.Response:
    """Send ``request`` with a streamed body, following at most ``max_redirects`` redirects;
    each hop's URL is checked (:func:`check_url`) and its connection by the client's backend.
    The caller closes the returned response."""
    response = await client.send(request, stream=True)
    for _ in range(max_redirects):
        if not response.has_redirect_location:
            return response
        await response.aclose()
        target = _next_request(client, response)
        response = await client.send(target, stream=True)
    if response.has_redirect_location:
        await response.aclose()
        raise TooManyRedirects(f"more than {max_redirects} redirects")
    return response


def _next_request(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Request:
    location = response.headers["location"]
    url = response.request.url.join(location)
    check_url(str(url))
    method = "GET" if response.status_code == 303 else response.request.method
    # Headers of the first request stay only on the same origin (no Authorization leak).
    before = response.request.url
    same_origin = (url.scheme, url.host, url.port) == (before.scheme, before.host, before.port)
    headers = dict(response.request.headers) if same_origin else {}
    for name in ("host", "content-length", "content-type"):
        headers.pop(name, None)
    return client.build_request(method, url, headers=headers)


def policy_from(entries: Sequence[str], *, allow_all: bool = False) -> OutboundPolicy:
    """The policy of the ``outbound_allow`` setting (see :meth:`OutboundPolicy.parse`)."""
    return OutboundPolicy.parse(entries, allow_all=allow_all)


__all__ = [
    "DENY_PRIVATE",
    "GuardedBackend",
    "GuardedTransport",
    "OutboundPolicy",
    "OutboundRefused",
    "TooManyRedirects",
    "check_literal",
    "check_resolved",
    "check_url",
    "classify",
    "guarded_client",
    "policy_from",
    "resolve_checked",
    "send_following",
]
