"""microframework.handlers: the decorated object is the Lambda handler; middleware; SQS failures."""

from __future__ import annotations

from typing import Any

import pytest

from microframework import App, ConvertToMiddleware, EventHandler, Request, Response
from microframework import sample_events as se


def test_event_handler_is_the_lambda_handler_and_keeps_the_function() -> None:
    app = App("demo")

    def on_upload(event: Any) -> Any:
        """Docs."""
        return (event.bucket, event.key)

    handler = app.on_s3_event(bucket="b")(on_upload)
    assert isinstance(handler, EventHandler)
    assert (handler.__name__, handler.__doc__, handler.__wrapped__) == (
        "on_upload",
        "Docs.",
        on_upload,
    )
    assert handler(se.s3_event("b", "a b.txt"), None) == ("b", "a b.txt")


def test_each_decorator_gives_its_event_class() -> None:
    app = App("demo")
    seen = []
    record = seen.append

    app.schedule("rate(1 day)", name="tick")(lambda e: record(("schedule", e.detail_type)))
    app.on_cw_event({"source": ["x"]}, name="cw")(lambda e: record(("cw", e.source)))
    app.on_sns_message(topic="t", name="sns")(lambda e: record(("sns", e.message)))
    app.on_kinesis_record(stream="s", name="kin")(lambda e: record(("kin", [r.data for r in e])))
    app.on_dynamodb_record(stream_arn="a", name="ddb")(lambda e: record(("ddb", len(list(e)))))
    app.handlers["tick"](se.schedule_event(), None)
    app.handlers["cw"](se.cw_event("x", "T"), None)
    app.handlers["sns"](se.sns_event("hi"), None)
    app.handlers["kin"](se.kinesis_event([b"1", b"2"]), None)
    app.handlers["ddb"](se.dynamodb_event(), None)
    assert seen == [
        ("schedule", "Scheduled Event"), ("cw", "x"), ("sns", "hi"), ("kin", [b"1", b"2"]), ("ddb", 1)
    ]  # fmt: skip


def test_lambda_function_gets_the_raw_event_and_context() -> None:
    app = App("demo")

    @app.lambda_function()
    def plain(event: Any, context: Any) -> Any:
        return {"event": event, "context": context}

    assert plain([1, 2], "ctx") == {"event": [1, 2], "context": "ctx"}


def test_sqs_partial_batch_failures() -> None:
    app = App("demo")

    @app.on_sqs_message(queue="jobs", batch_size=10)
    def consume(event: Any) -> None:
        for record in event:
            if record.body.startswith("bad"):
                event.report_failure(record)

    raw = se.sqs_event(["ok", "bad-1", "ok", "bad-2"])
    ids = [r["messageId"] for r in raw["Records"]]
    assert consume(raw, None) == {
        "batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]
    }
    assert consume(se.sqs_event(["ok"]), None) is None


def test_sqs_handler_return_value_wins_over_reported_failures() -> None:
    app = App("demo")

    @app.on_sqs_message(queue="jobs")
    def consume(event: Any) -> Any:
        for record in event:
            event.report_failure(record)
        return {"custom": True}

    assert consume(se.sqs_event(["x"]), None) == {"custom": True}


def test_middleware_sees_its_event_type_only() -> None:
    app = App("demo")
    seen = []

    @app.middleware("sqs")
    def sqs_only(event: Any, get_response: Any) -> Any:
        seen.append(("sqs", type(event).__name__))
        return get_response(event)

    @app.middleware("all")
    def everything(event: Any, get_response: Any) -> Any:
        seen.append(("all", type(event).__name__))
        return get_response(event)

    app.on_sqs_message(queue="q", name="sqs")(lambda e: None)
    app.on_sns_message(topic="t", name="sns")(lambda e: None)
    app.handlers["sqs"](se.sqs_event(["a"]), None)
    app.handlers["sns"](se.sns_event("m"), None)
    assert seen == [("sqs", "SQSEvent"), ("all", "SQSEvent"), ("all", "SNSEvent")]


def test_middleware_can_change_the_result_and_sees_partial_failures() -> None:
    app = App("demo")

    @app.middleware("sqs")
    def annotate(event: Any, get_response: Any) -> Any:
        result = get_response(event)
        return {**result, "seen": len(event.failed_message_ids)}

    @app.on_sqs_message(queue="q")
    def consume(event: Any) -> None:
        for record in event:
            event.report_failure(record)

    result = consume(se.sqs_event(["a", "b"]), None)
    assert result["seen"] == 2
    assert len(result["batchItemFailures"]) == 2


def test_middleware_registered_after_the_handler_applies() -> None:
    app = App("demo")

    @app.on_sns_message(topic="t")
    def handle(event: Any) -> str:
        return event.message

    assert handle(se.sns_event("m"), None) == "m"
    app.register_middleware(lambda event, get_response: get_response(event).upper(), "sns")
    assert handle(se.sns_event("m"), None) == "M"


def test_pure_lambda_middleware_gets_a_lambda_function_event() -> None:
    app = App("demo")
    seen = []

    @app.middleware("pure_lambda")
    def mw(event: Any, get_response: Any) -> Any:
        seen.append((event.to_dict(), event.context))
        return get_response(event)

    @app.lambda_function()
    def plain(event: Any, context: Any) -> Any:
        return event["n"] + 1

    assert plain({"n": 1}, "ctx") == 2
    assert seen == [({"n": 1}, "ctx")]


def add_header_wrapper(handler: Any) -> Any:
    """A decorator written for plain Lambda handlers, as Powertools-style libraries provide."""

    def wrapped(event: Any, context: Any) -> Any:
        result = handler(event, context)
        if isinstance(result, Response):
            result.headers["X-Wrapped"] = str(context)
            return result
        return {"wrapped": result, "event": event}

    return wrapped


def test_convert_to_middleware_for_event_handlers() -> None:
    app = App("demo")
    app.register_middleware(ConvertToMiddleware(add_header_wrapper), "pure_lambda")

    @app.lambda_function()
    def plain(event: Any, context: Any) -> Any:
        return "done"

    assert plain({"a": 1}, "ctx") == {"wrapped": "done", "event": {"a": 1}}


def test_convert_to_middleware_for_http() -> None:
    app = App("demo")
    app.register_middleware(ConvertToMiddleware(add_header_wrapper), "http")
    seen: list[Request] = []

    @app.route("/")
    def index() -> dict[str, Any]:
        seen.append(app.current_request)
        return {}

    result = app(se.apigateway_event("GET", "/"), "ctx")
    assert result["headers"] == {"X-Wrapped": "ctx"}
    assert seen[0].path == "/"


def test_unregistered_event_handler_runs_without_middleware() -> None:
    handler = EventHandler(lambda event: [r.body for r in event], "on_sqs_message", "x")
    assert handler(se.sqs_event(["a"]), None) == ["a"]
    assert repr(handler) == "<EventHandler on_sqs_message x>"


def test_schedule_and_cloudwatch_middleware_types_are_distinct() -> None:
    app = App("demo")
    seen = []

    @app.middleware("scheduled")
    def on_schedule(event: Any, get_response: Any) -> Any:
        seen.append(("scheduled", event.detail_type))
        return get_response(event)

    @app.middleware("cloudwatch")
    def on_cloudwatch(event: Any, get_response: Any) -> Any:
        seen.append(("cloudwatch", event.detail_type))
        return get_response(event)

    app.schedule("rate(1 hour)", name="tick")(lambda event: None)
    app.on_cw_event({"source": ["x"]}, name="rule")(lambda event: None)
    app.handlers["tick"](se.schedule_event(), None)
    app.handlers["rule"](se.cw_event("x", "Thing"), None)
    assert seen == [("scheduled", "Scheduled Event"), ("cloudwatch", "Thing")]


@pytest.mark.parametrize(
    ("decorator", "source"),
    [
        (lambda app: app.on_sqs_message(queue="q"), "SQS"),
        (lambda app: app.on_s3_event(bucket="b"), "S3"),
        (lambda app: app.schedule("rate(1 day)"), "EventBridge"),
        (lambda app: app.on_dynamodb_record(stream_arn="a"), "DynamoDB Streams"),
    ],
    ids=["sqs", "s3", "schedule", "dynamodb"],
)
def test_a_non_object_event_is_one_type_error_naming_the_handler(
    decorator: Any, source: str
) -> None:
    app = App("demo")

    def on_event(event: Any) -> None:
        raise AssertionError("never called")

    handler = decorator(app)(on_event)
    with pytest.raises(TypeError) as info:
        handler(["a", 1], None)
    assert str(info.value) == (
        f"@app.{handler.kind} handler 'on_event' expects the event {source} sends, a JSON object "
        "(dict); Lambda passed list: ['a', 1]"
    )


def test_a_lambda_function_takes_any_json_payload() -> None:
    app = App("demo")
    handler = app.lambda_function(name="echo")(lambda event, context: event)
    assert [handler(p, None) for p in ([1], "s", None)] == [[1], "s", None]
