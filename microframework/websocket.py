"""WebSocket APIs: the event, the handler Lambda calls, and the client that posts back.

Loaded on the first ``@app.on_ws_*`` decorator or ``app.websocket_api`` access, so an app
without websockets never pays for it at cold start; boto3 is imported on the first ``send``,
``close`` or ``info``. Semantics are Chalice's: the same handler results reach API Gateway and
the same management API calls leave the function.
"""

from __future__ import annotations

import _thread
import os

from .errors import BadRequestError, FrameworkError, not_an_object
from .events import BaseLambdaEvent
from .handlers import chain
from .response import Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from typing import Any

    from .app import App

__all__ = [
    "ROUTE_KEYS",
    "WebsocketAPI",
    "WebsocketDisconnectedError",
    "WebsocketEvent",
    "WebsocketHandler",
    "register",
]

# decorator -> the route key API Gateway invokes it for; Chalice creates only these three routes.
ROUTE_KEYS = {
    "on_ws_connect": "$connect",
    "on_ws_message": "$default",
    "on_ws_disconnect": "$disconnect",
}
_DECORATORS = {route_key: decorator for decorator, route_key in ROUTE_KEYS.items()}

# What a handler that returns nothing answers: API Gateway accepts a $connect only on a 2xx.
_OK = {"statusCode": 200}

# A region's DNS suffix by the region name's prefix, for the partitions whose suffix is not
# amazonaws.com (botocore's endpoints.json "partitions"; tests compare with it). Checked in order.
_DNS_SUFFIXES = (
    ("cn-", "amazonaws.com.cn"),
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk"),
    ("eusc-", "amazonaws.eu"),
)


class WebsocketDisconnectedError(FrameworkError):
    """The connection is gone: the management API answered ``GoneException``."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(f"websocket connection {connection_id!r} is gone")
        self.connection_id = connection_id


class WebsocketEvent(BaseLambdaEvent):
    """One ``$connect``, message or ``$disconnect`` event of a WebSocket API."""

    SOURCE = "API Gateway (a WebSocket API)"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        context = event_dict["requestContext"]
        self.domain_name: str = context["domainName"]
        self.stage: str = context["stage"]
        self.connection_id: str = context["connectionId"]
        # As in Chalice: str() of the body, so an event without one ($connect, $disconnect)
        # reads "None".
        self.body: str = str(event_dict.get("body"))
        self._json_body: Any = _UNPARSED

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON, once; a body that is not JSON raises BadRequestError."""
        if self._json_body is _UNPARSED:
            import json

            try:
                self._json_body = json.loads(self.body)
            except ValueError:
                raise BadRequestError("Error Parsing JSON") from None
        return self._json_body


_UNPARSED: Any = object()


class WebsocketAPI:
    """``app.websocket_api``: post to, close and inspect the API's connections.

    The management client is created once, on first use, for the endpoint the first event
    configures (``https://{api_id}.execute-api.{region}.{dns suffix}/{stage}``); an app behind a
    custom domain calls ``configure(domain, base_path)`` before its first event. ``session`` is
    the boto3 Session it is created from (one is made on first use when the app sets none).
    """

    def __init__(self, env: MutableMapping[str, str] | None = None) -> None:
        self.session: Any = None
        self._env: MutableMapping[str, str] = os.environ if env is None else env
        self._endpoint: str | None = None
        self._unsigned = False
        self._client: Any = None
        # fw local's threads may all send first at once, and making clients from one boto3
        # Session in parallel is not safe. (_thread is built in: no import cost.)
        self._lock = _thread.allocate_lock()

    def configure(self, domain_name: str, stage: str) -> None:
        """Send to ``https://{domain_name}/{stage}``; the first configuration wins, as in Chalice."""
        if self._endpoint is None:
            self._endpoint = f"https://{domain_name}/{stage}"

    def configure_from_api_id(self, api_id: str, stage: str) -> None:
        """Configure from an event's API id and stage (each handler does, before the app runs)."""
        if self._endpoint is not None:
            return
        region = self._region()
        suffix = next((s for prefix, s in _DNS_SUFFIXES if region.startswith(prefix)), None)
        # "Use @connections commands in your backend service": the callback URL is
        # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}.
        self.configure(f"{api_id}.execute-api.{region}.{suffix or 'amazonaws.com'}", stage)

    def use_endpoint(self, url: str) -> None:
        """Talk to ``url`` from now on, unsigned (fw's local management API needs no credentials).

        Events no longer reconfigure it: this is how ``fw local`` points the app at itself.
        """
        self._endpoint = url.rstrip("/")
        self._unsigned = True
        self._client = None

    def _use_client(self, client: Any) -> None:
        # The in-process test client's management API; events no longer reconfigure it.
        self._endpoint = "in-process"
        self._client = client

    def _region(self) -> str:
        # Lambda always sets AWS_REGION; elsewhere the session's region is the last resort.
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if self._env.get(name):
                return self._env[name]
        if self.session is not None and self.session.region_name:
            return str(self.session.region_name)
        raise ValueError(
            "Unable to retrieve the region name when configuring the websocket client: set "
            "AWS_REGION or assign a boto3 session with a region to app.websocket_api.session"
        )

    def _get_client(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        if self._endpoint is None:
            raise ValueError(
                "WebsocketAPI.configure must be called before using the WebsocketAPI (a "
                "websocket handler configures it from its event)"
            )
        session = self.session
        if session is None:
            import boto3

            session = self.session = boto3.session.Session()
        options: dict[str, Any] = {"endpoint_url": self._endpoint}
        if self._unsigned:
            from botocore import UNSIGNED
            from botocore.config import Config

            # fw local's handlers run on many threads at once and share this client: botocore's
            # default pool of 10 connections queued 50 echoing clients (556 -> 681 messages/s).
            options["config"] = Config(signature_version=UNSIGNED, max_pool_connections=64)
            # botocore needs a region even for an unsigned request to a given endpoint.
            options["region_name"] = (
                session.region_name or self._env.get("AWS_REGION") or "us-east-1"
            )
        return session.client("apigatewaymanagementapi", **options)

    def send(self, connection_id: str, message: str | bytes) -> None:
        """Post ``message`` to the connection (PostToConnection)."""
        client = self._get_client()
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=message)
        except client.exceptions.GoneException:
            raise WebsocketDisconnectedError(connection_id) from None

    def close(self, connection_id: str) -> None:
        """Close the connection (DeleteConnection); API Gateway then runs ``$disconnect``."""
        client = self._get_client()
        try:
            client.delete_connection(ConnectionId=connection_id)
        except client.exceptions.GoneException:
            raise WebsocketDisconnectedError(connection_id) from None

    def info(self, connection_id: str) -> Any:
        """GetConnection's answer: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""
        client = self._get_client()
        try:
            return client.get_connection(ConnectionId=connection_id)
        except client.exceptions.GoneException:
            raise WebsocketDisconnectedError(connection_id) from None


class WebsocketHandler:
    """What ``@app.on_ws_*`` returns and records: Lambda calls it as ``handler(event, context)``.

    The result is what API Gateway gets, as Chalice builds it: a Response's proxy result, a
    dict (``statusCode`` 200 unless it names one), else ``{"statusCode": 200}``. On
    ``$connect`` a non-2xx status rejects the connection. The app's exceptions propagate:
    the invocation fails, as in Chalice.
    """

    # Its middleware event type, and its key in local_sources.LOCAL_SOURCES and the deployer's
    # role statements: one declaration for the three handlers.
    kind = "websocket"

    def __init__(self, func: Callable[..., Any], route_key: str, name: str) -> None:
        self.func = func
        self.handler_function = func  # Chalice's Websocket*Config attribute names
        self.route_key_handled = route_key
        self.name = name
        self.handler_string = ""  # <module>.<function>, set on registration
        self.owner: App | None = None
        self._chain: Callable[[Any], Any] | None = None
        self._chain_version = -1
        self.__name__ = getattr(func, "__name__", name)
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if type(event) is not dict and not isinstance(event, dict):
            raise not_an_object(event, f"websocket handler {self.name!r}", WebsocketEvent.SOURCE)
        owner = self.owner
        if owner is None:
            raise RuntimeError(
                f"websocket handler {self.name!r} belongs to a blueprint that no app registered"
            )
        request_context = event.get("requestContext")
        if type(request_context) is dict and "apiId" in request_context:
            owner.websocket_api.configure_from_api_id(
                request_context["apiId"], request_context.get("stage", "")
            )
        event_obj = WebsocketEvent(event, context)
        version = owner._middleware_version
        if self._chain is None or self._chain_version != version:
            self._chain = chain(owner._middleware_for("websocket"), self.func)
            self._chain_version = version
        return _gateway_result(self._chain(event_obj))

    def __repr__(self) -> str:
        return f"<WebsocketHandler {self.route_key_handled} {self.name}>"


def _gateway_result(result: Any) -> dict[str, Any]:
    if isinstance(result, Response):
        return result.to_dict()
    if isinstance(result, dict) and result:
        return result if "statusCode" in result else {**_OK, **result}
    return dict(_OK)


def register(app: App, name: str, handler: WebsocketHandler, module: str) -> None:
    """Record ``handler`` on ``app`` (what ``App._register`` does for ``@app.on_ws_*``)."""
    from .app import _check_handler_name, _describe

    route_key = handler.route_key_handled
    previous = app.websocket_handlers.get(route_key)
    if previous is not None:
        raise ValueError(
            f"duplicate websocket handler: @{_DECORATORS[route_key]} is already "
            f"{_describe(previous)}, so {_describe(handler)} cannot be; an API has one "
            f"{route_key} route"
        )
    _check_handler_name(app, name, handler)
    handler.name = name
    handler.handler_string = f"{module}.{handler.__name__}"
    handler.owner = app
    app.handlers[name] = handler
    app.websocket_handlers[route_key] = handler
