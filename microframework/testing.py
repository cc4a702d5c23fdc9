"""A test client that runs an app as API Gateway and Lambda would, in-process.

``Client(app).http.get("/")`` goes through the same gateway emulation as ``fw local``, so a
test sees the deployed API's status codes and headers: 403 for unknown paths and undefined
methods, path parameters as sent, API Gateway's size quotas (only the sockets are skipped).
"""

from __future__ import annotations

from .gateway import LambdaContext, LocalGateway

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .app import App
    from .websocket_local import WebsocketClient


class FunctionNotFoundError(ValueError):
    """``client.lambda_.invoke`` of a name the app registers no handler under (Chalice's name).

    A ValueError too, which is what fw's client raised before it took Chalice's name.
    """


class HTTPResponse:
    """What ``client.http.*`` returns."""

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON; None when it is empty or not JSON (as in Chalice's client)."""
        import json

        try:
            return json.loads(self.body)
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError for non-UTF-8 bytes
            return None

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.status_code}>"


# The files fw deploys with, in its order: fw's own layout, else a Chalice project's.
_CONFIG_FILES = ((".fw", "config.json"), (".chalice", "config.json"))


class _StageConfig:
    """The stage's settings the client needs, from the file ``fw deploy`` reads:
    ``<project_dir>/.fw/config.json``, else ``<project_dir>/.chalice/config.json``.

    Only what a test run needs (environment variables, the API stage name), read with the same
    lookup order ``deployer/project/config.py`` validates and deploys with: top level, top-level
    ``lambda_functions.<name>``, the stage, the stage's ``lambda_functions.<name>``. The runtime
    cannot import the deployer (it ships stdlib-only), so this reads the JSON itself; a missing
    file means no settings, as in Chalice's client.
    """

    def __init__(self, project_dir: str, stage: str) -> None:
        import json
        import os

        self.data: dict[str, Any] = {}
        for parts in _CONFIG_FILES:
            path = os.path.join(project_dir, *parts)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as file:
                    self.data = json.load(file)
                break
        self.stage = (self.data.get("stages") or {}).get(stage) or {}

    @property
    def api_stage(self) -> str:
        return self.stage.get("api_gateway_stage") or self.data.get("api_gateway_stage") or "api"

    @property
    def endpoint_type(self) -> str:
        """EDGE (fw's default), REGIONAL or PRIVATE: the URL length quota depends on it."""
        key = "api_gateway_endpoint_type"
        return self.stage.get(key) or self.data.get(key) or "EDGE"

    def environment(self, function: str) -> dict[str, str]:
        env: dict[str, str] = {}
        for level in (self.data, self.stage):
            env.update(level.get("environment_variables") or {})
            env.update(
                ((level.get("lambda_functions") or {}).get(function) or {}).get(
                    "environment_variables"
                )
                or {}
            )
        return env


class _patched_environ:  # noqa: N801 - used as a context manager, like contextlib's helpers
    """Run one request/invocation with a function's environment variables, then restore."""

    def __init__(self, variables: dict[str, str]) -> None:
        self._variables = variables
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        import os

        self._saved = {name: os.environ.get(name) for name in self._variables}
        os.environ.update(self._variables)

    def __exit__(self, *exc: object) -> None:
        import os

        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _HTTP:
    def __init__(self, gateway: LocalGateway, environment: dict[str, str]) -> None:
        self._gateway = gateway
        self._environment = environment

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        json: Any = None,
    ) -> HTTPResponse:
        pairs = list((headers or {}).items())
        if json is not None:
            from .response import dumps

            body = dumps(json)
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("Content-Type", "application/json"))
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        with _patched_environ(self._environment):
            response = self._gateway.handle(method, path, pairs, data)
        merged: dict[str, str] = {}
        for name, value in response.headers:
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return HTTPResponse(response.status, merged, response.body)

    def get(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("OPTIONS", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> HTTPResponse:
        return self.request("HEAD", path, **kwargs)


class _Events:
    """Sample events, shaped as the services send them: ``generate_<command>_event`` for each
    event source of :data:`~microframework.local_sources.LOCAL_SOURCES` (Chalice's names and
    signatures for Chalice's sources; see :mod:`microframework.sample_events`)."""

    def __getattr__(self, attr: str) -> Callable[..., dict[str, Any]]:
        from .local_sources import LOCAL_SOURCES

        for local in LOCAL_SOURCES.values():
            if local.client_method == attr:
                return local.client
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def __dir__(self) -> list[str]:
        from .local_sources import LOCAL_SOURCES

        return sorted({*super().__dir__(), *(s.client_method for s in LOCAL_SOURCES.values())})


class InvokeResponse:
    def __init__(self, payload: Any) -> None:
        self.payload = payload


class _Lambda:
    def __init__(self, app: App, config: _StageConfig) -> None:
        self._app = app
        self._config = config

    def invoke(self, function_name: str, payload: Any = None) -> InvokeResponse:
        """Call the handler registered as ``function_name`` with ``payload`` as its event."""
        handler = self._app.handlers.get(function_name)
        if handler is None:
            known = ", ".join(sorted(self._app.handlers)) or "none"
            raise FunctionNotFoundError(f"no handler named {function_name!r} (known: {known})")
        # The handler's own name, as Chalice's client sets it (deployed, it is <app>-<stage>-<name>).
        context = LambdaContext(function_name)
        with _patched_environ(self._config.environment(function_name)):
            return InvokeResponse(handler(payload if payload is not None else {}, context))


class Client:
    """``with Client(app) as client:`` — or use it directly; there is nothing to close.

    ``stage_name`` picks the stage of ``<project_dir>/.fw/config.json``, or of a Chalice
    project's ``.chalice/config.json`` (as Chalice's client does): each request and invocation runs with that function's environment variables, and the
    events carry the stage's API Gateway stage name.
    """

    def __init__(
        self,
        app: App,
        stage_name: str = "dev",
        project_dir: str = ".",
        stage_variables: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        config = _StageConfig(project_dir, stage_name)
        gateway = LocalGateway(
            app,
            # The REST handler's lambda_context.function_name, as in Chalice's client.
            function_name="api_handler",
            stage=config.api_stage,
            stage_variables=stage_variables,
            endpoint_type=config.endpoint_type,
        )
        self.http = _HTTP(gateway, config.environment("api_handler"))
        self.events = _Events()
        self.lambda_ = _Lambda(app, config)
        self._config = config
        self._websocket: Any = None

    @property
    def websocket(self) -> WebsocketClient:
        """The app's WebSocket API, in-process (see :mod:`microframework.websocket_local`)."""
        if self._websocket is None:
            from .websocket_local import WebsocketClient

            config = self._config
            self._websocket = WebsocketClient(self.app, config.api_stage, config.environment)
        return self._websocket

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
