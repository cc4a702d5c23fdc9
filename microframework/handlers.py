"""Event handlers: the object an event decorator returns, callable as the Lambda handler.

Middleware is looked up from the owning app at call time, so middleware registered after a
handler (or by a blueprint registered later) still applies.
"""

from __future__ import annotations

from . import events as _events
from .errors import not_an_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .app import App

# decorator kind -> (event class, the middleware event_type that sees it)
EVENT_KINDS: dict[str, tuple[type[_events.BaseLambdaEvent], str]] = {
    "schedule": (_events.CloudWatchEvent, "scheduled"),
    "on_cw_event": (_events.CloudWatchEvent, "cloudwatch"),
    "on_s3_event": (_events.S3Event, "s3"),
    "on_sns_message": (_events.SNSEvent, "sns"),
    "on_sqs_message": (_events.SQSEvent, "sqs"),
    "on_kinesis_record": (_events.KinesisEvent, "kinesis"),
    "on_dynamodb_record": (_events.DynamoDBEvent, "dynamodb"),
    "lambda_function": (_events.LambdaFunctionEvent, "pure_lambda"),
}

MIDDLEWARE_EVENT_TYPES = frozenset(
    {"all", "http", "websocket"} | {event_type for _, event_type in EVENT_KINDS.values()}
)


def chain(
    middleware: list[Callable[..., Any]], innermost: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """Wrap ``innermost`` so each ``func(event, get_response)`` runs outside the ones after it."""
    handler = innermost
    for func in reversed(middleware):
        handler = _Link(func, handler)
    return handler


class _Link:
    __slots__ = ("func", "next")

    def __init__(self, func: Callable[..., Any], next_handler: Callable[[Any], Any]) -> None:
        self.func = func
        self.next = next_handler

    def __call__(self, event: Any) -> Any:
        return self.func(event, self.next)


class EventHandler:
    """``@app.on_s3_event(...)`` and friends return this; Lambda calls it as ``handler(event, context)``."""

    def __init__(self, func: Callable[..., Any], kind: str, name: str) -> None:
        self.func = func
        self.kind = kind
        self.name = name
        self.event_class, self.middleware_type = EVENT_KINDS[kind]
        self.owner: App | None = None  # the App, once registered
        self._chain: Callable[[Any], Any] | None = None
        self._chain_version = -1
        self.__name__ = getattr(func, "__name__", name)
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    def _innermost(self, event: _events.BaseLambdaEvent) -> Any:
        if self.kind == "lambda_function":
            return self.func(event.to_dict(), event.context)
        result = self.func(event)
        if result is None and isinstance(event, _events.SQSEvent):
            return event.batch_response()
        return result

    def __call__(self, event: Any, context: Any) -> Any:
        if type(event) is not dict and self.kind != "lambda_function":
            if not isinstance(event, dict):
                raise not_an_object(
                    event, f"@app.{self.kind} handler {self.name!r}", self.event_class.SOURCE
                )
        event_obj = self.event_class(event, context)
        owner = self.owner
        if owner is None:
            return self._innermost(event_obj)
        version = owner._middleware_version
        if self._chain is None or self._chain_version != version:
            self._chain = chain(owner._middleware_for(self.middleware_type), self._innermost)
            self._chain_version = version
        return self._chain(event_obj)

    def __repr__(self) -> str:
        return f"<EventHandler {self.kind} {self.name}>"


class ConvertToMiddleware:
    """Adapt a decorator written for ``handler(event, context)`` into middleware."""

    def __init__(self, lambda_wrapper: Callable[..., Any]) -> None:
        self._wrapper = lambda_wrapper

    def __call__(self, event: Any, get_response: Callable[[Any], Any]) -> Any:
        from .request import Request

        if isinstance(event, Request):
            original, context = event.to_original_event(), event.lambda_context
        else:
            original, context = event.to_dict(), event.context

        def wrapped(_original: Any, _context: Any) -> Any:
            return get_response(event)

        return self._wrapper(wrapped)(original, context)
