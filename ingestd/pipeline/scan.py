"""Malware scanning: stream a file to a ClamAV daemon (``clamd``) before anything parses it.

The clamd protocol used is ``INSTREAM``: the command, then the file as length-prefixed chunks
(4-byte big-endian size + bytes), then a zero length, then one reply line::

    stream: OK                                  the file is clean
    stream: Win.Test.EICAR_HDB-1 FOUND          the file is infected
    INSTREAM size limit exceeded. ERROR         longer than clamd's StreamMaxLength
    <anything> ERROR                            clamd could not scan it

Why a small client here and not a PyPI one: the maintained clients (``clamdpy``,
``clamav-client``) raise a bare ``BrokenPipeError`` when clamd enforces ``StreamMaxLength`` —
clamd answers and hangs up while the client is still sending, so the one reply that says *why*
is never read. Files over the limit (25 MB by default) are common, and "too big for the scanner"
must not look like "scanner down". This client reads the reply after a failed send, bounds every
read, uses one connection per file (clamd closes it after the reply anyway) and never holds
more than one chunk of the file in memory.

Outcomes are ``FileError``s with these codes:

    malware_detected      clamd found a signature (not retryable: the bytes won't change)
    scan_limit_exceeded   the file exceeds the scanner's limits (StreamMaxLength, or
                          MaxScanSize/MaxFileSize with AlertExceedsMax); raise them in clamd.conf
    scan_unavailable      clamd is unreachable, timed out or hung up (retryable)
    scan_error            clamd answered with an error of its own (retryable)

An unreachable scanner fails the file (retryably) instead of letting it through: with
``--clamd`` set, no unscanned file is ever parsed or stored. See docs/security.md.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import BinaryIO

from ingestd.domain.addresses import ClamdAddress, parse_clamd_url
from ingestd.domain.errors import FileError

__all__ = ["ClamdAddress", "ClamdScanner", "parse_clamd_url"]

CHUNK_BYTES = 256 * 1024  # per INSTREAM chunk; clamd accepts any size up to StreamMaxLength
MAX_REPLY_BYTES = 4096  # a reply is one short line; a peer sending more is not clamd
MAX_REASON_CHARS = 200  # signature names and clamd errors are quoted in file errors
_SIZE_LIMIT_REPLY = "INSTREAM size limit exceeded"
# With AlertExceedsMax, clamd reports a file over MaxScanSize/MaxFileSize/... as "found".
_LIMIT_SIGNATURE = "Heuristics.Limits.Exceeded"


class ClamdScanner:
    """Scans files with clamd. Thread-safe (no shared state: one connection per call); the
    calls block, so async code runs them with ``asyncio.to_thread``.

    ``timeout`` (seconds) bounds connecting and each send or read; the wait for the verdict after
    the last byte is a read, so it must exceed clamd's own ``MaxScanTime`` for big files.
    """

    def __init__(self, address: ClamdAddress, *, timeout: float = 120.0) -> None:
        self.address = address
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 120.0) -> ClamdScanner:
        return cls(parse_clamd_url(url), timeout=timeout)

    def ping(self, timeout: float = 5.0) -> None:
        """Raise ``FileError("scan_unavailable")`` unless clamd answers ``PONG`` in time."""
        with self._connect(min(timeout, self.timeout)) as sock:
            self._send(sock, b"zPING\0")
            reply = self._read_reply(sock)
        if reply != "PONG":
            raise self._unavailable(f"it answered {reply[:MAX_REASON_CHARS]!r} to PING")

    def scan_file(self, path: str | os.PathLike[str]) -> None:
        """Return if clamd finds the file clean; raise ``FileError`` otherwise (codes above)."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; read chunk by chunk
        except OSError as exc:
            raise FileError(
                "access_error", f"cannot open the file to scan it: {exc.strerror}", retryable=True
            ) from None
        with handle, self._connect() as sock:
            send_error = self._stream(sock, handle)
            try:
                reply = self._read_reply(sock)
            except FileError:
                if send_error is not None:  # hung up mid-stream without saying why
                    raise self._unavailable(f"it closed the connection ({send_error})") from None
                raise
        _judge(reply)

    # -- protocol --------------------------------------------------------------------------
    def _connect(self, timeout: float | None = None) -> socket.socket:
        timeout = self.timeout if timeout is None else timeout
        try:
            if self.address.path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                try:
                    sock.connect(self.address.path)
                except OSError:
                    sock.close()
                    raise
                return sock
            assert self.address.host is not None
            # create_connection resolves the name and tries IPv4 and IPv6 addresses in turn.
            return socket.create_connection((self.address.host, self.address.port), timeout=timeout)
        except OSError as exc:
            raise self._unavailable(_os_reason(exc)) from None

    def _stream(self, sock: socket.socket, handle: BinaryIO) -> str | None:
        """Send the file; return why sending stopped early (clamd hung up), else ``None``.

        When clamd refuses more bytes (StreamMaxLength) it writes its reply and closes the
        connection while we are still sending: the send fails, but the reply is there to read.
        """
        try:
            sock.sendall(b"zINSTREAM\0")
            while chunk := handle.read(CHUNK_BYTES):
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
        except TimeoutError:
            raise self._unavailable(
                f"sending the file timed out after {self.timeout:g} s"
            ) from None
        except OSError as exc:
            return _os_reason(exc)
        return None

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError as exc:
            raise self._unavailable(_os_reason(exc)) from None

    def _read_reply(self, sock: socket.socket) -> str:
        """One NUL-terminated reply (``z`` commands), bounded in size."""
        received = bytearray()
        try:
            while b"\0" not in received and len(received) <= MAX_REPLY_BYTES:
                data = sock.recv(MAX_REPLY_BYTES)
                if not data:
                    break
                received += data
        except TimeoutError:
            raise self._unavailable(
                f"no verdict within {sock.gettimeout() or 0:g} s (raise clamd_timeout_seconds "
                "or lower clamd's MaxScanTime)"
            ) from None
        except OSError as exc:
            raise self._unavailable(_os_reason(exc)) from None
        if not received:
            raise self._unavailable("it closed the connection without an answer")
        if len(received) > MAX_REPLY_BYTES:
            raise self._unavailable("its answer is too long to be clamd's")
        return received.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def _unavailable(self, reason: str) -> FileError:
        return FileError(
            "scan_unavailable",
            f"the malware scanner (clamd at {self.address}) is not available: {reason}",
            retryable=True,
        )

    def __repr__(self) -> str:
        return f"ClamdScanner({self.address})"


def _judge(reply: str) -> None:
    """Turn clamd's INSTREAM reply into nothing (clean) or a ``FileError``."""
    if reply.startswith(_SIZE_LIMIT_REPLY):
        raise FileError(
            "scan_limit_exceeded",
            "the file is larger than the malware scanner accepts (clamd's StreamMaxLength); "
            "raise StreamMaxLength in clamd.conf to scan it",
        )
    result = reply.removeprefix("stream:").strip()
    if result == "OK":
        return
    if result.endswith(" FOUND"):
        name = _quote(result.removesuffix(" FOUND").strip())
        if name.startswith(_LIMIT_SIGNATURE):
            raise FileError(
                "scan_limit_exceeded",
                f"the file exceeds the malware scanner's limits ({name}); raise MaxScanSize, "
                "MaxFileSize or MaxRecursion in clamd.conf to scan it",
            )
        raise FileError("malware_detected", f"the malware scanner found {name} in the file")
    if result.endswith("ERROR"):
        reason = _quote(result.removesuffix("ERROR").strip().rstrip("."))
        raise FileError(
            "scan_error", f"the malware scanner could not scan the file: {reason}", retryable=True
        )
    raise FileError(
        "scan_error",
        f"the malware scanner gave an unexpected answer: {_quote(reply)}",
        retryable=True,
    )


def _quote(text: str) -> str:
    # The reply comes from another process: keep it printable and short in our error messages.
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(printable) > MAX_REASON_CHARS:
        return printable[: MAX_REASON_CHARS - 3] + "..."
    return printable


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
