"""Addresses that settings name, parsed without any I/O: the ClamAV daemon and the outbound
allowlist. Settings validate with these at start; the scanner and the outbound guard use them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CLAMD_DEFAULT_PORT = 3310


@dataclass(frozen=True, slots=True)
class ClamdAddress:
    """Where clamd listens: a TCP ``(host, port)`` or a unix socket ``path``."""

    host: str | None = None
    port: int = CLAMD_DEFAULT_PORT
    path: str | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix://{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_clamd_url(url: str) -> ClamdAddress:
    """``tcp://host[:port]`` (port 3310 by default) or ``unix:///path/to/clamd.ctl``.

    >>> parse_clamd_url("tcp://127.0.0.1:3310")
    ClamdAddress(host='127.0.0.1', port=3310, path=None)

    Raises ``ValueError`` with a message naming the accepted forms.
    """
    forms = "expected tcp://HOST:PORT or unix:///PATH"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid clamd address {url!r}: {exc}; {forms}") from None
    if parts.scheme == "unix" and parts.path and not parts.netloc:
        return ClamdAddress(path=parts.path)
    if parts.scheme == "tcp" and parts.hostname and parts.path in ("", "/"):
        return ClamdAddress(host=parts.hostname, port=port or CLAMD_DEFAULT_PORT)
    raise ValueError(f"invalid clamd address {url!r}: {forms}")


def parse_outbound_allow(entries: Iterable[str]) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """``INGESTD_OUTBOUND_ALLOW`` entries → (networks, host names); a malformed entry raises
    ``ValueError`` naming it. Networks are CIDRs or single addresses; host names are
    ``files.corp`` or ``*.corp`` (lower-cased)."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.removeprefix("*.")
        if not name or any(c in name for c in "/:@ *") or name.startswith("."):
            raise ValueError(f"outbound allowlist entry {raw!r} is not a CIDR or host name")
        hosts.add(entry)
    return tuple(networks), frozenset(hosts)


__all__ = ["CLAMD_DEFAULT_PORT", "ClamdAddress", "parse_clamd_url", "parse_outbound_allow"]
