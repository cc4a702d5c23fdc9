"""WebSocket API emulation shared by ``fw local`` and the test client (never shipped to Lambda).

Three pieces, each as API Gateway documents it: the event a WebSocket API sends its Lambda
integration (:func:`websocket_event`), route selection on the message body
(:func:`route_key_for`), and the connections the management API serves (:class:`Connections`:
``POST``/``GET``/``DELETE /@connections/{id}``, ``GoneException`` for a closed one). The
in-process test client (``Client(app).websocket``) is built on them at the end of this module.
"""

from __future__ import annotations

import base64
import os
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Collection, Iterable, Mapping
    from typing import Any

    from .app import App

__all__ = [
    "BINARY_FRAME_CLOSE_CODE",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_TOO_BIG_CLOSE_CODE",
    "Connections",
    "Gone",
    "PayloadTooLarge",
    "WebsocketClient",
    "WebsocketConnection",
    "WebsocketRejectedError",
    "connect_status",
    "new_connection_id",
    "route_key_for",
    "websocket_event",
]

# "Amazon API Gateway quotas for configuring and running a WebSocket API": frame size 32 KB,
# message payload size 128 KB (also the most PostToConnection takes); beyond, the connection is
# closed with 1009 (RFC 6455: "a message that is too big for it to process").
MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024
MESSAGE_TOO_BIG_CLOSE_CODE = 1009
# "Binary media types for WebSocket APIs in API Gateway": API Gateway does not take binary
# frames from clients; it "rejects it and disconnects the client with code 1003".
BINARY_FRAME_CLOSE_CODE = 1003

_EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 base64 characters, e.g. ``L0SM9cOFvHcCIhw=``)."""
    return base64.b64encode(os.urandom(11)).decode("ascii")


def _request_time(epoch_ms: int) -> str:
    # requestTime is in the access-log format: 13/Dec/2020:10:17:47 +0000.
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def _pairs(values: Mapping[str, Any] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if values is None:
        return []
    items = values.items() if hasattr(values, "items") else values
    pairs: list[tuple[str, str]] = []
    for name, value in items:
        for one in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((name, one))
    return pairs


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    # As in the REST proxy event: the single-value map keeps the last value of a repeated name.
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def websocket_event(
    route_key: str,
    *,
    connection_id: str,
    body: str | bytes | None = None,
    is_binary: bool = False,
    domain_name: str,
    stage: str,
    api_id: str,
    headers: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None,
    query: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None,
    source_ip: str,
    user_agent: str,
    connected_at: float | None = None,
    disconnect_status_code: int | None = None,
    disconnect_reason: str = "",
) -> dict[str, Any]:
    """The event a WebSocket API's Lambda proxy integration receives for ``route_key``.

    Shape: "Integrations for WebSocket APIs in API Gateway" (Lambda proxy) and "Manage
    connected users and client apps: $connect and $disconnect routes": the $connect event
    carries the upgrade request's headers and query string; a message carries ``body`` and a
    ``messageId``; $disconnect carries neither. ``connected_at`` (epoch seconds) is the
    connection's, the same in each of its events; ``is_binary`` base64-encodes ``body``.
    """
    now_ms = int(time.time() * 1000)
    connected_ms = now_ms if connected_at is None else int(connected_at * 1000)
    event_type = _EVENT_TYPES.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": base64.b64encode(os.urandom(10)).decode("ascii"),
        "requestTime": _request_time(now_ms),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": base64.b64encode(os.urandom(10)).decode("ascii"),
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    event: dict[str, Any] = {}
    if event_type == "CONNECT":
        event["headers"], event["multiValueHeaders"] = _single_and_multi(_pairs(headers))
        query_pairs = _pairs(query)
        if query_pairs:
            single, multi = _single_and_multi(query_pairs)
            event["queryStringParameters"] = single
            event["multiValueQueryStringParameters"] = multi
    elif event_type == "MESSAGE":
        context["messageId"] = base64.b64encode(os.urandom(10)).decode("ascii")
    else:
        context["disconnectStatusCode"] = disconnect_status_code
        context["disconnectReason"] = disconnect_reason
    event["requestContext"] = context
    if event_type == "MESSAGE":
        if is_binary:
            raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
            event["body"] = base64.b64encode(raw).decode("ascii")
        else:
            event["body"] = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
    event["isBase64Encoded"] = bool(is_binary)
    return event


def route_key_for(
    body: str | bytes | None,
    selection: str = "$request.body.action",
    routes: Collection[str] = ("$default",),
) -> str | None:
    """The route a message goes to; None when nothing matches and there is no ``$default``.

    "Create routes for WebSocket APIs in API Gateway", section "Route selection expressions":
    the expression is evaluated on the JSON message and its result stringified; a message that
    is not JSON, has no such property, or names a route the API does not have goes to
    ``$default``, and with no ``$default`` the service returns an error. Chalice sets
    ``$request.body.action`` and creates only ``$default`` besides $connect/$disconnect, so every
    message of a Chalice app lands there.
    """
    prefix = "$request.body."
    if not selection.startswith(prefix):
        raise ValueError(f"route selection expression {selection!r} must start with {prefix!r}")
    value: Any = None
    if body:
        import json

        try:
            value = json.loads(body)
        except ValueError:
            value = None
    for part in selection[len(prefix) :].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, (bool, int, float)):
        import json

        value = json.dumps(value)  # 3 -> "3", true -> "true"
    if isinstance(value, str) and value in routes and not value.startswith("$"):
        return value
    return "$default" if "$default" in routes else None


def connect_status(result: Any) -> int:
    """The status a ``$connect`` integration's result answers the upgrade with (2xx accepts)."""
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    try:
        return int(status)
    except (TypeError, ValueError):
        # API Gateway cannot map such a result: an integration failure.
        return 500


class Gone(Exception):
    """The connection is unknown or closed: the management API's 410 ``GoneException``."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"connection {connection_id!r} is gone")
        self.connection_id = connection_id


class PayloadTooLarge(Exception):
    """PostToConnection's 413 ``PayloadTooLargeException`` (data over 128 KB)."""


class _Entry:
    __slots__ = ("close", "connected_at", "last_active_at", "post", "source_ip", "user_agent")

    def __init__(
        self,
        post: Callable[[bytes], None],
        close: Callable[[], None],
        source_ip: str,
        user_agent: str,
    ) -> None:
        self.post = post
        self.close = close
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.connected_at = self.last_active_at = time.time()


def _utc(seconds: float) -> datetime.datetime:
    import datetime

    # The wire format is ISO 8601 with milliseconds; boto3 parses it to an aware UTC datetime.
    return datetime.datetime.fromtimestamp(round(seconds, 3), datetime.timezone.utc)


class Connections:
    """The open connections of one WebSocket API, as its management API sees them.

    Thread-safe: the server's threads open, post to and forget connections concurrently. The
    ``post`` and ``close`` callbacks run outside the lock, so a slow socket blocks no one else.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, _Entry] = {}

    def _get(self, connection_id: str) -> _Entry:
        with self._lock:
            entry = self._open.get(connection_id)
        if entry is None:
            raise Gone(connection_id)
        return entry

    def open(
        self,
        connection_id: str,
        post: Callable[[bytes], None],
        close: Callable[[], None],
        source_ip: str,
        user_agent: str,
    ) -> None:
        """Register a connection whose ``$connect`` succeeded (before that, posts are Gone)."""
        with self._lock:
            if connection_id in self._open:
                raise ValueError(f"connection {connection_id!r} is already open")
            self._open[connection_id] = _Entry(post, close, source_ip, user_agent)

    def post(self, connection_id: str, data: bytes) -> None:
        """PostToConnection: hand ``data`` to the connection's ``post`` callback.

        A callback that raises OSError (the socket died under it) makes the connection Gone.
        """
        entry = self._get(connection_id)
        if len(data) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(
                f"{len(data)} bytes is over the {MAX_MESSAGE_BYTES}-byte message payload quota"
            )
        try:
            entry.post(data)
        except OSError:
            self.forget(connection_id)
            raise Gone(connection_id) from None

    def info(self, connection_id: str) -> dict[str, Any]:
        """GetConnection's answer: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""
        entry = self._get(connection_id)
        return {
            "ConnectedAt": _utc(entry.connected_at),
            "Identity": {"SourceIp": entry.source_ip, "UserAgent": entry.user_agent},
            "LastActiveAt": _utc(entry.last_active_at),
        }

    def delete(self, connection_id: str) -> None:
        """DeleteConnection: forget the connection, then call its ``close`` callback."""
        with self._lock:
            entry = self._open.pop(connection_id, None)
        if entry is None:
            raise Gone(connection_id)
        entry.close()

    def touch(self, connection_id: str) -> None:
        """The client sent something: LastActiveAt is now."""
        self._get(connection_id).last_active_at = time.time()

    def forget(self, connection_id: str) -> bool:
        """The connection ended on its own (client close, error): no callback; False if unknown."""
        with self._lock:
            return self._open.pop(connection_id, None) is not None

    def __contains__(self, connection_id: object) -> bool:
        with self._lock:
            return connection_id in self._open

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


# -- the in-process test client ------------------------------------------------------------


class _GoneException(Exception):
    """Stands for botocore's ``client.exceptions.GoneException`` in the in-process client."""


class _Exceptions:
    GoneException = _GoneException


class _ManagementClient:
    """The three management API calls ``app.websocket_api`` makes, answered from Connections."""

    exceptions = _Exceptions

    def __init__(self, connections: Connections) -> None:
        self._connections = connections

    def post_to_connection(self, *, ConnectionId: str, Data: str | bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        data = Data.encode("utf-8") if isinstance(Data, str) else bytes(Data)
        try:
            self._connections.post(ConnectionId, data)
        except Gone:
            raise _GoneException(ConnectionId) from None
        return {}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        try:
            self._connections.delete(ConnectionId)
        except Gone:
            raise _GoneException(ConnectionId) from None
        return {}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        try:
            return self._connections.info(ConnectionId)
        except Gone:
            raise _GoneException(ConnectionId) from None


class WebsocketRejectedError(Exception):
    """``$connect`` answered a non-2xx status: API Gateway refuses the upgrade with it."""

    def __init__(self, status_code: int, result: Any) -> None:
        super().__init__(f"$connect refused the connection with status {status_code}")
        self.status_code = status_code
        self.result = result


class WebsocketClient:
    """``Client(app).websocket``: connect to the app's WebSocket API, in-process.

    Handlers run as API Gateway runs them (the same events, the same route selection) and
    ``app.websocket_api`` posts to the connections here. An exception in a handler propagates,
    as ``client.lambda_.invoke`` lets it (deployed, the invocation fails).
    """

    API_ID = "fwtestapi0"

    def __init__(
        self,
        app: App,
        stage: str = "api",
        environment: Callable[[str], dict[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.stage = stage
        self.connections = Connections()
        self._environment = environment or (lambda name: {})
        app.websocket_api._use_client(_ManagementClient(self.connections))

    def connect(
        self,
        headers: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None,
        query: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None,
        *,
        source_ip: str = "127.0.0.1",
        user_agent: str = "fw-test-client",
    ) -> WebsocketConnection:
        """Run ``$connect``; raises WebsocketRejectedError when it answers a non-2xx status."""
        connection = WebsocketConnection(self, new_connection_id(), source_ip, user_agent)
        result = self._invoke("$connect", connection, headers=headers, query=query)
        status = connect_status(result)
        if not 200 <= status < 300:
            raise WebsocketRejectedError(status, result)
        # Only now can the app post to it: API Gateway opens the connection after $connect.
        self.connections.open(
            connection.connection_id,
            connection._inbox.append,
            connection._closed_by_server,
            source_ip,
            user_agent,
        )
        return connection

    def _invoke(self, route_key: str, connection: WebsocketConnection, **fields: Any) -> Any:
        handler = self.app.websocket_handlers.get(route_key)
        if handler is None:
            # Without a handler the route has no integration: API Gateway answers for it.
            return {"statusCode": 200}
        from .gateway import LambdaContext
        from .testing import _patched_environ

        event = websocket_event(
            route_key,
            connection_id=connection.connection_id,
            domain_name=f"{self.API_ID}.execute-api.us-east-1.amazonaws.com",
            stage=self.stage,
            api_id=self.API_ID,
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            connected_at=connection.connected_at,
            **fields,
        )
        with _patched_environ(self._environment(handler.name)):
            return handler(event, LambdaContext(handler.name))


class WebsocketConnection:
    """One client connection; ``receive()`` gives what the app posted to it, in order."""

    def __init__(
        self, client: WebsocketClient, connection_id: str, source_ip: str, user_agent: str
    ) -> None:
        self.connection_id = connection_id
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.connected_at = time.time()
        self.close_code: int | None = None  # set once closed
        self._client = client
        self._inbox: list[bytes] = []
        self._busy = 0
        self._disconnect_pending = False

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    def send(self, message: str | bytes | dict[str, Any] | list[Any]) -> Any:
        """Send a text message (a dict/list is sent as JSON); returns the handler's result.

        API Gateway sends that result nowhere (Chalice configures no route response): assert
        on what the app posts instead. A binary message or one over 128 KB closes the
        connection with 1003 or 1009, as API Gateway does.
        """
        if self.closed:
            raise RuntimeError(f"connection {self.connection_id!r} is closed ({self.close_code})")
        if isinstance(message, (dict, list)):
            import json

            message = json.dumps(message)
        if isinstance(message, bytes):
            self._end(BINARY_FRAME_CLOSE_CODE, "Binary frames are not supported")
            return None
        if len(message.encode("utf-8")) > MAX_MESSAGE_BYTES:
            self._end(MESSAGE_TOO_BIG_CLOSE_CODE, "Message too big")
            return None
        self._client.connections.touch(self.connection_id)
        route = route_key_for(message, routes=self._client.app.websocket_handlers) or "$default"
        return self._run(route, body=message)

    def receive(self) -> str | bytes:
        """The oldest message the app posted and the test has not received (text if UTF-8)."""
        if not self._inbox:
            raise LookupError(f"the app posted nothing (more) to {self.connection_id!r}")
        data = self._inbox.pop(0)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data

    @property
    def pending(self) -> int:
        """How many posted messages ``receive()`` has not returned yet."""
        return len(self._inbox)

    def info(self) -> dict[str, Any]:
        """What GetConnection answers for this connection (Gone once it is closed)."""
        return self._client.connections.info(self.connection_id)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The client closes: ``$disconnect`` runs."""
        if not self.closed:
            self._end(code, reason)

    def __enter__(self) -> WebsocketConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, route_key: str, **fields: Any) -> Any:
        self._busy += 1
        try:
            return self._client._invoke(route_key, self, **fields)
        finally:
            self._busy -= 1
            if self._disconnect_pending and not self._busy:
                self._disconnect_pending = False
                self._disconnect()

    def _end(self, code: int, reason: str) -> None:
        self._client.connections.forget(self.connection_id)
        self.close_code = code
        self._reason = reason
        self._disconnect()

    def _closed_by_server(self) -> None:
        # DeleteConnection: API Gateway closes the socket, then runs $disconnect. Inside a
        # handler (the usual caller), it runs once that handler returns, as it would deployed.
        self.close_code = 1000
        self._reason = "Going away"
        if self._busy:
            self._disconnect_pending = True
        else:
            self._disconnect()

    def _disconnect(self) -> None:
        self._run(
            "$disconnect",
            disconnect_status_code=self.close_code,
            disconnect_reason=self._reason,
        )

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self.closed else "open"
        return f"<WebsocketConnection {self.connection_id} {state}>"
