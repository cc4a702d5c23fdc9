"""The listening socket of ``fw local``: one thread per connection, up to a cap.

HTTP connections and websockets have caps of their own. A websocket starts as an HTTP request
on an HTTP slot and, once its upgrade is valid, moves to a websocket slot: hundreds of open
websockets (idle for minutes, as API Gateway allows) then never take the slots HTTP clients
need, and HTTP clients never keep a websocket from staying open. The 100 HTTP slots still guard
the handshake itself, so a flood of idle HTTP clients delays new websockets the way it delays
any request, for as long as the HTTP deadlines let them hold a slot. The app's own calls to the
management API (a loopback client whose first line is an @connections request) get slots of
their own when the HTTP ones are taken, so open websockets keep receiving what the app posts.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import socketserver
import threading
import traceback
from collections.abc import Callable
from typing import Any

from microframework.gateway import LocalGateway

from .access_log import AccessLog
from .http11 import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    IDLE_TIMEOUT,
    HttpHandler,
    half_close_and_drain,
    simple_answer,
)
from .websocket import WebsocketHub, WebsocketLimits

__all__ = ["LocalServer", "serve"]

# Connections served at once (one thread each); the next ones get a 503 and are closed. A
# browser keeps at most 6 connections per host open, so 100 serves a few browsers, test suites
# and load generators at once, while a flood of idle or trickling clients (or a runaway script)
# can take at most 100 threads, not the process's memory.
MAX_CONNECTIONS = 100
# A refused connection is answered from the accepting thread; it waits this long at most for the
# client's request (to read it: closing with unread data would reset the connection and could
# discard the 503 before the client reads it), so a flood of refusals cannot stall accepting.
REJECT_LINGER = 0.2


class LocalServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """A threaded TCP server whose connections speak HTTP/1.1 to ``get_gateway()``.

    ``get_gateway`` returns the gateway to use for the next request, or raises
    :class:`Unavailable`: the reloader swaps apps by changing what it returns.
    """

    daemon_threads = True
    allow_reuse_address = True
    # Connections the kernel queues before accept(): room for a burst of a few hundred
    # websockets opening at once (API Gateway takes 500 new connections a second).
    request_queue_size = 1024
    # ThreadingMixIn would keep a list of every handler thread to join at close; a long-lived
    # dev server does not need that bookkeeping.
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        get_gateway: Callable[[], LocalGateway],
        log: AccessLog | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        websocket_limits: WebsocketLimits | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.get_gateway = get_gateway
        self.log = log or AccessLog()
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        limits = websocket_limits or WebsocketLimits()
        self.websockets = WebsocketHub(limits)
        self._websocket_slots = threading.BoundedSemaphore(limits.max_connections)
        # The app's own management calls (@connections, from this machine) have slots of their
        # own: HTTP clients holding every HTTP slot must not keep the app from posting to its
        # websockets.
        self._management_slots = threading.BoundedSemaphore(max_connections)
        self._holds_http_slot = threading.local()
        super().__init__(address, HttpHandler)
        self.websockets.endpoint = self.loopback_url

    @property
    def loopback_url(self) -> str:
        """This server's URL from this machine (what the app's management client calls)."""
        address, port = self.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else address
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        slots = self._slots
        if not slots.acquire(blocking=False):
            slots = self._management_slots
            if not (_asks_management(request, client_address) and slots.acquire(blocking=False)):
                self._refuse(request, client_address)
                return
        # ThreadingMixIn's own, minus its bookkeeping, to know whether the thread exists: a
        # Ctrl-C while start() waits leaves it running, and it gives the slot back itself.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address, slots),
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # no thread could be made: nothing else will give the slot back
            slots.release()
            raise

    def process_request_thread(  # type: ignore[override]
        self, request: Any, client_address: Any, slots: threading.BoundedSemaphore
    ) -> None:
        self._holds_http_slot.value = slots
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release_http_slot()

    def _release_http_slot(self) -> None:
        slots = getattr(self._holds_http_slot, "value", None)
        if slots is not None:
            self._holds_http_slot.value = None
            slots.release()

    def enter_websocket(self) -> bool:
        """Move the calling connection from an HTTP slot to a websocket slot (False: none free)."""
        if not self._websocket_slots.acquire(blocking=False):
            return False
        self._release_http_slot()
        return True

    def leave_websocket(self) -> None:
        self._websocket_slots.release()

    def _refuse(self, sock: socket.socket, client_address: Any) -> None:
        """Answer 503 at once and close: the cap is reached."""
        answer = simple_answer(
            503,
            f"Service Unavailable: fw local is serving {self.max_connections} connections,"
            " its limit; retry when one closes",
            close=True,
        )
        try:
            sock.settimeout(REJECT_LINGER)
            sock.sendall(answer)
            half_close_and_drain(sock, REJECT_LINGER)
        except OSError:
            pass
        client = client_address[0] if client_address else "-"
        self.log.request(client, "-", "-", 503, len(answer), 0.0)
        self.shutdown_request(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Anything a handler did not catch: one traceback on stderr, the server keeps going.
        traceback.print_exc()


# A management API request line ("Use @connections commands in your backend service").
_MANAGEMENT = re.compile(rb"(?:GET|POST|DELETE) (?:/[^/ ]+)?/(?:@|%40)connections/", re.IGNORECASE)


def _asks_management(sock: socket.socket, client_address: Any) -> bool:
    """Whether a loopback client's first bytes are an @connections request (waits briefly)."""
    try:
        if not ipaddress.ip_address(str(client_address[0]).split("%")[0]).is_loopback:
            return False
        sock.settimeout(REJECT_LINGER)
        return _MANAGEMENT.match(sock.recv(256, socket.MSG_PEEK)) is not None
    except (OSError, ValueError, IndexError, TypeError):
        return False


def serve(
    host: str,
    port: int,
    get_gateway: Callable[[], LocalGateway],
    log: AccessLog | None = None,
    **limits: Any,
) -> LocalServer:
    """Bind and listen (raises OSError, e.g. EADDRINUSE); the caller runs ``serve_forever()``.

    ``limits`` are :class:`LocalServer`'s keyword arguments (``max_connections``, the timeouts).
    """
    return LocalServer((host, port), get_gateway, log, **limits)
