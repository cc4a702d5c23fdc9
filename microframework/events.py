"""The event objects event handlers receive, one class per AWS event source.

Each wraps the raw event (``to_dict()`` gives it back) and exposes the fields a handler reads.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Iterator
    from typing import Any


def _utc_naive(seconds: float) -> datetime.datetime:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


class BaseLambdaEvent:
    """An event from an AWS service; ``to_dict()`` is the event as Lambda delivered it."""

    # The service whose event this is, for error messages.
    SOURCE = "an AWS service"
    # Services send a JSON object; only a plain function's payload may be any JSON value.
    OBJECT_ONLY = True

    def __init__(self, event_dict: dict[str, Any], context: Any) -> None:
        self._event_dict = event_dict
        self.context = context
        try:
            self._extract_attributes(event_dict)
        except MalformedEventError:
            raise
        except (
            LookupError,
            TypeError,
            AttributeError,
            ValueError,
            ArithmeticError,
            OSError,
        ) as err:
            # A handler wired to the wrong source, or an event made by hand: say which field
            # is wrong instead of a KeyError from inside fw.
            raise malformed_event(type(self), err) from None

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        return self._event_dict

    def _call_handler(self, func: Callable[[Any], Any]) -> Any:
        """Run the user's handler on this event; its result is what Lambda returns."""
        return func(self)


class MalformedEventError(ValueError):
    """An event handler got an event its source never sends (wrong trigger, or made by hand)."""


def malformed_event(cls: type[BaseLambdaEvent], err: Exception) -> MalformedEventError:
    """The one-line error for an event that is not shaped as ``cls.SOURCE`` sends it."""
    if isinstance(err, KeyError):
        detail = f"it has no {err.args[0]!r} field"
    elif isinstance(err, IndexError):
        detail = "its Records list is empty"
    else:
        detail = f"{type(err).__name__}: {err}"
    return MalformedEventError(
        f"{cls.__name__}: the event is not one {cls.SOURCE} sends ({detail})"
    )


def _records(event: BaseLambdaEvent) -> list[Any]:
    records = event._event_dict.get("Records") if type(event._event_dict) is dict else None
    if type(records) is not list:
        raise malformed_event(type(event), KeyError("Records"))
    return records


class LambdaFunctionEvent(BaseLambdaEvent):
    """The payload of a plain ``@app.lambda_function`` invocation (what middleware sees)."""

    OBJECT_ONLY = False

    def __init__(self, event_dict: Any, context: Any) -> None:
        self.event = event_dict
        super().__init__(event_dict, context)

    def to_dict(self) -> Any:
        return self.event

    def _call_handler(self, func: Callable[..., Any]) -> Any:
        # A plain function is written as Lambda calls it: handler(event, context).
        return func(self.event, self.context)


class CloudWatchEvent(BaseLambdaEvent):
    """A scheduled or EventBridge (CloudWatch Events) event."""

    SOURCE = "EventBridge"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.version: str = event_dict.get("version", "0")
        self.account: str = event_dict.get("account", "")
        self.region: str = event_dict.get("region", "")
        self.detail: dict[str, Any] = event_dict.get("detail", {})
        self.detail_type: str = event_dict.get("detail-type", "")
        self.source: str = event_dict.get("source", "")
        self.time: str = event_dict.get("time", "")
        self.event_id: str = event_dict.get("id", "")
        self.resources: list[str] = event_dict.get("resources", [])


class S3Record(BaseLambdaEvent):
    """One object notification; ``key`` is URL-decoded the way S3 encodes it (``+`` is a space)."""

    SOURCE = "S3"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        from urllib.parse import unquote_plus

        s3 = event_dict["s3"]
        obj = s3.get("object", {})
        self.bucket: str = s3["bucket"]["name"]
        self.key: str = unquote_plus(obj.get("key", ""))
        self.size: int | None = obj.get("size")
        self.etag: str | None = obj.get("eTag")
        self.version_id: str | None = obj.get("versionId")
        self.event_name: str = event_dict.get("eventName", "")
        self.event_time: str = event_dict.get("eventTime", "")


class S3Event(S3Record):
    """An S3 notification: the first record's ``bucket``/``key``, and iteration over all records."""

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        super()._extract_attributes(_records(self)[0])

    def __iter__(self) -> Iterator[S3Record]:
        for record in _records(self):
            yield S3Record(record, self.context)


class SNSRecord(BaseLambdaEvent):
    """One SNS message."""

    SOURCE = "SNS"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        sns = event_dict["Sns"]
        self.message: str = sns["Message"]
        self.subject: str | None = sns.get("Subject")
        self.message_attributes: dict[str, Any] = sns.get("MessageAttributes", {})
        self.topic_arn: str = sns.get("TopicArn", "")
        self.message_id: str = sns.get("MessageId", "")


class SNSEvent(SNSRecord):
    """An SNS delivery: the first record's fields, and iteration over all records."""

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        super()._extract_attributes(_records(self)[0])

    def __iter__(self) -> Iterator[SNSRecord]:
        for record in _records(self):
            yield SNSRecord(record, self.context)


class SQSRecord(BaseLambdaEvent):
    """One SQS message."""

    SOURCE = "SQS"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.body: str = event_dict["body"]
        self.receipt_handle: str = event_dict.get("receiptHandle", "")
        self.message_id: str = event_dict.get("messageId", "")
        self.attributes: dict[str, Any] = event_dict.get("attributes", {})
        self.message_attributes: dict[str, Any] = event_dict.get("messageAttributes", {})


class SQSEvent(BaseLambdaEvent):
    """A batch of SQS messages.

    Call ``report_failure(record)`` for the messages that failed: only those return to the queue
    (Lambda's partial batch response), instead of the whole batch being retried.
    """

    SOURCE = "SQS"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        self.failed_message_ids: list[str] = []

    def __iter__(self) -> Iterator[SQSRecord]:
        for record in _records(self):
            yield SQSRecord(record, self.context)

    def report_failure(self, record: SQSRecord | str) -> None:
        message_id = record if isinstance(record, str) else record.message_id
        self.failed_message_ids.append(message_id)

    def batch_response(self) -> dict[str, Any] | None:
        if not self.failed_message_ids:
            return None
        return {"batchItemFailures": [{"itemIdentifier": m} for m in self.failed_message_ids]}

    def _call_handler(self, func: Callable[[Any], Any]) -> Any:
        # A handler that returns nothing answers with the failures it reported, if any.
        result = func(self)
        return self.batch_response() if result is None else result


class KinesisRecord(BaseLambdaEvent):
    """One Kinesis record; ``data`` is the decoded payload bytes."""

    SOURCE = "Kinesis"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        import base64

        kinesis = event_dict["kinesis"]
        self.data: bytes = base64.b64decode(kinesis["data"], validate=True)
        self.sequence_number: str = kinesis.get("sequenceNumber", "")
        self.partition_key: str = kinesis.get("partitionKey", "")
        self.schema_version: str = kinesis.get("kinesisSchemaVersion", "1.0")
        self.timestamp = _utc_naive(kinesis.get("approximateArrivalTimestamp", 0))


class KinesisEvent(BaseLambdaEvent):
    """A batch of Kinesis records."""

    SOURCE = "Kinesis"

    def __iter__(self) -> Iterator[KinesisRecord]:
        for record in _records(self):
            yield KinesisRecord(record, self.context)


class DynamoDBRecord(BaseLambdaEvent):
    """One DynamoDB stream record (images stay in DynamoDB's typed JSON)."""

    SOURCE = "DynamoDB Streams"

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        ddb = event_dict["dynamodb"]
        self.timestamp = _utc_naive(ddb.get("ApproximateCreationDateTime", 0))
        self.keys: Any = ddb.get("Keys")
        self.new_image: Any = ddb.get("NewImage")
        self.old_image: Any = ddb.get("OldImage")
        self.sequence_number: str = ddb.get("SequenceNumber", "")
        self.size_bytes: int = ddb.get("SizeBytes", 0)
        self.stream_view_type: str = ddb.get("StreamViewType", "")
        self.aws_region: str = event_dict.get("awsRegion", "")
        self.event_id: str = event_dict.get("eventID", "")
        self.event_name: str = event_dict.get("eventName", "")
        self.event_source_arn: str = event_dict.get("eventSourceARN", "")

    @property
    def table_name(self) -> str:
        # arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
        parts = self.event_source_arn.split(":", 5)
        if len(parts) != 6:
            return ""
        names = parts[5].split("/")
        return names[1] if len(names) >= 2 else ""


class DynamoDBEvent(BaseLambdaEvent):
    """A batch of DynamoDB stream records."""

    SOURCE = "DynamoDB Streams"

    def __iter__(self) -> Iterator[DynamoDBRecord]:
        for record in _records(self):
            yield DynamoDBRecord(record, self.context)
