"""The API Gateway management API (``@connections``) on ``fw local``'s own port.

"Use @connections commands in your backend service": ``POST``, ``GET`` and ``DELETE``
``/{stage}/@connections/{connection_id}`` post to, describe and disconnect a client. The app's
management client is pointed at this server without a stage; the stage prefix and the
percent-encoded ``%40connections`` the page shows are accepted too. Answers follow the
``apigatewaymanagementapi`` model in botocore (rest-json): the error name in
``x-amzn-ErrorType``, its status from the model.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from microframework.gateway import GatewayResponse

from .websocket import ClientBufferFull

__all__ = ["MAX_POST_BYTES", "connection_target", "manage", "too_large"]

# botocore's model: the "Data" blob of PostToConnection is at most 131072 bytes (the quotas
# page's 128 KB message payload).
MAX_POST_BYTES = 128 * 1024
METHODS = frozenset({"GET", "POST", "DELETE"})

_PATH = re.compile(r"(?:/[^/]+)?/(?:@|%40)connections/([^/]+)", re.IGNORECASE)


def connection_target(method: str, target: str) -> str | None:
    """The connection id a management request names; None for any other request."""
    if method not in METHODS:
        return None
    match = _PATH.fullmatch(target.partition("?")[0])
    return unquote(match.group(1)) if match else None


def manage(connections: Any, method: str, connection_id: str, body: bytes) -> GatewayResponse:
    """Answer one @connections request from the connection table."""
    from microframework.websocket_local import Gone, PayloadTooLarge

    try:
        if method == "POST":
            connections.post(connection_id, body)
            return GatewayResponse(200, [("Content-Type", "application/json")], b"")
        if method == "GET":
            info = _wire(connections.info(connection_id))
            return _json(200, info)
        connections.delete(connection_id)
        return GatewayResponse(204, [], b"")
    except Gone:
        # GoneException (410): "The connection with the provided id no longer exists", for an
        # id never opened, one whose $connect has not returned, and one closed.
        return _error(410, "GoneException")
    except PayloadTooLarge:
        return too_large()
    except ClientBufferFull:
        # LimitExceededException (429): "... or the WebSocket client side buffer is full".
        return _error(429, "LimitExceededException")


def too_large() -> GatewayResponse:
    """PayloadTooLargeException (413): "The data has exceeded the maximum size allowed"."""
    return _error(413, "PayloadTooLargeException", "Data exceeds the 131072-byte maximum")


def _error(status: int, name: str, message: str | None = None) -> GatewayResponse:
    body = {} if message is None else {"message": message}
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", name)]
    return GatewayResponse(status, headers, json.dumps(body).encode("utf-8"))


def _json(status: int, value: Any) -> GatewayResponse:
    body = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return GatewayResponse(status, [("Content-Type", "application/json")], body)


def _wire(value: Any) -> Any:
    """GetConnection's output as the model names it on the wire: ``connectedAt``,
    ``identity.sourceIp``... (lower camel case), timestamps in ISO 8601."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _wire(item) for key, item in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        moment = value.astimezone(timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return value
