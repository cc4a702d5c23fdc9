"""What each event decorator records for the deployer and the local runner.

These are plain records: the deployer reads them to create rules, subscriptions, mappings and
functions; ``fw local`` reads them to fire schedules. The runtime never acts on them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
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
