"""Event handlers: the object an event decorator returns, callable as the Lambda handler.

Middleware is looked up from the owning app at call time, so middleware registered after a
handler (or by a blueprint registered later) still applies.
"""

from __future__ import annotations

from .errors import not_an_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .app import App
    from .events import BaseLambdaEvent


def middleware_event_types() -> frozenset[str]:
    """What ``@app.middleware(event_type)`` accepts: ``all``, ``http``, ``websocket``, and each
    event source's own type."""
    from .sources import SOURCES

    return frozenset({"all", "http", "websocket"} | {s.middleware for s in SOURCES.values()})


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
        from .sources import SOURCES

        self.kind = kind
        self.name = name
        source = SOURCES[kind]
        self.event_class = source.event
        self.middleware_type = source.middleware
        self._object_only = source.event.OBJECT_ONLY
        self.owner: App | None = None  # the App, once registered
        self._chain: Callable[[Any], Any] | None = None
        self._chain_version = -1
        self.__name__ = getattr(func, "__name__", name)
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    def _innermost(self, event: BaseLambdaEvent) -> Any:
        return event._call_handler(self.func)

    def __call__(self, event: Any, context: Any) -> Any:
        if type(event) is not dict and self._object_only:
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
