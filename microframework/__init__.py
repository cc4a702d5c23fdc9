"""fw's runtime: the app object users import in ``app.py``, shipped inside every Lambda zip.

Only what a hello-world app needs is imported eagerly; the rest loads on first use, because
every import here is paid on each Lambda cold start. A Chalice app ports by changing
``chalice`` to ``microframework`` in its imports: every name of ``chalice`` and ``chalice.app``
that fw implements is exported under its Chalice name too (``microframework.app`` resolves them
as ``chalice.app`` does).
"""

from __future__ import annotations

from .app import APIGateway, App, RouteEntry
from .cors import CORSConfig
from .errors import (
    BadRequestError,
    ChaliceViewError,
    ConflictError,
    ForbiddenError,
    FrameworkError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTimeoutError,
    TooManyRequestsError,
    UnauthorizedError,
    UnhandledError,
    UnprocessableEntityError,
    ViewError,
)
from .request import CaseInsensitiveMapping, MultiDict, Request
from .response import Response
from .scaffold import Blueprint

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:  # what __getattr__ resolves on first use, spelled out for type checkers
    from .app import App as Chalice
    from .authorizers import (
        Authorizer,
        AuthRequest,
        AuthResponse,
        AuthRoute,
        BuiltinAuthConfig,
        BuiltinAuthorizer,
        CognitoUserPoolAuthorizer,
        CustomAuthorizer,
        IAMAuthorizer,
    )
    from .authorizers import BuiltinAuthorizer as ChaliceAuthorizer
    from .errors import ALL_ERRORS
    from .errors import FrameworkError as ChaliceError
    from .errors import UnhandledError as ChaliceUnhandledError
    from .events import (
        BaseLambdaEvent,
        CloudWatchEvent,
        DynamoDBEvent,
        DynamoDBRecord,
        KinesisEvent,
        KinesisRecord,
        LambdaFunctionEvent,
        S3Event,
        S3Record,
        SNSEvent,
        SNSRecord,
        SQSEvent,
        SQSRecord,
    )
    from .handlers import ConvertToMiddleware, EventHandler
    from .handlers import EventHandler as EventSourceHandler
    from .hints import HeadersType, MiddlewareFuncType, UserHandlerFuncType
    from .response import error_response
    from .scaffold import Scaffold
    from .scaffold import Scaffold as DecoratorAPI
    from .schedule import Cron, Rate, ScheduleExpression
    from .sources import (
        CloudWatchEventConfig,
        DynamoDBEventConfig,
        KinesisEventConfig,
        LambdaFunctionConfig,
        S3EventConfig,
        ScheduledEventConfig,
        SNSEventConfig,
        SQSEventConfig,
    )
    from .websocket import (
        WebsocketAPI,
        WebsocketDisconnectedError,
        WebsocketEvent,
        WebsocketHandler,
    )
    from .websocket import WebsocketHandler as WebsocketEventSourceHandler

_LAZY = {
    "ALL_ERRORS": "errors",
    "Scaffold": "scaffold",
    "Rate": "schedule",
    "Cron": "schedule",
    "ScheduleExpression": "schedule",
    "AuthRequest": "authorizers",
    "AuthResponse": "authorizers",
    "AuthRoute": "authorizers",
    "Authorizer": "authorizers",
    "IAMAuthorizer": "authorizers",
    "CognitoUserPoolAuthorizer": "authorizers",
    "CustomAuthorizer": "authorizers",
    "BuiltinAuthorizer": "authorizers",
    "BuiltinAuthConfig": "authorizers",
    "BaseLambdaEvent": "events",
    "CloudWatchEvent": "events",
    "S3Event": "events",
    "S3Record": "events",
    "SNSEvent": "events",
    "SNSRecord": "events",
    "SQSEvent": "events",
    "SQSRecord": "events",
    "KinesisEvent": "events",
    "KinesisRecord": "events",
    "DynamoDBEvent": "events",
    "DynamoDBRecord": "events",
    "LambdaFunctionEvent": "events",
    "EventHandler": "handlers",
    "ConvertToMiddleware": "handlers",
    "ScheduledEventConfig": "sources",
    "CloudWatchEventConfig": "sources",
    "S3EventConfig": "sources",
    "SNSEventConfig": "sources",
    "SQSEventConfig": "sources",
    "KinesisEventConfig": "sources",
    "DynamoDBEventConfig": "sources",
    "LambdaFunctionConfig": "sources",
    "error_response": "response",
    "HeadersType": "hints",
    "UserHandlerFuncType": "hints",
    "MiddlewareFuncType": "hints",
    "WebsocketAPI": "websocket",
    "WebsocketDisconnectedError": "websocket",
    "WebsocketEvent": "websocket",
    "WebsocketHandler": "websocket",
}

# Chalice's names for the same things, so a port keeps its import lines' names.
_ALIASES = {
    "Chalice": "App",
    "ChaliceError": "FrameworkError",
    "ChaliceUnhandledError": "UnhandledError",
    "ChaliceAuthorizer": "BuiltinAuthorizer",
    "DecoratorAPI": "Scaffold",
    "EventSourceHandler": "EventHandler",
    "WebsocketEventSourceHandler": "WebsocketHandler",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        try:
            value = getattr(importlib.import_module(f".{module}", __name__), name)
        except ModuleNotFoundError as err:
            from .errors import not_shipped

            raise not_shipped(err) from None
    elif name in _ALIASES:
        target = _ALIASES[name]
        value = globals()[target] if target in globals() else __getattr__(target)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "ALL_ERRORS",
    "APIGateway",
    "App",
    "AuthRequest",
    "AuthResponse",
    "AuthRoute",
    "Authorizer",
    "BadRequestError",
    "BaseLambdaEvent",
    "Blueprint",
    "BuiltinAuthConfig",
    "BuiltinAuthorizer",
    "CORSConfig",
    "CaseInsensitiveMapping",
    "Chalice",
    "ChaliceAuthorizer",
    "ChaliceError",
    "ChaliceUnhandledError",
    "ChaliceViewError",
    "CloudWatchEvent",
    "CloudWatchEventConfig",
    "CognitoUserPoolAuthorizer",
    "ConflictError",
    "ConvertToMiddleware",
    "Cron",
    "CustomAuthorizer",
    "DecoratorAPI",
    "DynamoDBEvent",
    "DynamoDBEventConfig",
    "DynamoDBRecord",
    "EventHandler",
    "EventSourceHandler",
    "ForbiddenError",
    "FrameworkError",
    "HeadersType",
    "IAMAuthorizer",
    "KinesisEvent",
    "KinesisEventConfig",
    "KinesisRecord",
    "LambdaFunctionConfig",
    "LambdaFunctionEvent",
    "MethodNotAllowedError",
    "MiddlewareFuncType",
    "MultiDict",
    "NotFoundError",
    "Rate",
    "Request",
    "RequestTimeoutError",
    "Response",
    "RouteEntry",
    "S3Event",
    "S3EventConfig",
    "S3Record",
    "SNSEvent",
    "SNSEventConfig",
    "SNSRecord",
    "SQSEvent",
    "SQSEventConfig",
    "SQSRecord",
    "Scaffold",
    "ScheduleExpression",
    "ScheduledEventConfig",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnhandledError",
    "UnprocessableEntityError",
    "UserHandlerFuncType",
    "ViewError",
    "WebsocketAPI",
    "WebsocketDisconnectedError",
    "WebsocketEvent",
    "WebsocketEventSourceHandler",
    "WebsocketHandler",
    "error_response",
]
