"""The app graph: the app's functions, their triggers and its API, derived once, in one order.

``fw deploy`` (``desired``), ``fw package`` (``package/sam``) and ``fw gen-policy``
(``policy/triggers``) all read it, so the three list the same functions in the same order: the
REST handler, the event handlers, the plain Lambda functions, the built-in authorizers, then the
websocket handlers ($connect, $default, $disconnect).
Compare Chalice's ``deploy/appgraph.py``, which both its deploy and package walk.
"""

from __future__ import annotations

from typing import Any

import attrs

from deployer.project.config import API_HANDLER_NAME

__all__ = ["REST_HANDLER_STRING", "WEBSOCKET_FUNCTIONS", "AppGraph", "GraphFunction", "app_graph"]

# API Gateway invokes the app object itself, which dispatches on the matched resource.
REST_HANDLER_STRING = "app.app"
# A websocket handler's function, by the route key it serves: Chalice's names (its
# ``deploy/appgraph.py``), so a ported app keeps its function names and config keys.
WEBSOCKET_FUNCTIONS = {
    "$connect": "websocket_connect",
    "$default": "websocket_message",
    "$disconnect": "websocket_disconnect",
}


@attrs.frozen
class GraphFunction:
    """One Lambda function of the app."""

    name: str | None  # the config's function name; None is the REST handler
    handler: str  # "app.app" or "<module>.<function>"
    role: str  # "rest", "event", "function", "authorizer" or "websocket"
    source: Any = None  # the event source record (event handlers), the WebsocketHandler
    config: Any = None  # the authorizer's record, for built-in authorizers

    @property
    def logical_name(self) -> str:
        """The name the deploy side keys a function by (``api_handler`` for the REST one)."""
        return self.name if self.name is not None else API_HANDLER_NAME


@attrs.frozen
class AppGraph:
    """Every function of one app, in the one order all outputs use, and whether it has an API."""

    app: Any
    functions: tuple[GraphFunction, ...]

    @property
    def has_api(self) -> bool:
        return bool(self.app.routes)

    @property
    def authorizers(self) -> tuple[GraphFunction, ...]:
        return tuple(f for f in self.functions if f.role == "authorizer")

    @property
    def websocket_handlers(self) -> tuple[GraphFunction, ...]:
        return tuple(f for f in self.functions if f.role == "websocket")

    @property
    def event_handlers(self) -> tuple[GraphFunction, ...]:
        return tuple(f for f in self.functions if f.role == "event")


def app_graph(app: Any) -> AppGraph:
    """The graph of ``app`` (an ``App`` whose decorators have all run)."""
    functions: list[GraphFunction] = []
    if app.routes:
        functions.append(GraphFunction(None, REST_HANDLER_STRING, "rest"))
    functions += [
        GraphFunction(s.name, s.handler_string, "event", source=s) for s in app.event_sources
    ]
    functions += [
        GraphFunction(f.name, f.handler_string, "function") for f in app.pure_lambda_functions
    ]
    functions += [
        GraphFunction(a.name, a.handler_string, "authorizer", config=a)
        for a in app.builtin_auth_handlers
    ]
    functions += [
        GraphFunction(name, handler.handler_string, "websocket", source=handler)
        for route_key, name in WEBSOCKET_FUNCTIONS.items()
        if (handler := app.websocket_handlers.get(route_key)) is not None
    ]
    return AppGraph(app, tuple(functions))
