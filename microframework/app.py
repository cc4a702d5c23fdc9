"""The application object: registration of everything the app declares.

Routes are checked and precomputed here, once, so that the REST handler it inherits
(:mod:`microframework.dispatch`) does nothing per request but look them up.
"""

from __future__ import annotations

# contextvars only re-exports its C module; importing that directly is a tenth of a millisecond
# less on every cold start (the same trade as request.py's _collections_abc).
from _contextvars import ContextVar

from .cors import CORSConfig, check_route_cors
from .dispatch import RestDispatch
from .response import matches_content_type
from .scaffold import Scaffold, _check_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .authorizers import Authorizer, BuiltinAuthConfig
    from .request import Request
    from .response import Response
    from .scaffold import Blueprint
    from .sources import EventSourceConfig, LambdaFunctionConfig
    from .websocket import WebsocketAPI

_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# logging's level names, listed here so that checking one does not import logging.
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DEFAULT_BINARY_TYPES = (
    "application/octet-stream",
    "application/x-tar",
    "application/zip",
    "audio/basic",
    "audio/ogg",
    "audio/mp4",
    "audio/mpeg",
    "audio/wav",
    "audio/webm",
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "video/ogg",
    "video/mpeg",
    "video/webm",
)


class APIGateway:
    """API-wide settings: which content types are binary, and the default CORS of every route."""

    def __init__(self) -> None:
        self.binary_types: list[str] = list(_DEFAULT_BINARY_TYPES)
        self.cors: bool | CORSConfig = False

    @property
    def default_binary_types(self) -> list[str]:
        return list(_DEFAULT_BINARY_TYPES)


def parse_path_params(path: str) -> list[str]:
    """The parameter names of a path template, in order (``{proxy+}`` gives ``proxy``).

    Raises ValueError for a template API Gateway would reject.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"route path must start with '/', got {path!r}")
    names: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        if "{" not in segment and "}" not in segment:
            if segment == "" and index != len(segments) - 1:
                raise ValueError(f"route path {path!r} has an empty segment")
            continue
        if not (segment.startswith("{") and segment.endswith("}")) or segment.count("{") != 1:
            raise ValueError(
                f"route path {path!r}: a parameter must be a whole segment like '{{name}}', got {segment!r}"
            )
        name = segment[1:-1]
        if name.endswith("+"):
            if index != len(segments) - 1:
                raise ValueError(
                    f"route path {path!r}: a greedy parameter {segment!r} must be the last segment"
                )
            name = name[:-1]
        if not name.isidentifier():
            raise ValueError(f"route path {path!r}: parameter {segment!r} is not a valid name")
        if name in names:
            raise ValueError(f"route path {path!r} names parameter {name!r} twice")
        names.append(name)
    return names


def _function_params(func: Callable[..., Any]) -> tuple[set[str], set[str], bool]:
    """(all keyword-passable names, required ones, takes **kwargs) without importing inspect."""
    code = getattr(func, "__code__", None)
    if code is None:  # a callable object or a builtin: trust it
        return set(), set(), True
    positional = code.co_varnames[: code.co_argcount]
    kwonly = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    posonly = code.co_posonlyargcount
    if getattr(func, "__self__", None) is not None:
        positional = positional[1:]
        posonly = max(0, posonly - 1)
    defaults = func.__defaults__ or ()
    required = set(positional[: len(positional) - len(defaults)])
    kwdefaults = func.__kwdefaults__ or {}
    required |= {n for n in kwonly if n not in kwdefaults}
    takes_kwargs = bool(code.co_flags & 0x08)
    # Path parameters are passed by keyword, so positional-only ones cannot receive them.
    return set(positional[posonly:]) | set(kwonly), required, takes_kwargs


class RouteEntry:
    """One method of one route, with everything the dispatcher checks precomputed."""

    def __init__(
        self,
        view_function: Callable[..., Any],
        view_name: str,
        path: str,
        method: str,
        api_key_required: bool | None = None,
        content_types: list[str] | None = None,
        cors: bool | CORSConfig | None = False,
        authorizer: Authorizer | None = None,
        view_args: list[str] | None = None,
    ) -> None:
        self.view_function = view_function
        self.view_name = view_name
        self.path = self.uri_pattern = path
        self.method = method
        self.api_key_required = api_key_required
        self.content_types = list(content_types or [])
        self.cors: CORSConfig | None = CORSConfig() if cors is True else (cors or None)
        self.authorizer = authorizer
        self.view_args = parse_path_params(path) if view_args is None else view_args
        self._content_types = frozenset(t.lower() for t in self.content_types)
        self._cors_headers = None if self.cors is None else self.cors.get_access_control_headers()
        # No Content-Type counts as application/json.
        self._accepts_missing = not self._content_types or matches_content_type(
            "application/json", self._content_types
        )

    def accepts(self, content_type: str | None) -> bool:
        """Whether a request with this Content-Type may reach the view (else 415)."""
        if content_type is None:
            return self._accepts_missing
        if content_type in self._content_types or not self._content_types:
            return True
        return matches_content_type(content_type, self._content_types)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteEntry) and self.__dict__ == other.__dict__

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<RouteEntry {self.method} {self.path} -> {self.view_name}>"


class App(Scaffold, RestDispatch):
    """The app: ``app = App("name")``; Lambda calls ``app(event, context)`` for HTTP requests."""

    def __init__(
        self,
        app_name: str,
        debug: bool = False,
        configure_logs: bool = True,
        log_level: str | None = None,
    ) -> None:
        # log_level (fw only): the level app.log starts at, e.g. "INFO", instead of Chalice's
        # ERROR. Set on the first use of app.log, so the app does not import logging at cold
        # start as app.log.setLevel(logging.INFO) would.
        if log_level is not None and log_level not in _LOG_LEVELS:
            raise ValueError(
                f"log_level {log_level!r} is not a logging level; use one of "
                + ", ".join(repr(name) for name in _LOG_LEVELS)
            )
        self.app_name = app_name
        self.api = APIGateway()
        self.routes: dict[str, dict[str, RouteEntry]] = {}
        self.event_sources: list[EventSourceConfig] = []
        self.pure_lambda_functions: list[LambdaFunctionConfig] = []
        self.builtin_auth_handlers: list[BuiltinAuthConfig] = []
        self.handlers: dict[str, Any] = {}  # name -> EventHandler/BuiltinAuthorizer, for local runs
        self.middleware_handlers: list[tuple[Callable[..., Any], str]] = []
        self.blueprints: list[Blueprint] = []
        # route key -> WebsocketHandler; the WebsocketAPI is made on first use (see websocket_api).
        self.websocket_handlers: dict[str, Any] = {}
        self._websocket_api: WebsocketAPI | None = None
        # Chalice apps switch features on through this set; fw has nothing behind a flag, but a
        # ported app that writes to it must still import.
        self.experimental_feature_flags: set[str] = set()
        self._middleware_version = 0
        self._http_chain: Callable[[Request], Response] | None = None
        self._http_chain_version = -1
        self._debug = debug
        self.configure_logs = configure_logs
        self.log_level = log_level
        self._log: Any = None
        self._route_table: Any = None
        self._param_names: dict[tuple[str, ...], str] = {}
        self._request_var: ContextVar[Request | None] = ContextVar(
            f"{app_name}.request", default=None
        )
        self._context_var: ContextVar[Any] = ContextVar(f"{app_name}.context", default=None)

    # -- per-request state ------------------------------------------------------------------
    @property
    def current_request(self) -> Request | None:
        """The request being handled in this thread/task (a ContextVar, never shared)."""
        return self._request_var.get()

    @current_request.setter
    def current_request(self, request: Request | None) -> None:
        self._request_var.set(request)

    @property
    def lambda_context(self) -> Any:
        request = self._request_var.get()
        return request.lambda_context if request is not None else self._context_var.get()

    @lambda_context.setter
    def lambda_context(self, context: Any) -> None:
        self._context_var.set(context)

    @property
    def debug(self) -> bool:
        return self._debug

    @debug.setter
    def debug(self, value: bool) -> None:
        self._debug = value
        if self._log is not None and self.configure_logs:
            from .logs import set_level

            set_level(self._log, value, self.log_level)

    @property
    def log(self) -> Any:
        """The app's ``logging.Logger``, writing to stdout as Chalice's does (set up on first use)."""
        if self._log is None:
            from .logs import app_logger

            self._log = app_logger(self.app_name, self._debug, self.configure_logs, self.log_level)
        return self._log

    @property
    def websocket_api(self) -> WebsocketAPI:
        """Post to, close and inspect WebSocket connections (created on first use)."""
        if self._websocket_api is None:
            try:
                from .websocket import WebsocketAPI
            except ModuleNotFoundError as err:
                from .errors import not_shipped

                raise not_shipped(err) from None

            self._websocket_api = WebsocketAPI()
        return self._websocket_api

    @websocket_api.setter
    def websocket_api(self, api: WebsocketAPI) -> None:
        self._websocket_api = api

    # -- registration -----------------------------------------------------------------------
    def register_blueprint(
        self, blueprint: Blueprint, name_prefix: str | None = None, url_prefix: str | None = None
    ) -> None:
        """Attach a blueprint's handlers, prefixing their names and URLs."""
        if url_prefix is not None and not url_prefix.startswith("/"):
            raise ValueError(f"url_prefix must start with '/', got {url_prefix!r}")
        blueprint.register(self, name_prefix=name_prefix, url_prefix=url_prefix)
        self.blueprints.append(blueprint)

    def _register(
        self,
        kind: str,
        name: str,
        target: Any,
        options: dict[str, Any],
        module: str = "app",
        url_prefix: str | None = None,
    ) -> None:
        if kind == "route":
            self._register_route(name, target, options, url_prefix)
            return
        if kind == "middleware":
            self.middleware_handlers.append((target, options["event_type"]))
            self._middleware_version += 1
            return
        if kind == "websocket":
            from .websocket import register

            register(self, name, target, module)
            return
        _check_handler_name(self, name, target)
        handler_string = f"{module}.{target.__name__}"
        self.handlers[name] = target
        if kind == "authorizer":
            target.config.name = name
            target.config.handler_string = handler_string
            self.builtin_auth_handlers.append(target.config)
            return
        target.owner = self
        from .sources import SOURCES

        source = SOURCES[kind]
        record: Any = source.record(name=name, handler_string=handler_string, **options)
        (self.event_sources if source.trigger else self.pure_lambda_functions).append(record)

    def _register_route(
        self, name: str, view: Callable[..., Any], options: dict[str, Any], url_prefix: str | None
    ) -> None:
        path = options["path"]
        if url_prefix:
            path = url_prefix.rstrip("/") + ("/" + path.strip("/") if path.strip("/") else "")
            path = path or "/"
        where = f"route {path!r} (view {name!r})"
        try:
            params = parse_path_params(path)
        except ValueError as err:
            raise ValueError(f"{err} in view {name!r}") from None
        claims = self._sibling_param_claims(path, name)
        content_types = options["content_types"]
        if not isinstance(content_types, list) or not all(
            isinstance(c, str) for c in content_types
        ):
            raise ValueError(
                f"{where}: content_types must be a list of strings, got {content_types!r}"
            )
        accepted, required, takes_kwargs = _function_params(view)
        greedy = path.rstrip("/").endswith("+}")
        if not takes_kwargs:
            missing = [p for p in params if p not in accepted and not (greedy and p == params[-1])]
            if missing:
                raise ValueError(f"{where}: the view does not take the path parameter(s) {missing}")
        unfilled = sorted(required - set(params))
        if unfilled:
            raise ValueError(
                f"{where}: the view requires argument(s) {unfilled} that the path does not provide"
            )
        # A greedy {proxy+} is passed only to views that ask for it, as Chalice apps expect.
        view_args = [
            p for p in params if not (greedy and p == params[-1]) or p in accepted or takes_kwargs
        ]
        cors = options["cors"]
        if cors is None:
            cors = self.api.cors
        methods = options["methods"]
        if not methods:
            raise ValueError(f"{where}: methods must name at least one HTTP method")
        existing = self.routes.get(path, {})
        entries: dict[str, RouteEntry] = {}
        # Validate every method before changing anything: a rejected route leaves no trace.
        for method in methods:
            upper = method.upper() if isinstance(method, str) else method
            if upper not in _HTTP_METHODS:
                raise ValueError(
                    f"{where}: unknown HTTP method {method!r}; use one of {sorted(_HTTP_METHODS)}"
                )
            other = existing.get(upper) or entries.get(upper)
            if other is not None:
                raise ValueError(
                    f"duplicate route: {upper} {path} is handled by both view "
                    f"{other.view_name!r} and view {name!r}"
                )
            entries[upper] = RouteEntry(
                view,
                name,
                path,
                upper,
                api_key_required=options["api_key_required"],
                content_types=content_types,
                cors=cors,
                authorizer=options["authorizer"],
                view_args=view_args,
            )
        check_route_cors(path, name, next(iter(entries.values())).cors, existing)
        self._param_names.update(claims)
        self.routes.setdefault(path, {}).update(entries)
        self._route_table = None

    def _sibling_param_claims(self, path: str, name: str) -> dict[tuple[str, ...], str]:
        """The parameter names ``path`` would claim per position; raises on a conflict.

        API Gateway has one resource per position: /a/{id} and /a/{key}/b cannot coexist.
        """
        claims: dict[tuple[str, ...], str] = {}
        prefix: list[str] = []
        for segment in path.strip("/").split("/"):
            if segment.startswith("{"):
                key = tuple(prefix)
                param = segment[1:-1]
                known = self._param_names.get(key, param)
                if known != param:
                    raise ValueError(
                        f"route {path!r} (view {name!r}): parameter {{{param}}} conflicts with "
                        f"{{{known}}} at the same position of another route; "
                        "API Gateway needs one name"
                    )
                claims[key] = param
                prefix.append("{}")
            else:
                prefix.append(segment)
        return claims

    @property
    def route_table(self) -> Any:
        """The compiled :class:`~microframework.routing.RouteTable` (local server, test client)."""
        if self._route_table is None:
            from .routing import RouteTable

            self._route_table = RouteTable(self.routes)
        return self._route_table


def _check_handler_name(app: App, name: str, target: Any) -> None:
    """Refuse a handler name that is not a valid Lambda name part, or that one is using."""
    _check_name(name, "handler")
    previous = app.handlers.get(name)
    if previous is not None:
        raise ValueError(
            f"duplicate handler name {name!r}: {_describe(previous)} and {_describe(target)}; "
            "pass name=... to one of them"
        )


def _describe(handler: Any) -> str:
    func = getattr(handler, "func", handler)
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def __getattr__(name: str) -> object:
    # `from chalice.app import X` ports as `from microframework.app import X`: every name the
    # package exports resolves here too, loaded on first use like the package's own.
    import sys

    package = sys.modules[__package__]
    if name in package.__all__:
        return getattr(package, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
