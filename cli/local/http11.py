"""HTTP/1.1 for ``fw local``: one connection's requests, parsed strictly and answered through
:class:`microframework.gateway.LocalGateway`.

One thread per connection, keep-alive by default, and a request path with no per-request imports
or reloads: parse, call the gateway, write one buffer. The parser is strict on purpose, because
API Gateway is: anything malformed gets a 400 and the connection is closed, and the server keeps
going. A client holds its thread for a bounded time only: the request head and the body each
have a total deadline (a per-``recv`` timeout alone lets a client that trickles a byte at a time
hold it forever).
"""

from __future__ import annotations

import io
import json
import re
import socket
import socketserver
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from microframework.gateway import (
    MAX_EVENT_BYTES,
    MAX_PAYLOAD_BYTES,
    BadRequest,
    GatewayResponse,
    limit_error,
)

if TYPE_CHECKING:
    from .server import LocalServer

# API Gateway takes 10,240 bytes of request line and header values at most (the gateway checks
# that exactly); these only bound what the server reads before it can ask.
MAX_LINE = 16 * 1024  # request line and each header line
MAX_HEAD = 64 * 1024  # all header lines together
MAX_HEADERS = 100
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may wait for its next request
# Total seconds for a request head to arrive (from the connection for the first request, from
# its first byte for the next ones), and for its body. 20 s lets a person type a request into
# `nc`; 60 s moves API Gateway's 10 MB payload at 1.4 Mbit/s, slower than any link fw local is
# used over. A client that misses either deadline gets a 408 and the connection closes.
HEAD_TIMEOUT = 20.0
BODY_TIMEOUT = 60.0
# After answering a request whose body it will not read, the server stops sending and reads
# (and drops) what the client still sends for this long, then closes: closing at once with
# unread data would make the kernel reset the connection, and the client could lose the answer.
LINGER_SECONDS = 2.0

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # int(x, 16) alone would take "0x5", "+5", "5_0"
# RFC 9112: a bare CR (or any control byte but tab) in a field value makes the request invalid.
_BAD_FIELD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_REASONS = {s.value: s.phrase for s in HTTPStatus}
# Framing is the server's job: never pass these through from the app's response.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class Unavailable(Exception):
    """The app cannot serve (it failed to load); the message is one line for the 500 body."""


class _Malformed(Exception):
    """The request cannot be parsed: answer 400 and close the connection."""


class Deadline(Exception):
    """The request head or body did not arrive in time: answer 408 and close."""


class _TooLarge(Exception):
    """The request head is over a size limit: answer with ``response`` and close."""

    def __init__(self, response: GatewayResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _http_date() -> str:
    now = int(time.time())
    cached = _DATE_CACHE
    if cached[0] != now:
        cached[:] = [now, formatdate(now, usegmt=True)]
    return cached[1]


_DATE_CACHE: list[Any] = [0, ""]


class _DeadlineReader(io.RawIOBase):
    """The connection's socket as a raw stream whose reads stop at ``deadline`` (monotonic).

    Without a deadline each ``recv`` waits ``idle`` seconds; with one, each waits only for what
    is left of it, and a read after it raises :class:`Deadline`.
    """

    def __init__(self, sock: socket.socket, idle: float) -> None:
        self._sock = sock
        self._idle = idle
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        timeout = self._idle
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise Deadline
        if self._sock.gettimeout() != timeout:
            self._sock.settimeout(timeout)
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            if self.deadline is None:
                raise
            if time.monotonic() < self.deadline:
                return self.readinto(buffer)  # the wait ended a hair early: the rest of it
            raise Deadline from None


class Request:
    __slots__ = (
        "method",
        "target",
        "version",
        "headers",
        "keep_alive",
        "length",
        "chunked",
        "expect_continue",
        "body_unread",
        "upgrade",
    )

    def __init__(self, method: str, target: str, version: str) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers: list[tuple[str, str]] = []
        self.keep_alive = version == "HTTP/1.1"
        self.length: int | None = None  # Content-Length, when given
        self.chunked = False
        self.expect_continue = False
        self.body_unread = False  # answered without reading the body: linger, then close
        self.upgrade = ""  # the Upgrade header, lowercased


class HttpHandler(socketserver.BaseRequestHandler):
    server: LocalServer
    request: socket.socket

    def setup(self) -> None:
        server = self.server
        self.connection = self.request
        self.connection.settimeout(server.idle_timeout)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.reader = _DeadlineReader(self.connection, server.idle_timeout)
        self.rfile = io.BufferedReader(self.reader)
        # The first request's head is due within HEAD_TIMEOUT of the connection: a client that
        # connects and says nothing holds its thread no longer than one that trickles.
        self.reader.deadline = time.monotonic() + server.head_timeout
        self._first = True

    def finish(self) -> None:
        self.rfile.close()

    def handle(self) -> None:
        self.client = self.client_address[0] if self.client_address else "-"
        try:
            while self._serve_one():
                pass
        except (TimeoutError, ConnectionError, OSError, Deadline):
            pass  # the client went away or stalled: only this connection ends

    def _serve_one(self) -> bool:
        """Read, answer and log one request; False when the connection should close."""
        reader = self.reader
        if not self._first:
            reader.deadline = None  # keep-alive: wait up to idle_timeout for the next request
        self._first = False
        try:
            if not self.rfile.peek(1):
                return False
        except (TimeoutError, Deadline):
            return False  # idle, or never sent a byte: close without an answer nobody asked for
        if reader.deadline is None:
            reader.deadline = time.monotonic() + self.server.head_timeout
        try:
            request = self._read_head()
        except Deadline:
            self.send_simple(408, "Request Timeout: the request head took too long", close=True)
            self.server.log.request(self.client, "-", "-", 408, 0, 0.0)
            return False
        except _Malformed as err:
            self.send_simple(400, f"Bad Request: {err}", close=True)
            self.server.log.request(self.client, "-", "-", 400, 0, 0.0)
            return False
        except _TooLarge as err:
            self._send(Request("GET", "-", "HTTP/1.1"), err.response, close=True)
            self.server.log.request(self.client, "-", "-", err.response.status, 0, 0.0)
            self._linger()
            return False
        if request is None:
            return False
        if request.upgrade == "websocket" and request.method == "GET":
            from .websocket import serve_upgrade

            if serve_upgrade(self, request):
                return False  # the websocket ran on this connection and has closed
        started = time.perf_counter()
        response = self._respond(request)
        elapsed = (time.perf_counter() - started) * 1000
        # Logged before sending, so a client that saw its response can count on the log line.
        self.server.log.request(
            self.client,
            request.method,
            request.target,
            response.status,
            len(response.body),
            elapsed,
        )
        self._send(request, response)
        if request.body_unread:
            self._linger()
            return False
        return request.keep_alive

    def _respond(self, request: Request) -> GatewayResponse:
        try:
            gateway = self.server.get_gateway()
        except Unavailable as err:
            self._unread(request)
            return _error(500, "AppLoadError", str(err))
        target = request.target
        if not target.startswith("/"):
            # The absolute form (a proxy-style request): keep only the path and query.
            scheme, sep, rest = target.partition("://")
            if not sep or scheme.lower() not in ("http", "https"):
                self._unread(request)
                return _error(400, "BadRequest", f"bad request target {target!r}")
            target = "/" + rest.partition("/")[2]
        try:
            if self.server.websockets.point(gateway.app):
                from .management import connection_target

                connection_id = connection_target(request.method, target)
                if connection_id is not None:
                    return self._manage(request, connection_id)
            # A head over API Gateway's quotas, or a declared body over them, is answered before
            # the body is read (and before "100 Continue", which would invite the client to send).
            declared = request.length or 0
            over = gateway.check_limits(request.method, target, request.headers, declared)
            if over is not None:
                self._unread(request)
                return over
            if declared > MAX_EVENT_BYTES:
                # Sure to be over Lambda's limit once in the event: the gateway answers what API
                # Gateway would (403, 401... or the 413) without the body.
                self._unread(request)
                return gateway.handle(
                    request.method, target, request.headers, b"", body_length=declared
                )
            body = self._read_body_in_time(request)
            if isinstance(body, GatewayResponse):
                return body
            if body is None:  # a chunked body past the payload quota: not read to its end
                self._unread(request)
                return limit_error("payload")
            return gateway.handle(request.method, target, request.headers, body)
        except BadRequest as err:
            request.keep_alive = False
            return _error(400, "BadRequest", str(err))
        except Exception as err:  # a bug below the app's own error handling: keep serving
            traceback.print_exc()
            return _error(500, "InternalServerError", f"{type(err).__name__}: {err}")

    def _read_body_in_time(self, request: Request) -> bytes | GatewayResponse | None:
        """The body, read within the body deadline; the answer to send instead when it is
        malformed or late; ``None`` for a chunked body past the payload quota."""
        try:
            self.reader.deadline = time.monotonic() + self.server.body_timeout
            return self._read_body(request)
        except _Malformed as err:
            request.keep_alive = False
            return _error(400, "BadRequest", str(err))
        except Deadline:
            self._unread(request)
            return _message(408, "Request Timeout: the request body took too long")
        finally:
            self.reader.deadline = None

    def _manage(self, request: Request, connection_id: str) -> GatewayResponse:
        """A management API (@connections) request, answered from the connection table."""
        from .management import MAX_POST_BYTES, manage, too_large

        if (request.length or 0) > MAX_POST_BYTES:
            self._unread(request)
            return too_large()
        body = self._read_body_in_time(request)
        if isinstance(body, GatewayResponse):
            return body
        if body is None or len(body) > MAX_POST_BYTES:
            if body is None:
                self._unread(request)
            return too_large()
        hub = self.server.websockets
        return manage(hub.connections, request.method, connection_id, body)

    @staticmethod
    def _unread(request: Request) -> None:
        if request.length or request.chunked:
            request.body_unread = True
            request.keep_alive = False

    def _read_head(self) -> Request | None:
        rfile = self.rfile
        line = rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # RFC 9112: ignore empty lines before a request
            line = rfile.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE:
            # Longer than any URL API Gateway accepts.
            raise _TooLarge(limit_error("url"))
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
            raise _Malformed("bad request line")
        if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise _Malformed("unsupported HTTP version")
        try:
            target = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise _Malformed("non-ASCII request target") from None
        if any(c in target for c in "\x00\t\x7f") or any(ord(c) < 32 for c in target):
            raise _Malformed("control character in request target")
        request = Request(parts[0].decode("ascii"), target, parts[2].decode("ascii"))
        connection = ""
        lengths: list[bytes] = []
        head_size = 0
        while True:
            line = rfile.readline(MAX_LINE + 1)
            if not line:
                return None  # closed mid-headers
            if line in (b"\r\n", b"\n"):
                break
            head_size += len(line)
            if len(line) > MAX_LINE or head_size > MAX_HEAD or len(request.headers) >= MAX_HEADERS:
                raise _TooLarge(limit_error("head"))
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise _Malformed("bad header line")
            value = value.strip(b" \t\r\n")
            if _BAD_FIELD_VALUE.search(value):
                raise _Malformed(f"control character in header {name.decode('ascii')!r}")
            text = value.decode("latin-1")
            key = name.decode("ascii")
            lower = key.lower()
            if lower == "content-length":
                lengths.append(text.encode("latin-1"))
            elif lower == "transfer-encoding":
                if text.lower() != "chunked":
                    raise _Malformed(f"unsupported Transfer-Encoding {text!r}")
                request.chunked = True
            elif lower == "connection":
                connection = text.lower()
            elif lower == "expect" and text.lower() == "100-continue":
                request.expect_continue = True
            elif lower == "upgrade":
                request.upgrade = text.lower()
            request.headers.append((key, text))
        if "close" in connection:
            request.keep_alive = False
        elif request.version == "HTTP/1.0" and "keep-alive" in connection:
            request.keep_alive = True
        if request.chunked and lengths:
            raise _Malformed("both Content-Length and Transfer-Encoding")
        if lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 12:
                raise _Malformed("bad Content-Length")
            request.length = int(lengths[0])
        return request

    def _read_body(self, request: Request) -> bytes | None:
        """The body (after "100 Continue" if asked); None for a chunked one over the quota."""
        if request.expect_continue and (request.length or request.chunked):
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if request.chunked:
            return self._read_chunked()
        length = request.length or 0
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise ConnectionError("client closed mid-body")
        return body

    def _read_chunked(self) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            size_text = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _Malformed("bad chunk size")
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: ignored, as API Gateway does
                break
            total += size
            if total > MAX_PAYLOAD_BYTES:
                return None  # no length up front: read up to the quota, not past it
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Malformed("bad chunk framing")
            parts.append(data)
        return b"".join(parts)

    def _linger(self) -> None:
        """Half-close, drop what the client is still sending (for a while), then close."""
        try:
            half_close_and_drain(self.connection, LINGER_SECONDS)
        except OSError:
            pass

    def _send(self, request: Request, response: GatewayResponse, close: bool = False) -> None:
        status = response.status
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
        for name, value in response.headers:
            if name.lower() in _HOP_HEADERS or "\n" in value or "\r" in value:
                continue
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(response.body)}")
        lines.append(f"Date: {_http_date()}")
        if close or not request.keep_alive:
            lines.append("Connection: close")
        elif request.version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if request.method == "HEAD":
            self.connection.sendall(head)
        else:
            self.connection.sendall(head + response.body)

    def send_simple(self, status: int, message: str, *, close: bool) -> None:
        try:
            self.connection.sendall(simple_answer(status, message, close=close))
        except OSError:
            pass


def half_close_and_drain(sock: socket.socket, seconds: float) -> None:
    """Stop sending, then read and drop what the peer still sends for up to ``seconds``.

    Closing with unread data makes the kernel send a reset, which can destroy the answer
    before the client reads it.
    """
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        if not sock.recv(1 << 16):
            break


def simple_answer(status: int, message: str, *, close: bool) -> bytes:
    """A whole response with API Gateway's error body, ``{"message": ...}``.

    The shape of the gateway's own errors ("Gateway responses for REST APIs in API Gateway":
    ``{ "message": "Missing Authentication Token" }``), for the answers only the server gives.
    """
    body = json.dumps({"message": message}).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nDate: {_http_date()}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    )
    return head.encode("latin-1") + body


def _message(status: int, message: str) -> GatewayResponse:
    body = json.dumps({"message": message}).encode("utf-8")
    return GatewayResponse(status, [("Content-Type", "application/json")], body)


def _error(status: int, code: str, message: str) -> GatewayResponse:
    body = json.dumps({"Code": code, "Message": message}).encode("utf-8")
    return GatewayResponse(status, [("Content-Type", "application/json")], body)
