"""fw's runtime: the app object users import in ``app.py``, shipped inside every Lambda zip.

Only what a hello-world app needs is imported eagerly; the rest loads on first use, because
every import here is paid on each Lambda cold start. A Chalice app ports with
``from microframework import App as Chalice, ViewError as ChaliceViewError, ...``.
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

_LAZY = {
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
}

# Chalice's names for the same things, so ports can keep their imports' shape.
_ALIASES = {
    "Chalice": "App",
    "ChaliceViewError": "ViewError",
    "ChaliceError": "FrameworkError",
    "ChaliceUnhandledError": "UnhandledError",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if name in _ALIASES:
        return globals()[_ALIASES[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
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
    "ChaliceViewError",
    "CloudWatchEvent",
    "CloudWatchEventConfig",
    "CognitoUserPoolAuthorizer",
    "ConflictError",
    "ConvertToMiddleware",
    "Cron",
    "CustomAuthorizer",
    "DynamoDBEvent",
    "DynamoDBEventConfig",
    "DynamoDBRecord",
    "EventHandler",
    "ForbiddenError",
    "FrameworkError",
    "IAMAuthorizer",
    "KinesisEvent",
    "KinesisEventConfig",
    "KinesisRecord",
    "LambdaFunctionConfig",
    "LambdaFunctionEvent",
    "MethodNotAllowedError",
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
    "ScheduleExpression",
    "ScheduledEventConfig",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnhandledError",
    "UnprocessableEntityError",
    "ViewError",
]
