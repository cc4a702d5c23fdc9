"""SAM ``Events`` of one event handler, and the resources SAM's events cannot express.

Each event source record of the app becomes one entry of its function's ``Events`` map, except
S3: SAM's ``S3`` event only takes a bucket declared in the same template, and an app's bucket
already exists. For S3 the template grants ``s3.amazonaws.com`` the right to invoke the
function (scoped to the bucket and the account) and says in an output which notification to
configure; ``fw deploy`` configures it itself through the S3 API.
"""

from __future__ import annotations

from typing import Any

from microframework.sources import (
    CloudWatchEventConfig,
    DynamoDBEventConfig,
    EventSourceConfig,
    KinesisEventConfig,
    S3EventConfig,
    ScheduledEventConfig,
    SNSEventConfig,
    SQSEventConfig,
)

__all__ = ["EVENT_IDS", "event_resources", "sam_events"]

# The keys of the Events maps below; SAM names each event's resources <FunctionId><EventId>.
EVENT_IDS = ("Schedule", "Rule", "Topic", "Queue", "Stream")

# EventBridge caps a rule's description at 512 characters.
_MAX_RULE_DESCRIPTION = 512


def sam_events(source: EventSourceConfig) -> dict[str, Any]:
    """The ``Events`` map of the function that handles ``source`` (empty for S3)."""
    if isinstance(source, ScheduledEventConfig):
        properties: dict[str, Any] = {"Schedule": source.schedule_expression}
        if source.description:
            properties["Description"] = source.description[:_MAX_RULE_DESCRIPTION]
        return {"Schedule": {"Type": "Schedule", "Properties": properties}}
    if isinstance(source, CloudWatchEventConfig):
        return {
            "Rule": {"Type": "EventBridgeRule", "Properties": {"Pattern": source.event_pattern}}
        }
    if isinstance(source, SNSEventConfig):
        return {"Topic": {"Type": "SNS", "Properties": {"Topic": _sns_topic_arn(source.topic)}}}
    if isinstance(source, SQSEventConfig):
        properties = {
            "Queue": source.queue_arn or _queue_arn(source.queue),
            "BatchSize": source.batch_size,
            # SQS handlers may report the messages that failed; without this Lambda ignores the
            # report and retries the whole batch.
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
        if source.maximum_batching_window_in_seconds:
            properties["MaximumBatchingWindowInSeconds"] = source.maximum_batching_window_in_seconds
        return {"Queue": {"Type": "SQS", "Properties": properties}}
    if isinstance(source, KinesisEventConfig):
        stream = _arn_or(source.stream, _sub_arn("kinesis", f"stream/{source.stream}"))
        return {"Stream": {"Type": "Kinesis", "Properties": _stream_properties(source, stream)}}
    if isinstance(source, DynamoDBEventConfig):
        properties = _stream_properties(source, source.stream_arn)
        return {"Stream": {"Type": "DynamoDB", "Properties": properties}}
    if isinstance(source, S3EventConfig):
        return {}
    raise ValueError(f"unsupported event source {source!r}")


def event_resources(
    source: EventSourceConfig, function_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Extra ``(Resources, Outputs)`` for ``source``'s function: the S3 invoke permission."""
    if not isinstance(source, S3EventConfig):
        return {}, {}
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": function_id},
            "Principal": "s3.amazonaws.com",
            "SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{source.bucket}"},
            # Bucket ARNs carry no account: pin the account so a bucket of the same name
            # elsewhere cannot invoke the function.
            "SourceAccount": {"Ref": "AWS::AccountId"},
        },
    }
    filters = []
    if source.prefix:
        filters.append(f"prefix {source.prefix!r}")
    if source.suffix:
        filters.append(f"suffix {source.suffix!r}")
    where = f" ({', '.join(filters)})" if filters else ""
    output = {
        "Description": (
            f"Configure bucket {source.bucket} to send {', '.join(source.events)}{where} "
            "to this function (SAM cannot add notifications to an existing bucket)"
        ),
        "Value": {"Fn::GetAtt": [function_id, "Arn"]},
    }
    return {f"{function_id}S3Permission": permission}, {f"{function_id}S3Notification": output}


def _stream_properties(
    source: KinesisEventConfig | DynamoDBEventConfig, stream: Any
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Stream": stream,
        "StartingPosition": source.starting_position,
        "BatchSize": source.batch_size,
    }
    if source.maximum_batching_window_in_seconds:
        properties["MaximumBatchingWindowInSeconds"] = source.maximum_batching_window_in_seconds
    return properties


def _sns_topic_arn(topic: str) -> Any:
    return _arn_or(topic, _sub_arn("sns", topic))


def _arn_or(name_or_arn: str, built: Any) -> Any:
    return name_or_arn if name_or_arn.startswith("arn:") else built


def _sub_arn(service: str, resource: str) -> dict[str, str]:
    # Names resolve in the stack's own partition, region and account, as fw deploy resolves them.
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
    }


def _queue_arn(queue: str | None) -> Any:
    # on_sqs_message requires queue or queue_arn, so a record without an ARN has a queue name.
    assert queue is not None
    return _arn_or(queue, _sub_arn("sqs", queue))
