"""A loopback HTTP proxy in front of the moto server, to make AWS slow or lossy on purpose.

``decide(method, path)`` says what to do with each request: forward it (after ``delay``
seconds), answer it itself, or forward it and then lose the answer (stall, then close). The
deploy tests and ``benchmarks/bench_deploy.py`` point ``AWS_ENDPOINT_URL`` at it.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator

import attrs


@attrs.frozen
class Forward:
    delay: float = 0.0


@attrs.frozen
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Stall:
    """Send the request on, then keep the answer for ``seconds`` and drop the connection."""

    seconds: float


Decision = Forward | Answer | Stall
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        decision = self.server.decide(self.command, self.path)
        with self.server.lock:
            self.server.seen.append((self.command, self.path))
        if isinstance(decision, Answer):
            self._reply(decision.status, list(decision.headers), decision.body)
            return
        if isinstance(decision, Forward) and decision.delay:
            time.sleep(decision.delay)
        status, headers, answer = self.server.forward(self.command, self.path, self.headers, body)
        if isinstance(decision, Stall):
            time.sleep(decision.seconds)
            self.close_connection = True
            return
        self._reply(status, headers, answer)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, decide: Callable[[str, str], Decision]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.decide = decide
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._local = threading.local()

    def forward(
        self, method: str, path: str, headers: object, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        sent = {
            name: value
            for name, value in headers.items()  # type: ignore[attr-defined]
            if name.lower() not in _HOP_BY_HOP
        }
        for attempt in range(2):  # a kept-alive upstream connection may have been closed
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(*self.upstream, timeout=30)
                self._local.connection = connection
            try:
                connection.request(method, path, body=body, headers=sent)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


@contextlib.contextmanager
def proxy(upstream: str, decide: Callable[[str, str], Decision]) -> Iterator[_Server]:
    """A proxy to ``upstream`` on a free loopback port; ``server.url`` is its address."""
    server = _Server(upstream, decide)
    thread = threading.Thread(target=server.serve_forever, name="fw-test-proxy", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
