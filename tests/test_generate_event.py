"""``fw generate-event``: every kind prints JSON a handler of that kind can read."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.main import cli
from microframework.events import (
    CloudWatchEvent,
    DynamoDBEvent,
    KinesisEvent,
    S3Event,
    SNSEvent,
    SQSEvent,
)
from microframework.request import Request


def generate(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["generate-event", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_s3() -> None:
    event = S3Event(
        generate(
            "s3", "--bucket", "b", "--key", "dir/a b.txt", "--event-name", "ObjectRemoved:Delete"
        ),
        None,
    )
    assert (event.bucket, event.key, event.event_name) == (
        "b",
        "dir/a b.txt",
        "ObjectRemoved:Delete",
    )


def test_sqs_bodies_repeat() -> None:
    event = SQSEvent(generate("sqs", "--body", "one", "--body", "two", "--queue", "jobs"), None)
    assert [record.body for record in event] == ["one", "two"]
    assert event.to_dict()["Records"][0]["eventSourceARN"].endswith(":jobs")


def test_sns() -> None:
    event = SNSEvent(generate("sns", "--message", "hi", "--subject", "s", "--topic", "news"), None)
    assert (event.message, event.subject, event.topic_arn.rsplit(":", 1)[1]) == ("hi", "s", "news")


def test_schedule_and_cw() -> None:
    assert CloudWatchEvent(generate("schedule"), None).detail_type == "Scheduled Event"
    event = CloudWatchEvent(
        generate("cw", "--source", "my.app", "--detail-type", "Order", "--detail", '{"id": 7}'),
        None,
    )
    assert (event.source, event.detail_type, event.detail) == ("my.app", "Order", {"id": 7})


def test_kinesis_and_dynamodb() -> None:
    records = list(KinesisEvent(generate("kinesis", "--data", "a", "--data", "b"), None))
    assert [r.data for r in records] == [b"a", b"b"]
    assert base64.b64decode(generate("kinesis")["Records"][0]["kinesis"]["data"]) == b"hello"
    event = DynamoDBEvent(
        generate("dynamodb", "--table", "t", "--image", '{"pk": {"S": "x"}}'), None
    )
    assert [r.new_image for r in event] == [{"pk": {"S": "x"}}]


def test_apigateway() -> None:
    request = Request(
        generate("apigateway", "--method", "post", "--path", "/a?x=1", "--body", '{"k": 1}')
    )
    assert (request.method, request.path, request.query_params["x"]) == ("POST", "/a", "1")
    assert request.json_body == {"k": 1}


def test_apigateway_query_and_headers() -> None:
    event = generate(
        "apigateway",
        "--path",
        "/a?x=1",
        "--query",
        "q=two words&more",
        "--query",
        "x=2",
        "--header",
        "X-Trace: 1",
        "--header",
        "Accept:text/plain",
    )
    request = Request(event)
    assert request.query_params["q"] == "two words&more"
    assert request.query_params.getlist("x") == ["1", "2"]
    assert request.headers["accept"] == "text/plain"
    assert event["headers"] == {"X-Trace": "1", "Accept": "text/plain"}
    # Repeated headers as API Gateway sends them: the last in headers, all in multiValueHeaders.
    repeated = generate("apigateway", "--header", "A: 1", "--header", "A: 2")
    assert repeated["headers"] == {"A": "2"} and repeated["multiValueHeaders"] == {"A": ["1", "2"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "No such command 'nope'"),
        (["apigateway", "--query", "=1"], "expected NAME=VALUE, got '=1'"),
        (["apigateway", "--header", "Accept"], "expected 'Name: value', got 'Accept'"),
        (["apigateway", "--header", "Bad Name: 1"], "expected 'Name: value'"),
        (["cw", "--detail", "{bad"], "Invalid value for '--detail': not valid JSON"),
        (["cw", "--detail", "[1]"], "must be a JSON object"),
        (["dynamodb", "--image", "3"], "must be a JSON object"),
        (["apigateway", "--path", "relative"], "must start with '/'"),
        (["s3", "--bucket"], "Option '--bucket' requires an argument"),
    ],
)
def test_usage_mistakes_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["generate-event", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_any_s3_key_survives_the_round_trip(key: str) -> None:
    assert S3Event(generate("s3", "--key", key), None).key == key
