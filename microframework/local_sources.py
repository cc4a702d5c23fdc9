"""The local half of each event source's declaration, for the tools that run an app off Lambda.

:data:`microframework.sources.SOURCES` holds what a deployed function needs (decorator, record,
event class, middleware type); this holds, per source, what only local runs need: its sample
event and ``fw generate-event`` options, what ``fw invoke --local`` takes for its event, what
``fw local`` shows for a handler and whether it fires one by itself, and the test client's
``client.events.generate_<command>_event``. ``fw generate-event``, ``fw invoke``, ``fw local``
and :mod:`microframework.testing` loop over :data:`LOCAL_SOURCES`; none keeps a list of its own.
Lambda never loads this module (``LOCAL_ONLY_MODULES``), and it stays stdlib-only like the rest
of the package: options are declared here and turned into click options by the CLI.
"""

from __future__ import annotations

from . import sample_events as _samples

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .sources import _Record


class Option:
    """One ``fw generate-event <command>`` option; ``dest`` is the sample function's argument.

    ``json_object``: the value is JSON that must be an object (each value, with ``multiple``).
    """

    __slots__ = ("flag", "dest", "default", "help", "multiple", "json_object", "choices")

    def __init__(
        self,
        flag: str,
        dest: str | None = None,
        *,
        default: Any = None,
        help: str | None = None,
        multiple: bool = False,
        json_object: bool = False,
        choices: tuple[str, ...] | None = None,
    ) -> None:
        self.flag = flag
        self.dest = dest or flag.lstrip("-").replace("-", "_")
        self.default = default
        self.help = help
        self.multiple = multiple
        self.json_object = json_object
        self.choices = choices


class Timer:
    """How ``fw local --schedules`` fires a source by itself: at the times of
    ``expression(record)`` (a rate/cron expression), with ``event(function_name)``."""

    __slots__ = ("expression", "event")

    def __init__(
        self, expression: Callable[[Any], str], event: Callable[[str], dict[str, Any]]
    ) -> None:
        self.expression = expression
        self.event = event


class LocalSource:
    """The local half of the declaration of the source whose decorator is ``source``.

    ``command``: the ``fw generate-event`` subcommand, which calls ``sample(**options)``;
    ``summary``: its help line. ``client``: ``client.events.generate_<command>_event`` (default:
    ``sample``). ``description`` and ``recognizes(event)``: what ``fw invoke --local`` says a
    handler expects and how it tells the source's events apart; ``any_input``: any JSON object
    may come (a rule's target input), so only another source's event is a sure mismatch.
    ``trigger(record)``: the few words ``fw local`` shows for a handler's trigger. ``timer``:
    set when ``fw local`` fires the source by itself.
    """

    __slots__ = (
        "source",
        "command",
        "summary",
        "options",
        "sample",
        "client",
        "description",
        "recognizes",
        "any_input",
        "trigger",
        "timer",
    )

    def __init__(
        self,
        source: str,
        command: str,
        summary: str,
        options: tuple[Option, ...],
        sample: Callable[..., dict[str, Any]],
        *,
        description: str,
        recognizes: Callable[[dict[str, Any]], bool],
        trigger: Callable[[Any], str],
        client: Callable[..., dict[str, Any]] | None = None,
        any_input: bool = False,
        timer: Timer | None = None,
    ) -> None:
        self.source = source
        self.command = command
        self.summary = summary
        self.options = options
        self.sample = sample
        self.client = client or sample
        self.description = description
        self.recognizes = recognizes
        self.trigger = trigger
        self.any_input = any_input
        self.timer = timer

    @property
    def client_method(self) -> str:
        return f"generate_{self.command}_event"

    def __repr__(self) -> str:
        return f"<LocalSource @{self.source} generate-event {self.command}>"


def local_source_of(record: _Record) -> LocalSource | None:
    """The local half of the source that made ``record``, if it has one."""
    from .sources import SOURCES

    for source in SOURCES.values():
        if type(record) is source.record:
            return LOCAL_SOURCES.get(source.decorator)
    return None


def _from_service(event_source: str) -> Callable[[dict[str, Any]], bool]:
    """Records whose first one names ``event_source`` (SNS spells the key "EventSource")."""

    def recognizes(event: dict[str, Any]) -> bool:
        records = event.get("Records")
        if not isinstance(records, list) or not records or not isinstance(records[0], dict):
            return False
        return (records[0].get("eventSource") or records[0].get("EventSource")) == event_source

    return recognizes


def _eventbridge(scheduled: bool) -> Callable[[dict[str, Any]], bool]:
    def recognizes(event: dict[str, Any]) -> bool:
        if "Records" in event or "detail-type" not in event or "source" not in event:
            return False
        return (event["detail-type"] == "Scheduled Event") == scheduled

    return recognizes


def _s3_trigger(record: Any) -> str:
    where = (
        record.bucket + "/" + (record.prefix or "") + ("*" + record.suffix if record.suffix else "")
    )
    return f"{where} {','.join(record.events or [])}".strip()


def _compact_json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


# The CLI's samples: a repeatable option given no value still makes a one-record event.
def _sqs_sample(bodies: tuple[str, ...], queue: str) -> dict[str, Any]:
    return _samples.sqs_event(list(bodies) or ["hello"], queue)


def _kinesis_sample(data: tuple[str, ...], stream: str) -> dict[str, Any]:
    return _samples.kinesis_event(list(data) or ["hello"], stream)


def _dynamodb_sample(table: str, images: list[Any], event_name: str) -> dict[str, Any]:
    return _samples.dynamodb_event(images or None, table, event_name)


# fw generate-event websocket --route: the decorator's short name -> the route key it serves.
_WEBSOCKET_ROUTES = {"connect": "$connect", "message": "$default", "disconnect": "$disconnect"}


def _websocket_sample(
    route: str, body: str, connection_id: str, stage: str, api_id: str, region: str
) -> dict[str, Any]:
    """A WebSocket API's event for one route (the shape fw local sends; only a message has a
    body, as API Gateway sends none on $connect and $disconnect)."""
    from .websocket_local import websocket_event

    route_key = _WEBSOCKET_ROUTES[route]
    return websocket_event(
        route_key,
        connection_id=connection_id,
        body=body if route_key == "$default" else None,
        domain_name=f"{api_id}.execute-api.{region}.amazonaws.com",
        stage=stage,
        api_id=api_id,
        source_ip="192.0.2.1",  # TEST-NET-1 (RFC 5737): an address no client has
        user_agent="fw generate-event",
    )


def _is_websocket(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return isinstance(context, dict) and "connectionId" in context and "routeKey" in context


# The test client's generators, with the signatures of Chalice's ``client.events``.
def _client_s3(bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return _samples.s3_event(bucket, key, event_name)


def _client_sns(
    message: str,
    subject: str = "",
    message_attributes: dict[str, Any] | None = None,
    *,
    topic: str = "mytopic",
) -> dict[str, Any]:
    """Chalice's signature; ``topic`` (a name or ARN) is fw's, keyword-only."""
    return _samples.sns_event(message, subject, topic, message_attributes)


def _client_sqs(message_bodies: list[str], queue_name: str = "queue-name") -> dict[str, Any]:
    return _samples.sqs_event(message_bodies, queue_name)


def _client_cw(
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
    region: str = "us-west-2",
) -> dict[str, Any]:
    return _samples.cw_event(source, detail_type, detail, resources or [], region)


def _client_kinesis(
    message_bodies: list[bytes], stream_name: str = "stream-name"
) -> dict[str, Any]:
    return _samples.kinesis_event(message_bodies, stream_name)


def _client_dynamodb(
    new_images: list[dict[str, Any]], table_name: str = "table-name"
) -> dict[str, Any]:
    return _samples.dynamodb_event(new_images, table_name)


# Keyed by decorator name, as sources.SOURCES is; a source without an entry (lambda_function:
# any payload) has no sample, no generate-event command and no mismatch warning.
LOCAL_SOURCES: dict[str, LocalSource] = {
    local.source: local
    for local in (
        LocalSource(
            "schedule",
            "schedule",
            "What an EventBridge schedule rule delivers.",
            (Option("--rule", default="fw-rule", help="The EventBridge rule name."),),
            _samples.schedule_event,
            description="an EventBridge schedule event",
            recognizes=_eventbridge(scheduled=True),
            any_input=True,
            trigger=lambda record: record.schedule_expression,
            timer=Timer(
                lambda record: record.schedule_expression,
                lambda function_name: _samples.schedule_event(rule=function_name),
            ),
        ),
        LocalSource(
            "on_cw_event",
            "cw",
            "An EventBridge (CloudWatch Events) event.",
            (
                Option("--source", default="aws.events"),
                Option("--detail-type", default="Scheduled Event"),
                Option("--detail", json_object=True, help="The detail object, as JSON."),
            ),
            _samples.cw_event,
            client=_client_cw,
            description="an EventBridge event",
            recognizes=_eventbridge(scheduled=False),
            any_input=True,
            trigger=lambda record: _compact_json(record.event_pattern),
        ),
        LocalSource(
            "on_s3_event",
            "s3",
            "An S3 object notification.",
            (
                Option("--bucket", default="mybucket"),
                Option("--key", default="example.txt"),
                Option("--event-name", default="ObjectCreated:Put"),
            ),
            _samples.s3_event,
            client=_client_s3,
            description="an S3 notification",
            recognizes=_from_service("aws:s3"),
            trigger=_s3_trigger,
        ),
        LocalSource(
            "on_sns_message",
            "sns",
            "An SNS notification.",
            (
                Option("--message", default="hello"),
                Option("--subject", default=""),
                Option("--topic", default="mytopic"),
            ),
            _samples.sns_event,
            client=_client_sns,
            description="an SNS notification",
            recognizes=_from_service("aws:sns"),
            trigger=lambda record: record.topic,
        ),
        LocalSource(
            "on_sqs_message",
            "sqs",
            "A batch of SQS messages.",
            (
                Option("--body", "bodies", multiple=True, help="A message body (repeatable)."),
                Option("--queue", default="myqueue"),
            ),
            _sqs_sample,
            client=_client_sqs,
            description="an SQS message batch",
            recognizes=_from_service("aws:sqs"),
            trigger=lambda record: record.queue or record.queue_arn or "",
        ),
        LocalSource(
            "on_kinesis_record",
            "kinesis",
            "Kinesis records (data base64-encoded, as Kinesis delivers it).",
            (
                Option("--data", multiple=True, help="A record's data (repeatable)."),
                Option("--stream", default="mystream"),
            ),
            _kinesis_sample,
            client=_client_kinesis,
            description="a Kinesis record batch",
            recognizes=_from_service("aws:kinesis"),
            trigger=lambda record: record.stream,
        ),
        LocalSource(
            "on_dynamodb_record",
            "dynamodb",
            "DynamoDB stream records.",
            (
                Option("--table", default="mytable"),
                Option(
                    "--image",
                    "images",
                    multiple=True,
                    json_object=True,
                    help='A new image in DynamoDB JSON, like \'{"id": {"S": "1"}}\' (repeatable).',
                ),
                Option("--event-name", default="INSERT", choices=("INSERT", "MODIFY", "REMOVE")),
            ),
            _dynamodb_sample,
            client=_client_dynamodb,
            description="a DynamoDB stream batch",
            recognizes=_from_service("aws:dynamodb"),
            trigger=lambda record: record.stream_arn,
        ),
        # Not a SOURCES entry: the three @app.on_ws_* handlers are declared in
        # microframework.websocket and wired to one API, not each to a source; their
        # WebsocketHandler.kind is this key.
        LocalSource(
            "websocket",
            "websocket",
            "A WebSocket API's $connect, message or $disconnect event.",
            (
                Option(
                    "--route",
                    default="message",
                    choices=tuple(_WEBSOCKET_ROUTES),
                    help="Which handler's event: @app.on_ws_connect, _message or _disconnect.",
                ),
                Option("--body", default='{"action": "hello"}', help="The message (message only)."),
                Option("--connection-id", default="L0SM9cOFvHcCIhw="),
                Option("--stage", default="api"),
                Option("--api-id", default="abcdef1234"),
                Option("--region", default="us-east-1"),
            ),
            _websocket_sample,
            description="a WebSocket API event",
            recognizes=_is_websocket,
            trigger=lambda handler: handler.route_key_handled,
        ),
    )
}
