"""Websockets for ``fw local``: an upgraded HTTP connection run as API Gateway runs a WebSocket API
in front of the app's ``$connect``, ``$default`` and ``$disconnect`` handlers.

wsproto does RFC 6455 (the handshake's checks, framing, masking, close codes, UTF-8); this module
adds API Gateway's rules on top, each cited where it is encoded. Each connection keeps the thread
that read its upgrade request; that thread only reads frames, while handlers run in the
:class:`~.lambdas.Invoker`'s pool and posts arrive from the management API's threads, so a slow
handler or a slow client holds up nobody else.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from microframework.gateway import API_ID, LambdaContext

from .http11 import Deadline, Unavailable, half_close_and_drain

if TYPE_CHECKING:
    from wsproto import WSConnection

    from .http11 import HttpHandler, Request

__all__ = ["WebsocketHub", "WebsocketLimits", "serve_upgrade"]

# "Quotas for configuring and running a WebSocket in API Gateway": frame size 32 KB, message
# payload 128 KB ("If a larger message (or larger frame size) is received, the connection is
# closed with code 1009"), connection duration 2 hours, idle connection timeout 10 minutes,
# integration timeout 29 seconds. API Gateway sets no quota on concurrent connections.
FRAME_BYTES = 32 * 1024
MESSAGE_BYTES = 128 * 1024
IDLE_SECONDS = 10 * 60.0
MAX_SECONDS = 2 * 60 * 60.0
INTEGRATION_SECONDS = 29.0
# fw's own bound (one thread each); API Gateway has none, so it is set far above what a
# developer's machine opens, only to keep a runaway client from exhausting threads.
MAX_WEBSOCKETS = 2000
# After sending a close frame, how long to wait for the client's before dropping the socket.
CLOSE_GRACE = 2.0
# A post that cannot be written in this long means the client is not reading: the management
# API's LimitExceededException ("the WebSocket client side buffer is full", botocore's model).
WRITE_SECONDS = 5.0

_NORMAL, _GOING_AWAY, _UNSUPPORTED, _TOO_BIG = 1000, 1001, 1003, 1009


@dataclass(frozen=True)
class WebsocketLimits:
    """API Gateway's quotas, injectable so tests need not wait 10 minutes."""

    frame_bytes: int = FRAME_BYTES
    message_bytes: int = MESSAGE_BYTES
    idle_seconds: float = IDLE_SECONDS
    max_seconds: float = MAX_SECONDS
    integration_seconds: float = INTEGRATION_SECONDS
    max_connections: int = MAX_WEBSOCKETS
    close_grace: float = CLOSE_GRACE


class ClientBufferFull(Exception):
    """A post could not be written: the client is not reading (429 LimitExceededException)."""


class WebsocketHub:
    """What the server's websocket connections share: the connection table, the handler pool,
    and the management endpoint the app is pointed at."""

    def __init__(self, limits: WebsocketLimits) -> None:
        from .lambdas import Invoker

        self.limits = limits
        self.invoker = Invoker(limits.integration_seconds)
        self.endpoint = ""  # the server's own http:// URL, once bound
        self._connections: Any = None
        self._pointed: Any = None

    @property
    def connections(self) -> Any:
        if self._connections is None:
            from microframework.websocket_local import Connections

            self._connections = Connections()
        return self._connections

    def point(self, app: Any) -> bool:
        """Send the app's management calls here (once per loaded app); False: no websocket API."""
        if app is self._pointed:
            return True
        if not getattr(app, "websocket_handlers", None):
            return False
        app.websocket_api.use_endpoint(self.endpoint)
        self._pointed = app
        return True


def serve_upgrade(handler: HttpHandler, request: Request) -> bool:
    """Run a websocket on the handler's connection until it closes.

    False when the app has no websocket handlers: the request is then plain HTTP, as a REST API
    (a different host in AWS) would see it.
    """
    server = handler.server
    try:
        gateway = server.get_gateway()
    except Unavailable:
        return False
    if not server.websockets.point(gateway.app):
        return False
    from wsproto import ConnectionType, WSConnection
    from wsproto.utilities import LocalProtocolError, RemoteProtocolError

    ws = WSConnection(ConnectionType.SERVER)
    try:
        if request.version != "HTTP/1.1":
            raise RemoteProtocolError("a websocket upgrade needs HTTP/1.1")
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers]
        ws.initiate_upgrade_connection(headers, request.target)
        list(ws.events())  # the Request event: wsproto has checked the handshake headers
    except (RemoteProtocolError, LocalProtocolError) as err:
        handler.send_simple(400, f"Bad Request: {err}", close=True)
        server.log.request(handler.client, "GET", request.target, 400, 0, 0.0)
        return True
    if not server.enter_websocket():
        handler.send_simple(
            503,
            f"Service Unavailable: fw local is serving {server.websockets.limits.max_connections}"
            " websockets, its limit; retry when one closes",
            close=True,
        )
        server.log.request(handler.client, "GET", request.target, 503, 0, 0.0)
        return True
    try:
        _Session(handler, request, ws, gateway).run()
    finally:
        server.leave_websocket()
    return True


def _request_id() -> str:
    # The shape of the requestId in API Gateway's error messages ("VNRXVFJOywMF3-Q=").
    return base64.urlsafe_b64encode(os.urandom(11)).decode("ascii")


def _error_message(text: str, connection_id: str, request_id: str) -> str:
    # What a client receives when its message's integration fails, byte for byte as published
    # captures show it (aws-samples/simple-websockets-chat-app#42, #24): a space after the first
    # colon only.
    return f'{{"message": "{text}", "connectionId":"{connection_id}", "requestId":"{request_id}"}}'


def _text_frames(text: str, frame_bytes: int) -> list[str]:
    """``text`` cut into pieces of at most ``frame_bytes`` in UTF-8, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= frame_bytes:
        return [text]
    pieces = []
    start = 0
    while start < len(data):
        end = min(start + frame_bytes, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
    return pieces


class _Session:
    """One websocket connection, from its ``$connect`` to its ``$disconnect``."""

    def __init__(self, handler: HttpHandler, request: Request, ws: WSConnection, gateway: Any):
        self.handler = handler
        self.server = handler.server
        self.hub = self.server.websockets
        self.limits = self.hub.limits
        self.ws = ws
        self.request = request
        self.client = handler.client
        from microframework.websocket_local import new_connection_id

        self.connection_id = new_connection_id()
        self.domain_name = _header(request, "host") or "localhost"
        self.user_agent = _header(request, "user-agent") or ""
        self.stage = gateway.stage
        # Writes come from other threads (posts, the close of a DELETE, timers) while this one
        # reads: a second socket object on the same connection gives them their own timeout, and
        # the lock keeps wsproto's state and the byte stream in order.
        self.out = handler.connection.dup()
        self.out.settimeout(WRITE_SECONDS)
        self.lock = threading.Lock()
        self.close_deadline: float | None = None
        self.connected_at = 0.0  # monotonic, for the quotas
        self.connected_epoch = time.time()  # for the events' connectedAt
        # What $disconnect is told: the close frame's code and reason, 1006 for none.
        self.close_code, self.close_reason = 1006, ""

    # --- the connection's life -------------------------------------------------------------

    def run(self) -> None:
        try:
            if not self._connect():
                return
            try:
                self._read_frames()
            finally:
                self._disconnect()
        finally:
            self.out.close()

    def _connect(self) -> bool:
        """Run $connect; send the 101 (and open the connection) or the rejection."""
        from wsproto.events import AcceptConnection, RejectConnection, RejectData

        started = time.perf_counter()
        status, body, subprotocol = 200, b"", None
        try:
            gateway = self.server.get_gateway()
            self.hub.point(gateway.app)
            handler = _handlers(gateway.app).get("$connect")
        except Unavailable:
            gateway, handler, status = None, None, 502
            body = b'{"message": "Internal server error"}'
        if handler is not None:
            query = self.request.target.partition("?")[2]
            event = self._event(
                "$connect",
                headers=self.request.headers,
                query=parse_qsl(query, keep_blank_values=True),
            )
            try:
                result = self.hub.invoker.call(handler, event, self._context(gateway, "connect"))
            except TimeoutError:
                status, body = 504, b'{"message": "Endpoint request timed out"}'
            except Exception:
                # "Manage connected users and client apps: $connect and $disconnect routes": an
                # integration failure means no connection; the client sees a 502 (published
                # captures: "Unexpected server response: 502" when the $connect Lambda fails).
                traceback.print_exc()
                status, body = 502, b'{"message": "Internal server error"}'
            else:
                status, body, subprotocol = _connect_result(result)
        ms = (time.perf_counter() - started) * 1000
        self.server.log.request(self.client, "WS", "$connect", status, len(body), ms)
        if not 200 <= status < 300:
            # Until $connect completes the upgrade is pending; a failed one never opens it.
            headers = [(b"Content-Type", b"application/json"), (b"Connection", b"close")]
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
            data = self.ws.send(
                RejectConnection(status_code=status, headers=headers, has_body=True)
            )
            data += self.ws.send(RejectData(data=body, body_finished=True))
            try:
                self.out.sendall(data)
                half_close_and_drain(self.out, self.limits.close_grace)
            except OSError:
                pass
            return False
        offered = _header(self.request, "sec-websocket-protocol") or ""
        if subprotocol not in [p.strip() for p in offered.split(",")]:
            subprotocol = None
        with self.lock:
            self.out.sendall(self.ws.send(AcceptConnection(subprotocol=subprotocol)))
        # Only now may the app post to it: before, @connections answers 410 (re:Post "410
        # GoneException": "A message was posted to the WebSocket API before the connection was
        # established").
        self.connected_at = time.monotonic()
        self.hub.connections.open(
            self.connection_id,
            post=self.post,
            close=self.close,
            source_ip=self.client,
            user_agent=self.user_agent,
        )
        return True

    def _read_frames(self) -> None:
        from wsproto.connection import ConnectionState
        from wsproto.events import (
            BytesMessage,
            CloseConnection,
            Message,
            Ping,
        )

        reader, rfile, limits = self.handler.reader, self.handler.rfile, self.limits
        ends = self.connected_at + limits.max_seconds
        last_active = self.connected_at
        frame_size = message_size = 0
        parts: list[str] = []
        while True:
            closing = self.close_deadline
            reader.deadline = closing or min(last_active + limits.idle_seconds, ends)
            try:
                data = rfile.read1(65536)
            except Deadline:
                if closing is not None:
                    return  # the client never answered our close frame
                # Idle for 10 minutes, or connected for 2 hours: API Gateway ends the
                # connection, as a server going away (1001).
                self._close(_GOING_AWAY, "Going away")
                continue
            except OSError:
                data = b""
            if not data:
                return  # the TCP connection ended (with or without a close frame)
            last_active = time.monotonic()
            with self.lock:
                self.ws.receive_data(data)
                events = list(self.ws.events())
            for event in events:
                if isinstance(event, Message):
                    if self.close_deadline is not None:
                        continue  # closing: what the client still sends goes nowhere
                    if isinstance(event, BytesMessage):
                        # "Binary media types for WebSocket APIs in API Gateway": a binary frame
                        # is rejected and the client disconnected with code 1003.
                        self._close(_UNSUPPORTED, "Binary frames are not supported")
                        break
                    size = len(event.data.encode("utf-8"))
                    frame_size += size
                    message_size += size
                    if frame_size > limits.frame_bytes or message_size > limits.message_bytes:
                        self._close(_TOO_BIG, "Message too big")
                        break
                    parts.append(event.data)
                    if event.frame_finished:
                        frame_size = 0
                    if event.message_finished:
                        self._touch()
                        self._message("".join(parts))
                        parts, message_size = [], 0
                elif isinstance(event, Ping):
                    if self.close_deadline is None:
                        self._answer(event.response())
                elif isinstance(event, CloseConnection):
                    state = self.ws.state
                    if state is ConnectionState.REMOTE_CLOSING:
                        self.close_code, self.close_reason = event.code, event.reason or ""
                        self._answer(event.response())  # the client closed: answer in kind
                        return
                    if state is ConnectionState.CLOSED:
                        return  # the client's answer to our close
                    # wsproto could not parse a frame (unmasked, bad opcode, bad UTF-8...): it
                    # names the close code. RFC 6455 7.1.7 "Fail the WebSocket Connection": send
                    # it and end the connection, without parsing anything that follows.
                    self._close(event.code, event.reason or "")
                    try:
                        half_close_and_drain(self.out, self.limits.close_grace)
                    except OSError:
                        pass
                    return

    def _disconnect(self) -> None:
        """Forget the connection, then run $disconnect (on every close: client, server, error,
        idle), whose result nobody receives."""
        self.hub.connections.forget(self.connection_id)
        try:
            gateway = self.server.get_gateway()
        except Unavailable:
            return
        self.hub.point(gateway.app)
        handler = _handlers(gateway.app).get("$disconnect")
        self.server.log.request(self.client, "WS", "$disconnect", 200, 0, 0.0)
        if handler is not None:
            event = self._event(
                "$disconnect",
                disconnect_status_code=self.close_code,
                disconnect_reason=self.close_reason,
            )
            self.hub.invoker.submit(handler, event, self._context(gateway, "disconnect"))

    # --- messages from the client ----------------------------------------------------------

    def _message(self, body: str) -> None:
        from microframework.websocket_local import route_key_for

        request_id = _request_id()
        try:
            gateway = self.server.get_gateway()
        except Unavailable:
            self._reply_error("Internal server error", request_id)
            return
        self.hub.point(gateway.app)
        handlers = _handlers(gateway.app)
        route = route_key_for(body, routes=handlers)
        handler = handlers.get(route) if route is not None else None
        if route is None or handler is None:
            # No route matches and no $default: API Gateway answers the client itself (published
            # captures: aws-samples/simple-websockets-chat-app#24).
            self.server.log.request(self.client, "WS", "-", 403, len(body), 0.0)
            self._reply_error("Forbidden", request_id)
            return
        self.server.log.request(self.client, "WS", route, 200, len(body), 0.0)
        event = self._event(route, body=body)

        def failed(error: BaseException) -> None:
            traceback.print_exception(type(error), error, error.__traceback__)
            self._reply_error("Internal server error", request_id)

        self.hub.invoker.start(
            handler,
            event,
            self._context(gateway, "message"),
            on_error=failed,
            # The integration timeout: the REST API's wording for the same gateway response.
            on_timeout=lambda: self._reply_error("Endpoint request timed out", request_id),
        )

    def _reply_error(self, text: str, request_id: str) -> None:
        from wsproto.events import TextMessage

        self._answer(TextMessage(_error_message(text, self.connection_id, request_id)))

    def _answer(self, event: Any) -> None:
        """Send from the server's own threads, where nobody waits for an error."""
        from microframework.websocket_local import Gone

        try:
            self._send(event)
        except (Gone, ClientBufferFull):
            pass  # the client is gone, closing or stuck: nothing to tell it

    def _touch(self) -> None:
        from microframework.websocket_local import Gone

        try:
            self.hub.connections.touch(self.connection_id)
        except Gone:
            pass  # deleted by the app while this message arrived: it still goes to $default

    # --- what other threads call -----------------------------------------------------------

    def post(self, data: bytes) -> None:
        """Send ``data`` to the client (PostToConnection): text when it is UTF-8, else binary.

        API Gateway does not document the frame type of a post; text is what its clients get
        for the JSON they are sent. Messages over 32 KB go out in 32 KB frames, the frame
        quota ("This applies to @connections commands").
        """
        from wsproto.events import BytesMessage, TextMessage

        events: list[Any]
        try:
            pieces = _text_frames(data.decode("utf-8"), self.limits.frame_bytes)
            last = len(pieces) - 1
            events = [TextMessage(p, message_finished=i == last) for i, p in enumerate(pieces)]
        except UnicodeDecodeError:
            step = self.limits.frame_bytes
            chunks = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
            last = len(chunks) - 1
            events = [BytesMessage(c, message_finished=i == last) for i, c in enumerate(chunks)]
        self._send(*events)

    def close(self) -> None:
        """Close from the server side (DeleteConnection)."""
        self._close(_NORMAL, "")

    # --- writing ----------------------------------------------------------------------------

    def _send(self, *events: Any) -> None:
        """Write events in one go; raises ``Gone`` once the connection is closing."""
        from wsproto.connection import ConnectionState

        from microframework.websocket_local import Gone

        with self.lock:
            if self.ws.state is not ConnectionState.OPEN and not _is_close_reply(events):
                raise Gone(self.connection_id)
            data = b"".join(self.ws.send(event) for event in events)
            try:
                self.out.sendall(data)
            except TimeoutError:
                # Part of a frame may be out: the stream cannot go on, so the connection ends.
                self._drop()
                raise ClientBufferFull(self.connection_id) from None
            except OSError:
                raise Gone(self.connection_id) from None  # the client went away mid-write

    def _close(self, code: int, reason: str) -> None:
        """Send a close frame (once) and give the client ``close_grace`` seconds to answer."""
        from wsproto.connection import ConnectionState
        from wsproto.events import CloseConnection

        with self.lock:
            if self.ws.state is not ConnectionState.OPEN:
                return
            data = self.ws.send(CloseConnection(code=code, reason=reason))
            self.close_code, self.close_reason = code, reason
            self.close_deadline = time.monotonic() + self.limits.close_grace
            try:
                self.out.sendall(data)
            except OSError:
                pass
        # The reader may be blocked for minutes on an idle client: past the grace period, end the
        # connection under it so its read returns.
        self.hub.invoker.timers.call_at(self.close_deadline + 0.5, self._drop)

    def _drop(self) -> None:
        try:
            self.out.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- events -----------------------------------------------------------------------------

    def _event(self, route_key: str, **extra: Any) -> dict[str, Any]:
        from microframework.websocket_local import websocket_event

        return websocket_event(
            route_key,
            connection_id=self.connection_id,
            domain_name=self.domain_name,
            stage=self.stage,
            api_id=API_ID,
            source_ip=self.client,
            user_agent=self.user_agent,
            connected_at=self.connected_epoch,
            **extra,
        )

    def _context(self, gateway: Any, kind: str) -> LambdaContext:
        # The function names Chalice deploys: <app>-<stage>-websocket_connect, ...
        return LambdaContext(
            f"{gateway.function_name}-websocket_{kind}", gateway.memory_size, gateway.timeout
        )


def _is_close_reply(events: tuple[Any, ...]) -> bool:
    from wsproto.events import CloseConnection

    return len(events) == 1 and isinstance(events[0], CloseConnection)


def _handlers(app: Any) -> Any:
    # A reload may have dropped the app's websocket handlers while connections stay open.
    return getattr(app, "websocket_handlers", None) or {}


def _header(request: Request, lower_name: str) -> str | None:
    for name, value in request.headers:
        if name.lower() == lower_name:
            return value
    return None


def _connect_result(result: Any) -> tuple[int, bytes, str | None]:
    """The status, body and subprotocol of a $connect handler's proxy result.

    Chalice's connect handler returns ``{"statusCode": 200}`` unless the app refuses; a result
    without a status (a handler that returns nothing) accepts, as the integration succeeded.
    """
    from microframework.websocket_local import connect_status

    status = connect_status(result)
    if not isinstance(result, dict):
        return status, b"", None
    body = result.get("body") or ""
    data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
    headers = result.get("headers") or {}
    subprotocol = None
    if isinstance(headers, dict):
        for name, value in headers.items():
            if str(name).lower() == "sec-websocket-protocol":
                subprotocol = str(value)
    return status, data, subprotocol
