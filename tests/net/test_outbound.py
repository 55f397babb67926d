"""The outbound guard: address classification, the allowlist, URL syntax, and the guarded client
against real loopback servers (plain HTTP, and HTTPS with a throwaway CA for SNI)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme

from ingestd.config import Settings
from ingestd.net.outbound import (
    DENY_PRIVATE,
    OutboundPolicy,
    OutboundRefused,
    TooManyRedirects,
    check_literal,
    check_url,
    classify,
    guarded_client,
    resolve_checked,
    send_following,
)
from tests.loopback import serve_on_loopback
from tests.net.origin import Origin

TIMEOUT = httpx.Timeout(5.0)
LOOPBACK = OutboundPolicy.parse(["127.0.0.1"])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("127.0.0.1", "loopback"),
        ("127.5.6.7", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("192.0.0.192", "metadata"),
        ("100.64.0.1", "not globally routable"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("2606:4700:4700::1111", None),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fd12:3456::1", "private"),
        ("fd00:ec2::254", "metadata"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:8.8.8.8", None),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
    ],
)
def test_classify(address: str, reason: str | None) -> None:
    assert classify(address) == reason


def test_policy_allows_networks_and_names() -> None:
    policy = OutboundPolicy.parse(["127.0.0.1", "10.0.0.0/8", "files.corp", "*.internal.example"])
    assert policy.refusal("h", "127.0.0.1") is None
    assert policy.refusal("h", "10.9.8.7") is None
    assert "loopback" in (policy.refusal("h", "127.0.0.2") or "")
    assert "private" in (policy.refusal("h", "192.168.0.1") or "")
    assert policy.refusal("h", "8.8.8.8") is None  # public addresses need no entry
    assert policy.refusal("FILES.corp.", "192.168.0.1") is None  # a named host: any address
    assert policy.refusal("a.internal.example", "192.168.0.1") is None
    assert policy.refusal("internal.example", "192.168.0.1") is not None


def test_metadata_needs_an_exact_entry() -> None:
    wide = OutboundPolicy.parse(["169.254.0.0/16", "0.0.0.0/0"])
    assert wide.refusal("h", "169.254.1.1") is None
    assert "metadata" in (wide.refusal("h", "169.254.169.254") or "")
    assert OutboundPolicy.parse(["169.254.169.254"]).refusal("h", "169.254.169.254") is None


def test_bad_allowlist_entries_are_refused() -> None:
    for bad in ("http://x", "a b", "user@host", "*"):
        with pytest.raises(ValueError, match="not a CIDR or host name"):
            OutboundPolicy.parse([bad])


def test_allowlist_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGESTD_OUTBOUND_ALLOW", "127.0.0.1, 10.0.0.0/8,*.corp")
    assert Settings().outbound_allow == ["127.0.0.1", "10.0.0.0/8", "*.corp"]
    monkeypatch.setenv("INGESTD_OUTBOUND_ALLOW", "not/a/thing")
    with pytest.raises(ValueError, match="not a CIDR or host name"):
        Settings()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/a",
        "file:///etc/passwd",
        "https:///nohost",
        "https://exa mple.org/a",
        "https://example.org:99999/a",
        "gopher://127.0.0.1/",
        "https://example.org/\x00",
        "https://example.org/" + "a" * 9000,
    ],
)
def test_bad_url_syntax(url: str) -> None:
    with pytest.raises(OutboundRefused):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://localhost:8000/",
        "http://api.localhost/",
        "http://metadata.google.internal/",
        "http://10.0.0.1/",
    ],
)
def test_literal_local_targets_are_refused_without_dns(url: str) -> None:
    with pytest.raises(OutboundRefused):
        check_literal(url)


def test_literals_the_allowlist_permits() -> None:
    check_literal("http://127.0.0.1:9/x", LOOPBACK)
    check_literal("http://localhost:9/x", LOOPBACK)
    check_literal("https://example.org/a.pdf")


@pytest.mark.parametrize("host", ["localhost", "0x7f000001", "2130706433", "127.1"])
async def test_names_are_judged_by_what_they_resolve_to(host: str) -> None:
    # Not IP literals to ipaddress, but the resolver turns each into 127.0.0.1.
    with pytest.raises(OutboundRefused, match="loopback"):
        await resolve_checked(host, 80, DENY_PRIVATE)
    assert await resolve_checked(host, 80, LOOPBACK) == ["127.0.0.1"]


@pytest.fixture
async def origin() -> AsyncIterator[tuple[Origin, str]]:
    server = Origin()
    server.files["hello.txt"] = b"hello from loopback\n"
    async with serve_on_loopback(server) as port:
        yield server, f"http://127.0.0.1:{port}"
        server.release.set()


async def test_the_client_checks_every_connection(origin: tuple[Origin, str]) -> None:
    server, base = origin
    port = base.rsplit(":", 1)[1]
    async with guarded_client(DENY_PRIVATE, timeout=TIMEOUT) as client:
        for url in (f"{base}/f/hello.txt", f"http://localhost:{port}/f/hello.txt"):
            with pytest.raises(OutboundRefused, match="loopback"):
                await client.get(url)
    assert server.hits["/f/hello.txt"] == 0  # refused before any connection
    async with guarded_client(LOOPBACK, timeout=TIMEOUT) as client:
        response = await client.get(f"http://localhost:{port}/f/hello.txt")
        assert response.content == b"hello from loopback\n"


async def test_redirects_are_followed_and_each_hop_checked(origin: tuple[Origin, str]) -> None:
    _server, base = origin
    port = base.rsplit(":", 1)[1]
    async with guarded_client(LOOPBACK, timeout=TIMEOUT) as client:
        ok = client.build_request("GET", f"{base}/redirect?to=/f/hello.txt")
        response = await send_following(client, ok, max_redirects=3)
        assert (await response.aread()) == b"hello from loopback\n"
        for target in (f"http://127.0.0.2:{port}/f/hello.txt", "http://169.254.169.254/x"):
            hop = client.build_request("GET", f"{base}/redirect?to={target}")
            with pytest.raises(OutboundRefused):
                await send_following(client, hop, max_redirects=3)
        loop = client.build_request("GET", f"{base}/redirect?to=/redirect%3Fto%3D/f/hello.txt")
        with pytest.raises(TooManyRedirects):
            await send_following(client, loop, max_redirects=1)
        bad = client.build_request("GET", f"{base}/redirect?to=ftp://127.0.0.1/x")
        with pytest.raises(OutboundRefused, match="http"):
            await send_following(client, bad, max_redirects=3)


async def test_https_keeps_the_host_name_for_sni_and_certificates(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    server = Origin()
    server.files["secret.txt"] = b"over tls\n"
    async with serve_on_loopback(
        server, ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)
    ) as port:
        async with guarded_client(LOOPBACK, timeout=TIMEOUT, ssl_context=trusted) as client:
            # Connected to the checked 127.0.0.1, verified as "localhost": SNI and the
            # certificate check used the name, not the pinned address.
            response = await client.get(f"https://localhost:{port}/f/secret.txt")
            assert response.content == b"over tls\n"
            with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|mismatch"):
                await client.get(f"https://127.0.0.1:{port}/f/secret.txt")
        server.release.set()
