"""microframework.events: the event objects handlers receive, built from the services' shapes."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microframework import (
    CloudWatchEvent,
    DynamoDBEvent,
    KinesisEvent,
    LambdaFunctionEvent,
    S3Event,
    SNSEvent,
    SQSEvent,
)
from microframework import sample_events as se
from microframework.events import MalformedEventError


def test_cloudwatch_event_fields() -> None:
    raw = se.cw_event("my.app", "Order Placed", {"id": 1}, ["arn:r"], region="eu-west-1")
    event = CloudWatchEvent(raw, "ctx")
    assert (event.source, event.detail_type, event.detail) == ("my.app", "Order Placed", {"id": 1})
    assert (event.region, event.account, event.resources) == (
        "eu-west-1",
        "123456789012",
        ["arn:r"],
    )
    assert (event.version, event.time, event.event_id) == ("0", raw["time"], raw["id"])
    assert event.context == "ctx"
    assert event.to_dict() is raw


def test_s3_event_first_record_fields() -> None:
    event = S3Event(
        se.s3_event("bucket", "dir/a file.txt", "s3:ObjectRemoved:Delete", size=9), None
    )
    assert (event.bucket, event.key, event.size) == ("bucket", "dir/a file.txt", 9)
    assert event.event_name == "ObjectRemoved:Delete"
    assert event.etag == "d41d8cd98f00b204e9800998ecf8427e"


def test_s3_event_iterates_all_records() -> None:
    raw = se.s3_event("b1", "one")
    raw["Records"].append(se.s3_event("b2", "two+three")["Records"][0])
    assert [(r.bucket, r.key) for r in S3Event(raw, None)] == [("b1", "one"), ("b2", "two+three")]


@given(st.text(min_size=1, max_size=30))
def test_s3_key_round_trips_through_s3_quoting(key: str) -> None:
    raw = se.s3_event("bucket", key)
    assert "+" not in key.replace(" ", "") or "%2B" in raw["Records"][0]["s3"]["object"]["key"]
    assert S3Event(raw, None).key == key
    assert [r.key for r in S3Event(raw, None)] == [key]


def test_sns_event_iterates_all_records() -> None:
    raw = se.sns_event("first", subject="s1", topic="alerts")
    raw["Records"].append(se.sns_event("second", topic="alerts")["Records"][0])
    event = SNSEvent(raw, None)
    assert (event.message, event.subject) == ("first", "s1")
    assert event.topic_arn == "arn:aws:sns:us-east-1:123456789012:alerts"
    assert [r.message for r in event] == ["first", "second"]


@given(st.lists(st.text(max_size=20), max_size=5))
def test_sqs_event_yields_each_body_in_order(bodies: list[str]) -> None:
    raw = se.sqs_event(bodies, queue="jobs")
    records = list(SQSEvent(raw, None))
    assert [r.body for r in records] == bodies
    assert [r.message_id for r in records] == [r["messageId"] for r in raw["Records"]]
    assert all(r.receipt_handle.startswith("AQEB") for r in records)


def test_sqs_report_failure_builds_the_partial_batch_response() -> None:
    event = SQSEvent(se.sqs_event(["a", "b", "c"]), None)
    records = list(event)
    assert event.batch_response() is None
    event.report_failure(records[2])
    event.report_failure(records[0].message_id)
    assert event.batch_response() == {
        "batchItemFailures": [
            {"itemIdentifier": records[2].message_id},
            {"itemIdentifier": records[0].message_id},
        ]
    }


@given(st.lists(st.binary(max_size=20), max_size=5))
def test_kinesis_event_decodes_each_payload(payloads: list[bytes]) -> None:
    records = list(KinesisEvent(se.kinesis_event(payloads, stream="s"), None))
    assert [r.data for r in records] == payloads
    assert [r.partition_key for r in records] == [str(i) for i in range(len(payloads))]


def test_kinesis_record_timestamp_is_naive_utc() -> None:
    raw = se.kinesis_event([b"x"])
    raw["Records"][0]["kinesis"]["approximateArrivalTimestamp"] = 1767225600.5
    record = next(iter(KinesisEvent(raw, None)))
    assert record.timestamp == datetime.datetime(2026, 1, 1, 0, 0, 0, 500000)
    assert record.data == b"x"
    assert base64.b64decode(raw["Records"][0]["kinesis"]["data"]) == b"x"


def test_dynamodb_event_records() -> None:
    raw = se.dynamodb_event([{"pk": {"S": "1"}}, {"pk": {"S": "2"}}], table="orders")
    records = list(DynamoDBEvent(raw, None))
    assert [r.new_image for r in records] == [{"pk": {"S": "1"}}, {"pk": {"S": "2"}}]
    assert [r.keys for r in records] == [{"pk": {"S": "1"}}, {"pk": {"S": "2"}}]
    assert {r.table_name for r in records} == {"orders"}
    assert records[0].event_name == "INSERT"
    assert records[0].timestamp == datetime.datetime(2026, 1, 1)


@pytest.mark.parametrize(
    ("arn", "table"),
    [
        ("arn:aws:dynamodb:us-east-1:1:table/orders/stream/2026-01-01T00:00:00.000", "orders"),
        ("arn:aws:dynamodb:us-east-1:1:table/orders", "orders"),
        ("arn:aws:dynamodb:us-east-1:1:table", ""),
        ("not-an-arn", ""),
        ("", ""),
    ],
    ids=["stream-arn", "table-arn", "no-name", "garbage", "empty"],
)
def test_dynamodb_table_name(arn: str, table: str) -> None:
    raw = se.dynamodb_event()
    raw["Records"][0]["eventSourceARN"] = arn
    assert next(iter(DynamoDBEvent(raw, None))).table_name == table


def test_lambda_function_event_keeps_any_payload() -> None:
    assert LambdaFunctionEvent([1, 2], "ctx").to_dict() == [1, 2]
    assert LambdaFunctionEvent({"a": 1}, None).event == {"a": 1}


@pytest.mark.parametrize(
    "event",
    [
        se.cw_event(),
        se.schedule_event("r"),
        se.s3_event("b", "k"),
        se.sns_event("m"),
        se.sqs_event(["a"]),
        se.kinesis_event([b"a"]),
        se.dynamodb_event(),
        se.apigateway_event("POST", "/a?b=1", body="{}"),
    ],
    ids=["cw", "schedule", "s3", "sns", "sqs", "kinesis", "dynamodb", "apigateway"],
)
def test_sample_events_are_json(event: dict) -> None:
    assert json.loads(json.dumps(event)) == event


@pytest.mark.parametrize(
    ("event_class", "event", "message"),
    [
        (S3Event, {}, "S3Event: the event is not one S3 sends (it has no 'Records' field)"),
        (
            S3Event,
            {"Records": []},
            "S3Event: the event is not one S3 sends (its Records list is empty)",
        ),
        (
            S3Event,
            se.sqs_event(["a"]),
            "S3Event: the event is not one S3 sends (it has no 's3' field)",
        ),
        (
            SNSEvent,
            {"Records": "x"},
            "SNSEvent: the event is not one SNS sends (it has no 'Records' field)",
        ),
    ],
    ids=["s3-empty", "s3-no-records", "s3-given-sqs", "sns-records-string"],
)
def test_a_malformed_event_is_one_error_naming_the_field(
    event_class: type, event: dict, message: str
) -> None:
    with pytest.raises(MalformedEventError) as info:
        event_class(event, None)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("event_class", "event", "message"),
    [
        (SQSEvent, {}, "SQSEvent: the event is not one SQS sends (it has no 'Records' field)"),
        (
            SQSEvent,
            {"Records": [{"messageId": "1"}]},
            "SQSRecord: the event is not one SQS sends (it has no 'body' field)",
        ),
        (
            KinesisEvent,
            se.kinesis_event([b"a"]) | {"Records": [{"kinesis": {"data": "@@"}}]},
            "KinesisRecord: the event is not one Kinesis sends (Error: ",
        ),
        (
            DynamoDBEvent,
            {"Records": [{"dynamodb": []}]},
            "DynamoDBRecord: the event is not one DynamoDB Streams sends (AttributeError: ",
        ),
    ],
    ids=["sqs-no-records", "sqs-no-body", "kinesis-bad-base64", "dynamodb-list"],
)
def test_a_malformed_record_fails_when_the_handler_iterates(
    event_class: type, event: dict, message: str
) -> None:
    batch = event_class(event, None)
    with pytest.raises(MalformedEventError) as info:
        list(batch)
    assert str(info.value).startswith(message)


def _json_values() -> st.SearchStrategy:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


EVENT_SAMPLES = [
    (S3Event, se.s3_event("b", "k")),
    (SNSEvent, se.sns_event("m")),
    (SQSEvent, se.sqs_event(["a", "b"])),
    (KinesisEvent, se.kinesis_event([b"a"])),
    (DynamoDBEvent, se.dynamodb_event()),
    (CloudWatchEvent, se.cw_event()),
]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.sampled_from(EVENT_SAMPLES), st.data())
def test_a_mutated_event_is_read_or_refused_with_malformed_event_error(
    sample: tuple, data: st.DataObject
) -> None:
    event_class, event = sample
    event = json.loads(json.dumps(event))
    record = data.draw(st.sampled_from(["top", "record"]))
    target = event if record == "top" or "Records" not in event else event["Records"][0]
    key = data.draw(st.sampled_from(sorted(target)))
    inner = target[key]
    if isinstance(inner, dict) and inner and data.draw(st.booleans()):
        target, key = inner, data.draw(st.sampled_from(sorted(inner)))
    if data.draw(st.booleans()):
        del target[key]
    else:
        target[key] = data.draw(_json_values())
    try:
        batch = event_class(event, None)
        for item in batch if hasattr(batch, "__iter__") else [batch]:
            vars(item)
    except MalformedEventError:
        pass
