"""The clamd client against a real ClamAV daemon (started here with the EICAR signature only),
plus a few fake peers for the failures a real clamd cannot be made to show on demand."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestd.config import Settings
from ingestd.domain.errors import FileError
from ingestd.pipeline import scan
from ingestd.pipeline.scan import ClamdAddress, ClamdScanner, parse_clamd_url
from tests.clamd import EICAR, SIGNATURE, STREAM_MAX_BYTES, Clamd, running_clamd


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    with running_clamd(tmp_path_factory.mktemp("clamd")) as daemon:
        yield daemon


@pytest.fixture(params=["tcp", "unix"])
def scanner(request: pytest.FixtureRequest, clamd: Clamd) -> ClamdScanner:
    url = clamd.tcp_url if request.param == "tcp" else clamd.unix_url
    return ClamdScanner.from_url(url, timeout=30)


def _scan_error(scanner: ClamdScanner, path: Path) -> FileError:
    with pytest.raises(FileError) as caught:
        scanner.scan_file(path)
    assert "Traceback" not in caught.value.message
    return caught.value


# -- addresses ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("tcp://127.0.0.1:3310", ClamdAddress(host="127.0.0.1", port=3310)),
        ("tcp://clamav.internal", ClamdAddress(host="clamav.internal", port=3310)),
        ("tcp://[::1]:9999/", ClamdAddress(host="::1", port=9999)),
        (" unix:///run/clamav/clamd.ctl ", ClamdAddress(path="/run/clamav/clamd.ctl")),
    ],
)
def test_addresses_are_parsed(url: str, address: ClamdAddress) -> None:
    assert parse_clamd_url(url) == address
    assert parse_clamd_url(str(address)) == address  # str() gives a URL back


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:3310",
        "http://127.0.0.1:3310",
        "tcp://",
        "tcp://host:99999",
        "unix://",
        "tcp://h/x",
    ],
)
def test_bad_addresses_name_the_accepted_forms(url: str) -> None:
    with pytest.raises(ValueError, match="tcp://HOST:PORT or unix:///PATH"):
        parse_clamd_url(url)


def test_the_setting_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGESTD_CLAMD", "tcp://127.0.0.1:3310")
    assert Settings().clamd == "tcp://127.0.0.1:3310"
    monkeypatch.setenv("INGESTD_CLAMD", "")
    assert Settings().clamd is None
    monkeypatch.setenv("INGESTD_CLAMD", "clamd.example:3310")
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        Settings()


# -- a real clamd -------------------------------------------------------------------------------
def test_a_clean_file_passes(scanner: ClamdScanner, tmp_path: Path) -> None:
    scanner.ping()
    path = tmp_path / "clean.txt"
    path.write_bytes(b"nothing to see here\n" * 1000)
    scanner.scan_file(path)


def test_the_eicar_file_is_malware(scanner: ClamdScanner, tmp_path: Path) -> None:
    path = tmp_path / "eicar.com"
    path.write_bytes(EICAR)
    error = _scan_error(scanner, path)
    assert error.code == "malware_detected" and not error.retryable
    assert SIGNATURE in error.message


def test_a_signature_across_chunk_boundaries_is_found(
    scanner: ClamdScanner, tmp_path: Path
) -> None:
    # The file goes in CHUNK_BYTES pieces; clamd must see one stream, not separate pieces.
    path = tmp_path / "hidden.bin"
    start = scan.CHUNK_BYTES - len(EICAR) // 2
    path.write_bytes(b"\0" * start + EICAR + b"\0" * 1000)
    assert _scan_error(scanner, path).code == "malware_detected"


def test_a_file_over_the_stream_limit_is_not_mistaken_for_a_dead_scanner(
    scanner: ClamdScanner, tmp_path: Path
) -> None:
    # clamd answers "size limit exceeded" and hangs up while we are still sending.
    path = tmp_path / "big.bin"
    with path.open("wb") as handle:
        for _ in range(4 * STREAM_MAX_BYTES // scan.CHUNK_BYTES):
            handle.write(b"a" * scan.CHUNK_BYTES)
    error = _scan_error(scanner, path)
    assert error.code == "scan_limit_exceeded", error.message
    assert "StreamMaxLength" in error.message and not error.retryable
    scanner.ping()  # and clamd is fine afterwards


def test_a_missing_file_is_an_access_error(scanner: ClamdScanner, tmp_path: Path) -> None:
    assert _scan_error(scanner, tmp_path / "gone").code == "access_error"


# -- no scanner -----------------------------------------------------------------------------
def test_an_unreachable_scanner_fails_the_file_retryably(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_text("hello")
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        for url in (f"tcp://127.0.0.1:{port}", f"unix://{tmp_path / 'no.sock'}"):
            error = _scan_error(ClamdScanner.from_url(url, timeout=5), path)
            assert error.code == "scan_unavailable" and error.retryable
            assert url in error.message
            with pytest.raises(FileError, match="is not available"):
                ClamdScanner.from_url(url).ping()


# -- fake peers: misbehaviour a real clamd won't show on demand ------------------------------
@contextmanager
def fake_clamd(reply: Callable[[socket.socket], object]) -> Iterator[str]:
    """A TCP peer that hands each connection to ``reply``, one at a time."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, suppress(OSError):
                conn.settimeout(5)
                reply(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


def answer_after_stream(answer: bytes) -> Callable[[socket.socket], None]:
    def reply(conn: socket.socket) -> None:
        received = b""
        while not received.endswith(b"\0\0\0\0"):  # INSTREAM's zero-length end chunk
            data = conn.recv(65536)
            if not data:
                return
            received += data
        conn.sendall(answer)

    return reply


@pytest.mark.parametrize(
    ("answer", "code", "retryable"),
    [
        (b"stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND\0", "scan_limit_exceeded", False),
        (b"stream: Can't allocate memory ERROR\0", "scan_error", True),
        (b"HELLO?\0", "scan_error", True),
        (b"", "scan_unavailable", True),  # hangs up without a word
        (b"x" * 10_000, "scan_unavailable", True),  # not clamd: an endless answer
    ],
)
def test_bad_answers_get_clear_codes(
    answer: bytes, code: str, retryable: bool, tmp_path: Path
) -> None:
    path = tmp_path / "file.txt"
    path.write_text("hello")
    with fake_clamd(answer_after_stream(answer)) as url:
        error = _scan_error(ClamdScanner.from_url(url, timeout=5), path)
    assert (error.code, error.retryable) == (code, retryable), error.message


def test_a_scanner_that_never_answers_times_out(tmp_path: Path) -> None:
    path = tmp_path / "file.txt"
    path.write_text("hello")
    release = threading.Event()
    with fake_clamd(lambda conn: release.wait(10)) as url:
        try:
            error = _scan_error(ClamdScanner.from_url(url, timeout=0.5), path)
        finally:
            release.set()
    assert error.code == "scan_unavailable" and "no verdict within 0.5 s" in error.message
