"""The event sources: one declaration each (``SOURCES``), and the records their decorators make.

A declaration names the decorator, the record it makes, the event class its handler receives
and the middleware ``event_type`` that sees it; the decorators, the handlers, middleware and the
deployer read it here instead of keeping lists of their own. The local half of each declaration
(sample event, ``fw generate-event`` options, what ``fw local`` shows and fires) is in
:mod:`microframework.local_sources`, which Lambda never loads.

The records are plain: the deployer reads them to create rules, subscriptions, mappings and
functions; ``fw local`` reads them to fire schedules. The runtime never acts on them.
"""

from __future__ import annotations

from . import events

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _Record:
    __slots__: tuple[str, ...] = ()
    kind = ""
    # Every record has these; the rest are declared per class for type checkers.
    name: str
    handler_string: str

    def __init__(self, **values: Any) -> None:
        for field in self.__slots__:
            setattr(self, field, values.pop(field, None))
        if values:
            raise TypeError(f"{type(self).__name__}: unexpected fields {sorted(values)}")

    def to_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({inner})"


class ScheduledEventConfig(_Record):
    kind = "schedule"
    __slots__ = ("name", "handler_string", "schedule_expression", "description")
    schedule_expression: str
    description: str


class CloudWatchEventConfig(_Record):
    kind = "cloudwatch"
    __slots__ = ("name", "handler_string", "event_pattern")
    event_pattern: dict[str, Any]


class S3EventConfig(_Record):
    kind = "s3"
    __slots__ = ("name", "handler_string", "bucket", "events", "prefix", "suffix")
    bucket: str
    events: list[str]
    prefix: str | None
    suffix: str | None


class SNSEventConfig(_Record):
    kind = "sns"
    __slots__ = ("name", "handler_string", "topic")
    topic: str


class SQSEventConfig(_Record):
    kind = "sqs"
    __slots__ = (
        "name",
        "handler_string",
        "queue",
        "queue_arn",
        "batch_size",
        "maximum_batching_window_in_seconds",
    )
    queue: str | None
    queue_arn: str | None
    batch_size: int
    maximum_batching_window_in_seconds: int


class KinesisEventConfig(_Record):
    kind = "kinesis"
    __slots__ = (
        "name",
        "handler_string",
        "stream",
        "batch_size",
        "starting_position",
        "maximum_batching_window_in_seconds",
    )
    stream: str
    batch_size: int
    starting_position: str
    maximum_batching_window_in_seconds: int


class DynamoDBEventConfig(_Record):
    kind = "dynamodb"
    __slots__ = (
        "name",
        "handler_string",
        "stream_arn",
        "batch_size",
        "starting_position",
        "maximum_batching_window_in_seconds",
    )
    stream_arn: str
    batch_size: int
    starting_position: str
    maximum_batching_window_in_seconds: int


class LambdaFunctionConfig(_Record):
    """A plain ``@app.lambda_function``: a function of its own, with no event wiring."""

    kind = "lambda_function"
    __slots__ = ("name", "handler_string")


EventSourceConfig = (
    ScheduledEventConfig
    | CloudWatchEventConfig
    | S3EventConfig
    | SNSEventConfig
    | SQSEventConfig
    | KinesisEventConfig
    | DynamoDBEventConfig
)


class EventSource:
    """One event source as the runtime knows it.

    ``decorator`` is the ``App``/``Blueprint`` method (and ``EventHandler.kind``); ``record`` is
    what registering a handler adds to ``app.event_sources`` (or, when ``trigger`` is false, to
    ``app.pure_lambda_functions``: a function the deployer creates with nothing wired to it);
    ``event`` is the class the handler receives; ``middleware`` is the ``event_type`` whose
    middleware runs around it.
    """

    __slots__ = ("decorator", "record", "event", "middleware", "trigger")

    def __init__(
        self,
        decorator: str,
        record: type[_Record],
        event: type[events.BaseLambdaEvent],
        middleware: str,
        trigger: bool = True,
    ) -> None:
        self.decorator = decorator
        self.record = record
        self.event = event
        self.middleware = middleware
        self.trigger = trigger

    def decorate(self, owner: Any) -> Callable[..., Callable[[Callable[..., Any]], Any]]:
        """``owner.<decorator>(**fields, name=None)``: the decorator of a source without a
        method of its own on App/Blueprint; it takes the record's fields as keywords."""
        fields = [f for f in self.record.__slots__ if f not in ("name", "handler_string")]

        def decorator(name: str | None = None, **options: Any) -> Callable[..., Any]:
            unknown = sorted(set(options) - set(fields))
            if unknown:
                raise TypeError(f"{self.decorator}() takes {fields} and name, not {unknown}")
            return owner._event_decorator(self.decorator, name, options)

        decorator.__name__ = decorator.__qualname__ = self.decorator
        return decorator

    def __repr__(self) -> str:
        return f"<EventSource @{self.decorator} -> {self.record.__name__}, {self.event.__name__}>"


# Keyed by decorator name, in the order the docs list them.
SOURCES: dict[str, EventSource] = {
    source.decorator: source
    for source in (
        EventSource("schedule", ScheduledEventConfig, events.CloudWatchEvent, "scheduled"),
        EventSource("on_cw_event", CloudWatchEventConfig, events.CloudWatchEvent, "cloudwatch"),
        EventSource("on_s3_event", S3EventConfig, events.S3Event, "s3"),
        EventSource("on_sns_message", SNSEventConfig, events.SNSEvent, "sns"),
        EventSource("on_sqs_message", SQSEventConfig, events.SQSEvent, "sqs"),
        EventSource("on_kinesis_record", KinesisEventConfig, events.KinesisEvent, "kinesis"),
        EventSource("on_dynamodb_record", DynamoDBEventConfig, events.DynamoDBEvent, "dynamodb"),
        EventSource(
            "lambda_function",
            LambdaFunctionConfig,
            events.LambdaFunctionEvent,
            "pure_lambda",
            trigger=False,
        ),
    )
}
