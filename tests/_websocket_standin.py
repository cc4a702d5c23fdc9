"""A stand-in for ``microframework.websocket_local`` and the app's websocket API (branch wsrt),
holding only the agreed contract, until that branch merges."""

from __future__ import annotations

import json
import sys
import threading
import time
import types
from datetime import datetime, timezone
from typing import Any


class Gone(Exception):
    pass


class PayloadTooLarge(Exception):
    pass


def new_connection_id() -> str:
    import base64
    import os

    return base64.b64encode(os.urandom(11)).decode("ascii")


def connect_status(result: Any) -> int:
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    try:
        return int(status)
    except (TypeError, ValueError):
        return 500


def websocket_event(
    route_key: str,
    *,
    connection_id: str,
    body: str | None = None,
    is_binary: bool = False,
    domain_name: str,
    stage: str,
    api_id: str,
    headers: Any = None,
    query: Any = None,
    source_ip: str,
    user_agent: str,
    connected_at: float | None = None,
    disconnect_status_code: int | None = None,
    disconnect_reason: str = "",
) -> dict:
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    context = {
        "routeKey": route_key,
        "eventType": kind,
        "connectionId": connection_id,
        "domainName": domain_name,
        "stage": stage,
        "apiId": api_id,
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": is_binary}
    if body is not None:
        event["body"] = body
    if headers is not None:
        event["headers"] = dict(headers)
    if query:
        event["queryStringParameters"] = dict(query)
    return event


def route_key_for(body: str, selection: str = "$request.body.action", routes: Any = ()) -> Any:
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        action = None
    if isinstance(action, str) and action in routes:
        return action
    return "$default" if "$default" in routes else None


class Connections:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, dict] = {}

    def open(self, connection_id, post, close, source_ip, user_agent) -> None:
        now = datetime.now(timezone.utc)
        with self._lock:
            self._open[connection_id] = {
                "post": post,
                "close": close,
                "info": {
                    "ConnectedAt": now,
                    "Identity": {"SourceIp": source_ip, "UserAgent": user_agent},
                    "LastActiveAt": now,
                },
            }

    def _get(self, connection_id: str) -> dict:
        with self._lock:
            entry = self._open.get(connection_id)
        if entry is None:
            raise Gone(connection_id)
        return entry

    def post(self, connection_id: str, data: bytes) -> None:
        self._get(connection_id)["post"](data)

    def info(self, connection_id: str) -> dict:
        return dict(self._get(connection_id)["info"])

    def delete(self, connection_id: str) -> None:
        self._get(connection_id)["close"]()

    def touch(self, connection_id: str) -> None:
        with self._lock:
            entry = self._open.get(connection_id)
            if entry is not None:
                entry["info"]["LastActiveAt"] = datetime.now(timezone.utc)

    def forget(self, connection_id: str) -> None:
        with self._lock:
            self._open.pop(connection_id, None)


class WebsocketAPI:
    """The app side: sends through an unsigned boto3 client pointed at the local server."""

    def __init__(self) -> None:
        self._client: Any = None
        self.endpoint: str | None = None

    def use_endpoint(self, url: str) -> None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        self.endpoint = url
        self._client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(signature_version=UNSIGNED, max_pool_connections=64),
        )

    def send(self, connection_id: str, message: str | bytes) -> None:
        self._client.post_to_connection(ConnectionId=connection_id, Data=message)

    def close(self, connection_id: str) -> None:
        self._client.delete_connection(ConnectionId=connection_id)

    def info(self, connection_id: str) -> dict:
        return self._client.get_connection(ConnectionId=connection_id)


def install() -> None:
    module = types.ModuleType("microframework.websocket_local")
    names = ["Gone", "PayloadTooLarge", "new_connection_id", "connect_status"]
    for name in [*names, "websocket_event", "route_key_for", "Connections"]:
        setattr(module, name, globals()[name])
    sys.modules["microframework.websocket_local"] = module
