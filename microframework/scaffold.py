"""The decorators, shared by :class:`App` and :class:`Blueprint` through one base class.

Decorators only record: each calls ``_register`` and returns the function (routes) or the
handler object (events). An App registers at once; a Blueprint keeps the registrations until
``app.register_blueprint`` replays them with its prefixes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .authorizers import Authorizer, BuiltinAuthorizer
    from .cors import CORSConfig
    from .handlers import EventHandler
    from .schedule import ScheduleExpression

_STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON")


def _check_name(name: str, what: str) -> str:
    # The name becomes part of a Lambda function name: <app>-<stage>-<name>.
    if (
        not isinstance(name, str)
        or not name
        or not all(c.isalnum() or c in "-_" for c in name)
        or not name.isascii()
    ):
        raise ValueError(f"{what} name must use only letters, digits, '-' and '_', got {name!r}")
    return name


def _check_batch(batch_size: int, low: int, high: int, what: str) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not low <= batch_size <= high
    ):
        raise ValueError(
            f"{what} batch_size must be an integer from {low} to {high}, got {batch_size!r}"
        )


def _stream_options(
    kind: str, batch_size: int, starting_position: str, window: int
) -> dict[str, Any]:
    """The checked mapping options shared by the Kinesis and DynamoDB stream decorators."""
    _check_batch(batch_size, 1, 10000, kind)
    if starting_position not in _STARTING_POSITIONS:
        raise ValueError(
            f"starting_position must be LATEST or TRIM_HORIZON, got {starting_position!r}"
        )
    return {
        "batch_size": batch_size,
        "starting_position": starting_position,
        "maximum_batching_window_in_seconds": window,
    }


class Scaffold:
    """Owns every decorator; subclasses decide what registering means."""

    def route(
        self,
        path: str,
        methods: list[str] | str | None = None,
        name: str | None = None,
        authorizer: Authorizer | None = None,
        api_key_required: bool | None = None,
        content_types: list[str] | None = None,
        cors: bool | CORSConfig | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Serve ``path`` (``/users/{id}``, ``/files/{proxy+}``) with the decorated view."""
        if isinstance(methods, str):
            methods = [methods]
        options = {
            "path": path,
            "methods": ["GET"] if methods is None else list(methods),
            "authorizer": authorizer,
            "api_key_required": api_key_required,
            "content_types": ["application/json"] if content_types is None else content_types,
            "cors": cors,
        }

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            self._register("route", name or view.__name__, view, options)
            return view

        return decorator

    def authorizer(
        self,
        ttl_seconds: int | None = None,
        execution_role: str | None = None,
        name: str | None = None,
        header: str = "Authorization",
    ) -> Callable[[Callable[..., Any]], BuiltinAuthorizer]:
        """A Lambda (TOKEN) authorizer written in the app; routes name it with ``authorizer=``."""
        options = {"ttl_seconds": ttl_seconds, "execution_role": execution_role, "header": header}
        return self._event_decorator("authorizer", name, options)

    def schedule(
        self, expression: str | ScheduleExpression, name: str | None = None, description: str = ""
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler on a ``Rate``/``Cron`` schedule (an EventBridge rule)."""
        from .schedule import expression_string

        options = {"schedule_expression": expression_string(expression), "description": description}
        return self._event_decorator("schedule", name, options)

    def on_cw_event(
        self, event_pattern: dict[str, Any], name: str | None = None
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for EventBridge events that match ``event_pattern``."""
        if not isinstance(event_pattern, dict) or not event_pattern:
            raise ValueError(
                f"on_cw_event needs a non-empty event_pattern dict, got {event_pattern!r}"
            )
        return self._event_decorator("on_cw_event", name, {"event_pattern": event_pattern})

    def on_s3_event(
        self,
        bucket: str,
        events: list[str] | None = None,
        prefix: str | None = None,
        suffix: str | None = None,
        name: str | None = None,
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for notifications of ``bucket`` (default: every object created)."""
        if not bucket or not isinstance(bucket, str):
            raise ValueError(f"on_s3_event needs a bucket name, got {bucket!r}")
        events = ["s3:ObjectCreated:*"] if events is None else list(events)
        for event in events:
            if not isinstance(event, str) or not event.startswith("s3:"):
                raise ValueError(f"S3 event names look like 's3:ObjectCreated:*', got {event!r}")
        options = {"bucket": bucket, "events": events, "prefix": prefix, "suffix": suffix}
        return self._event_decorator("on_s3_event", name, options)

    def on_sns_message(
        self, topic: str, name: str | None = None
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for each message published to ``topic`` (a name or an ARN)."""
        if not topic or not isinstance(topic, str):
            raise ValueError(f"on_sns_message needs a topic name or ARN, got {topic!r}")
        return self._event_decorator("on_sns_message", name, {"topic": topic})

    def on_sqs_message(
        self,
        queue: str | None = None,
        batch_size: int = 1,
        name: str | None = None,
        queue_arn: str | None = None,
        maximum_batching_window_in_seconds: int = 0,
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for batches of messages from a queue (by name or ARN)."""
        if not queue and not queue_arn:
            raise ValueError("on_sqs_message needs either queue or queue_arn")
        _check_batch(batch_size, 1, 10000, "on_sqs_message")
        if not 0 <= maximum_batching_window_in_seconds <= 300:
            raise ValueError(
                "maximum_batching_window_in_seconds must be from 0 to 300, "
                f"got {maximum_batching_window_in_seconds!r}"
            )
        if batch_size > 10 and not maximum_batching_window_in_seconds:
            # Lambda refuses such a mapping; fail at definition, not at deploy.
            raise ValueError(
                f"on_sqs_message batch_size {batch_size} > 10 needs maximum_batching_window_in_seconds >= 1"
            )
        options = {
            "queue": queue,
            "queue_arn": queue_arn,
            "batch_size": batch_size,
            "maximum_batching_window_in_seconds": maximum_batching_window_in_seconds,
        }
        return self._event_decorator("on_sqs_message", name, options)

    def on_kinesis_record(
        self,
        stream: str,
        batch_size: int = 100,
        starting_position: str = "LATEST",
        name: str | None = None,
        maximum_batching_window_in_seconds: int = 0,
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for batches of records from a Kinesis stream."""
        options = _stream_options(
            "on_kinesis_record", batch_size, starting_position, maximum_batching_window_in_seconds
        )
        return self._event_decorator("on_kinesis_record", name, {"stream": stream, **options})

    def on_dynamodb_record(
        self,
        stream_arn: str,
        batch_size: int = 100,
        starting_position: str = "LATEST",
        name: str | None = None,
        maximum_batching_window_in_seconds: int = 0,
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """Run the handler for batches of records from a DynamoDB stream."""
        options = _stream_options(
            "on_dynamodb_record", batch_size, starting_position, maximum_batching_window_in_seconds
        )
        return self._event_decorator(
            "on_dynamodb_record", name, {"stream_arn": stream_arn, **options}
        )

    def lambda_function(
        self, name: str | None = None
    ) -> Callable[[Callable[..., Any]], EventHandler]:
        """A plain Lambda function ``func(event, context)`` deployed alongside the API."""
        return self._event_decorator("lambda_function", name, {})

    def on_ws_connect(self, name: str | None = None) -> Callable[[Callable[..., Any]], Any]:
        """Run the handler when a client connects ($connect); a non-2xx result refuses it."""
        return self._ws_decorator("on_ws_connect", name)

    def on_ws_message(self, name: str | None = None) -> Callable[[Callable[..., Any]], Any]:
        """Run the handler for each message a client sends ($default)."""
        return self._ws_decorator("on_ws_message", name)

    def on_ws_disconnect(self, name: str | None = None) -> Callable[[Callable[..., Any]], Any]:
        """Run the handler once a connection is closed, by either side ($disconnect)."""
        return self._ws_decorator("on_ws_disconnect", name)

    def _ws_decorator(self, decorator: str, name: str | None) -> Callable[..., Any]:
        def register(func: Callable[..., Any]) -> Any:
            from .websocket import ROUTE_KEYS, WebsocketHandler

            handler_name = _check_name(name or func.__name__, "handler")
            handler = WebsocketHandler(func, ROUTE_KEYS[decorator], handler_name)
            self._register("websocket", handler_name, handler, {"decorator": decorator})
            return handler

        return register

    def middleware(
        self, event_type: str = "all"
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Run ``func(event, get_response)`` around every handler of ``event_type``."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.register_middleware(func, event_type)
            return func

        return decorator

    def register_middleware(self, func: Callable[..., Any], event_type: str = "all") -> None:
        if event_type not in ("all", "http"):  # the common ones, without importing the table
            from .handlers import middleware_event_types

            known = middleware_event_types()
            if event_type not in known:
                raise ValueError(
                    f"unknown middleware event_type {event_type!r}; use one of {sorted(known)}"
                )
        self._register(
            "middleware", getattr(func, "__name__", "middleware"), func, {"event_type": event_type}
        )

    def _event_decorator(
        self, kind: str, name: str | None, options: dict[str, Any]
    ) -> Callable[..., Any]:
        def decorator(func: Callable[..., Any]) -> Any:
            handler_name = _check_name(name or func.__name__, "handler")
            if kind == "authorizer":
                from .authorizers import BuiltinAuthConfig, BuiltinAuthorizer

                handler: Any = BuiltinAuthorizer(
                    handler_name, func, BuiltinAuthConfig(handler_name, "", **options)
                )
            else:
                from .handlers import EventHandler

                handler = EventHandler(func, kind, handler_name)
            self._register(kind, handler_name, handler, options)
            return handler

        return decorator

    def _register(self, kind: str, name: str, target: Any, options: dict[str, Any]) -> None:
        raise NotImplementedError

    if not TYPE_CHECKING:  # type checkers keep flagging misspelt attributes of an app

        def __getattr__(self, attr: str) -> Any:
            # An event source declared in sources.SOURCES has its decorator here even without a
            # method of its own: it takes the record's fields as keywords, plus name=. The
            # sources above have methods for Chalice's signatures and their argument checks.
            source = None
            if not attr.startswith("_"):
                from .sources import SOURCES

                source = SOURCES.get(attr)
            if source is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
            return source.decorate(self)


class Blueprint(Scaffold):
    """A group of handlers defined in its own module and attached with ``app.register_blueprint``."""

    def __init__(self, import_name: str) -> None:
        self._import_name = import_name
        self._deferred: list[tuple[str, str, Any, dict[str, Any]]] = []
        self._app: Any = None

    def _register(self, kind: str, name: str, target: Any, options: dict[str, Any]) -> None:
        if self._app is not None:
            # register_blueprint replayed the registrations already: one added now would never
            # be served (Flask's Blueprint._check_setup_finished refuses it for the same reason).
            if kind == "route":
                what = f"route {options['path']!r} (view {name!r})"
            elif kind == "middleware":
                what = f"middleware {name!r}"
            else:
                what = f"@{kind} handler {name!r}"
            raise RuntimeError(
                f"{what} was added to blueprint {self._import_name!r} after "
                f"app {self._app.app_name!r} registered it, so it would never run; "
                "define every handler of a blueprint before calling register_blueprint"
            )
        self._deferred.append((kind, name, target, options))

    def register(
        self, app: Any, name_prefix: str | None = None, url_prefix: str | None = None
    ) -> None:
        """Replay this blueprint's registrations on ``app`` (what ``register_blueprint`` calls)."""
        self._app = app
        for kind, name, target, options in self._deferred:
            app._register(
                kind,
                f"{name_prefix}{name}" if name_prefix else name,
                target,
                options,
                module=self._import_name,
                url_prefix=url_prefix,
            )

    def _require_app(self, what: str) -> Any:
        if self._app is None:
            raise RuntimeError(
                f"Blueprint.{what} is only available once the blueprint is registered to an app"
            )
        return self._app

    @property
    def current_app(self) -> Any:
        return self._require_app("current_app")

    @property
    def current_request(self) -> Any:
        request = self._require_app("current_request").current_request
        if request is None:
            raise RuntimeError(
                "Blueprint.current_request is only available while a request is handled"
            )
        return request

    @property
    def lambda_context(self) -> Any:
        return self._require_app("lambda_context").lambda_context

    @property
    def log(self) -> Any:
        return self._require_app("log").log
