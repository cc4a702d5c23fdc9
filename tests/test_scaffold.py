"""microframework.scaffold: what every decorator records, registration checks, and blueprints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from microframework import App, Blueprint, CORSConfig, Cron, Rate
from microframework.sample_events import apigateway_event, sqs_event


def get(app: App, path: str, resource: str, params: dict[str, str] | None = None) -> Any:
    result = app(apigateway_event("GET", path, resource=resource, path_parameters=params), None)
    return result["statusCode"], json.loads(result["body"])


def test_route_decorator_returns_the_function_unchanged() -> None:
    app = App("demo")

    def index() -> dict[str, Any]:
        return {"a": 1}

    assert app.route("/")(index) is index
    entry = app.routes["/"]["GET"]
    assert (entry.view_name, entry.method, entry.content_types) == (
        "index",
        "GET",
        ["application/json"],
    )


def test_route_records_every_method_and_option() -> None:
    app = App("demo")

    @app.route("/x/{a}", methods=["get", "Post"], name="custom", api_key_required=True)
    def view(a: str) -> None: ...

    assert sorted(app.routes["/x/{a}"]) == ["GET", "POST"]
    entry = app.routes["/x/{a}"]["POST"]
    assert (entry.view_name, entry.api_key_required, entry.view_args) == ("custom", True, ["a"])


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("users", "must start with '/'"),
        ("/a//b", "empty segment"),
        ("/a/{b}c", "whole segment"),
        ("/a/{b-c}", "not a valid name"),
        ("/{p+}/x", "must be the last segment"),
        ("/{a}/{a}", "twice"),
    ],
    ids=["no-slash", "empty-segment", "partial-param", "bad-name", "greedy-not-last", "repeated"],
)
def test_bad_path_templates_are_rejected(path: str, message: str) -> None:
    app = App("demo")
    with pytest.raises(ValueError, match=message):

        @app.route(path)
        def view(**kwargs: str) -> None: ...


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/users/{user_id}", r"does not take the path parameter\(s\) \['user_id'\]"),
        ("/users", r"requires argument\(s\) \['name'\]"),
    ],
    ids=["param-not-taken", "argument-not-provided"],
)
def test_path_parameters_must_match_the_view(path: str, message: str) -> None:
    app = App("demo")
    with pytest.raises(ValueError, match=message):

        @app.route(path)
        def view(name: str) -> None: ...


def test_view_with_kwargs_or_defaults_is_accepted() -> None:
    app = App("demo")

    @app.route("/a/{x}")
    def catch_all(**kwargs: str) -> dict[str, str]:
        return kwargs

    @app.route("/b/{x}")
    def defaulted(x: str, y: str = "dflt") -> dict[str, str]:
        return {"x": x, "y": y}

    assert get(app, "/a/1", "/a/{x}", {"x": "1"}) == (200, {"x": "1"})
    assert get(app, "/b/2", "/b/{x}", {"x": "2"}) == (200, {"x": "2", "y": "dflt"})


def test_greedy_parameter_is_passed_only_to_views_that_take_it() -> None:
    app = App("demo")

    @app.route("/files/{proxy+}")
    def files() -> dict[str, Any]:
        return {"params": app.current_request.uri_params}

    @app.route("/docs/{path+}")
    def docs(path: str) -> dict[str, str]:
        return {"path": path}

    assert get(app, "/files/a/b", "/files/{proxy+}", {"proxy": "a/b"}) == (
        200,
        {"params": {"proxy": "a/b"}},
    )
    assert get(app, "/docs/x/y", "/docs/{path+}", {"path": "x/y"}) == (200, {"path": "x/y"})


def test_bound_method_views_do_not_count_self() -> None:
    class Views:
        def show(self, item: str) -> dict[str, str]:
            return {"item": item}

    app = App("demo")
    app.route("/items/{item}")(Views().show)
    assert get(app, "/items/3", "/items/{item}", {"item": "3"}) == (200, {"item": "3"})


def test_positional_only_path_parameter_is_rejected() -> None:
    app = App("demo", configure_logs=False)
    with pytest.raises(ValueError, match="item"):

        @app.route("/items/{item}")
        def show(item: str, /) -> dict[str, str]:
            return {"item": item}


def test_duplicate_route_and_method_names_both_views() -> None:
    app = App("demo")

    @app.route("/x", methods=["GET", "POST"])
    def first() -> None: ...

    with pytest.raises(
        ValueError, match="POST /x is handled by both view 'first' and view 'second'"
    ):

        @app.route("/x", methods=["POST"])
        def second() -> None: ...


def test_same_path_different_methods_in_separate_views() -> None:
    app = App("demo")

    @app.route("/x", methods=["GET"])
    def read() -> str:
        return "read"

    @app.route("/x", methods=["PUT"])
    def write() -> str:
        return "write"

    assert {m: e.view_name for m, e in app.routes["/x"].items()} == {"GET": "read", "PUT": "write"}


def test_conflicting_sibling_parameter_names_are_rejected() -> None:
    app = App("demo")

    @app.route("/users/{user_id}")
    def user(user_id: str) -> None: ...

    @app.route("/users/{user_id}/posts")
    def posts(user_id: str) -> None: ...

    with pytest.raises(ValueError, match=r"\{name\} conflicts with \{user_id\}"):

        @app.route("/users/{name}/avatar")
        def avatar(name: str) -> None: ...


@pytest.mark.parametrize(
    "methods", [["FETCH"], [], ["GET", 1]], ids=["unknown", "empty", "not-a-string"]
)
def test_unknown_methods_are_rejected(methods: list[Any]) -> None:
    app = App("demo")
    with pytest.raises(ValueError, match="method"):

        @app.route("/x", methods=methods)
        def view() -> None: ...


def test_failed_registration_registers_no_method() -> None:
    app = App("demo")
    with pytest.raises(ValueError, match="BOGUS"):

        @app.route("/x", methods=["GET", "BOGUS"])
        def view() -> None: ...

    assert app.routes.get("/x", {}) == {}


def test_failed_registration_leaves_no_empty_path() -> None:
    app = App("demo")
    with pytest.raises(ValueError):

        @app.route("/x", methods=["BOGUS"])
        def view() -> None: ...

    assert "/x" not in app.routes


def test_failed_registration_does_not_claim_parameter_names() -> None:
    app = App("demo")
    with pytest.raises(ValueError):

        @app.route("/users/{id}")
        def wrong() -> None: ...

    @app.route("/users/{user_id}")
    def right(user_id: str) -> None: ...

    assert list(app.routes) == ["/users/{user_id}"]


def test_cors_configs_must_agree_between_methods_of_a_path() -> None:
    app = App("demo")

    @app.route("/x", methods=["GET"], cors=True)
    def read() -> None: ...

    @app.route("/x", methods=["PUT"], cors=CORSConfig())  # equal to cors=True
    def write() -> None: ...

    with pytest.raises(ValueError, match="'delete' has a CORS config different from view 'read'"):

        @app.route("/x", methods=["DELETE"], cors=CORSConfig(allow_origin="https://a"))
        def delete() -> None: ...


@pytest.mark.parametrize(
    "content_types", ["application/json", ["a/b", None]], ids=["string", "non-string-item"]
)
def test_content_types_must_be_a_list_of_strings(content_types: Any) -> None:
    app = App("demo")
    with pytest.raises(ValueError, match="content_types must be a list of strings"):

        @app.route("/x", content_types=content_types)
        def view() -> None: ...


def test_event_decorators_record_sources_with_handler_strings() -> None:
    app = App("demo")

    @app.schedule(Rate(5, unit=Rate.MINUTES), description="every 5")
    def tick(event: Any) -> None: ...

    @app.schedule(Cron(0, 10, "*", "*", "?", "*"), name="daily")
    def tock(event: Any) -> None: ...

    @app.on_s3_event(bucket="b", prefix="in/", suffix=".csv")
    def upload(event: Any) -> None: ...

    @app.lambda_function(name="plain")
    def plain(event: Any, context: Any) -> None: ...

    assert [s.to_dict() for s in app.event_sources] == [
        {"name": "tick", "handler_string": "app.tick", "schedule_expression": "rate(5 minutes)", "description": "every 5"},
        {"name": "daily", "handler_string": "app.tock", "schedule_expression": "cron(0 10 * * ? *)", "description": ""},
        {"name": "upload", "handler_string": "app.upload", "bucket": "b", "events": ["s3:ObjectCreated:*"], "prefix": "in/", "suffix": ".csv"},
    ]  # fmt: skip
    assert [f.to_dict() for f in app.pure_lambda_functions] == [
        {"name": "plain", "handler_string": "app.plain"}
    ]
    assert set(app.handlers) == {"tick", "daily", "upload", "plain"}


def test_queue_and_stream_decorators_record_their_settings() -> None:
    app = App("demo")

    @app.on_sqs_message(queue="jobs", batch_size=50, maximum_batching_window_in_seconds=5)
    def jobs(event: Any) -> None: ...

    @app.on_kinesis_record(stream="clicks", starting_position="TRIM_HORIZON")
    def clicks(event: Any) -> None: ...

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:1:table/t/stream/x")
    def changes(event: Any) -> None: ...

    @app.on_sns_message(topic="alerts")
    def alerts(event: Any) -> None: ...

    sqs, kinesis, dynamodb, sns = (s.to_dict() for s in app.event_sources)
    assert (sqs["queue"], sqs["batch_size"], sqs["maximum_batching_window_in_seconds"]) == (
        "jobs",
        50,
        5,
    )
    assert (kinesis["stream"], kinesis["batch_size"], kinesis["starting_position"]) == (
        "clicks",
        100,
        "TRIM_HORIZON",
    )
    assert (dynamodb["batch_size"], dynamodb["starting_position"]) == (100, "LATEST")
    assert sns["topic"] == "alerts"


@pytest.mark.parametrize(
    ("decorate", "message"),
    [
        (lambda app: app.on_sqs_message(), "queue or queue_arn"),
        (lambda app: app.on_sqs_message(queue="q", batch_size=0), "batch_size must be an integer from 1 to 10000, got 0"),
        (lambda app: app.on_sqs_message(queue="q", batch_size=True), "got True"),
        (lambda app: app.on_sqs_message(queue="q", batch_size=11), "batch_size 11 > 10 needs maximum_batching_window"),
        (lambda app: app.on_sqs_message(queue="q", maximum_batching_window_in_seconds=301), "got 301"),
        (lambda app: app.on_kinesis_record(stream="s", starting_position="AT_TIMESTAMP"), "got 'AT_TIMESTAMP'"),
        (lambda app: app.on_dynamodb_record(stream_arn="a", batch_size=10001), "got 10001"),
        (lambda app: app.on_s3_event(bucket=""), "needs a bucket name"),
        (lambda app: app.on_s3_event(bucket="b", events=["ObjectCreated:*"]), "got 'ObjectCreated:\\*'"),
        (lambda app: app.on_sns_message(topic=""), "topic name or ARN"),
        (lambda app: app.on_cw_event({}), "non-empty event_pattern"),
        (lambda app: app.schedule("every 5 minutes"), "got 'every 5 minutes'"),
        (lambda app: app.lambda_function(name="has space"), "got 'has space'"),
        (lambda app: app.middleware("nope"), "unknown middleware event_type 'nope'"),
    ],
    ids=[
        "sqs-no-queue", "sqs-batch-0", "sqs-batch-bool", "sqs-batch-no-window", "sqs-window",
        "kinesis-position", "dynamodb-batch", "s3-no-bucket", "s3-event-name", "sns-no-topic",
        "cw-empty-pattern", "schedule-string", "bad-name", "middleware-type",
    ],
)  # fmt: skip
def test_event_decorator_arguments_are_validated(decorate: Any, message: str) -> None:
    app = App("demo")
    with pytest.raises(ValueError, match=message):
        decorate(app)(lambda event: None)


def test_duplicate_handler_names_name_both_functions() -> None:
    app = App("demo")

    @app.on_sns_message(topic="a", name="worker")
    def first(event: Any) -> None: ...

    with pytest.raises(ValueError, match=r"duplicate handler name 'worker': .*first and .*second"):

        @app.on_sqs_message(queue="q", name="worker")
        def second(event: Any) -> None: ...


def test_blueprint_routes_get_the_url_prefix() -> None:
    bp = Blueprint("myapp.api")

    @bp.route("/")
    def root() -> dict[str, str]:
        return {"at": "root"}

    @bp.route("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    app = App("demo")
    app.register_blueprint(bp, url_prefix="/v1/")
    assert sorted(app.routes) == ["/v1", "/v1/items/{item_id}"]
    assert get(app, "/v1/items/5", "/v1/items/{item_id}", {"item_id": "5"}) == (200, {"item": "5"})


def test_blueprint_handlers_get_the_name_prefix_and_module() -> None:
    bp = Blueprint("myapp.workers")

    @bp.on_sqs_message(queue="jobs")
    def consume(event: Any) -> None: ...

    @bp.authorizer()
    def auth(request: Any) -> None: ...

    app = App("demo")
    app.register_blueprint(bp, name_prefix="bp_")
    assert set(app.handlers) == {"bp_consume", "bp_auth"}
    assert app.event_sources[0].to_dict()["handler_string"] == "myapp.workers.consume"
    config = app.builtin_auth_handlers[0]
    assert (config.name, config.handler_string) == ("bp_auth", "myapp.workers.auth")


def test_blueprint_middleware_applies_to_the_whole_app() -> None:
    bp = Blueprint("myapp.mw")

    @bp.middleware("http")
    def tag(request: Any, get_response: Any) -> Any:
        response = get_response(request)
        response.headers["X-From-Blueprint"] = "yes"
        return response

    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {}

    app.register_blueprint(bp)
    assert app(apigateway_event("GET", "/"), None)["headers"] == {"X-From-Blueprint": "yes"}


def test_blueprint_current_request_and_app_after_registration() -> None:
    bp = Blueprint("myapp.api")

    @bp.route("/who")
    def who() -> dict[str, Any]:
        return {"app": bp.current_app.app_name, "path": bp.current_request.path}

    with pytest.raises(RuntimeError, match="registered"):
        bp.current_app  # noqa: B018
    app = App("demo")
    app.register_blueprint(bp)
    assert get(app, "/who", "/who") == (200, {"app": "demo", "path": "/who"})
    assert bp.log is app.log


def test_blueprint_event_handler_runs_app_middleware() -> None:
    bp = Blueprint("myapp.workers")
    seen = []

    @bp.on_sqs_message(queue="jobs")
    def consume(event: Any) -> None:
        seen.extend(record.body for record in event)

    app = App("demo")

    @app.middleware("sqs")
    def count(event: Any, get_response: Any) -> Any:
        seen.append("mw")
        return get_response(event)

    app.register_blueprint(bp)
    consume(sqs_event(["a", "b"]), None)
    assert seen == ["mw", "a", "b"]


def test_url_prefix_must_start_with_a_slash() -> None:
    with pytest.raises(ValueError, match="url_prefix must start with '/', got 'v1'"):
        App("demo").register_blueprint(Blueprint("x"), url_prefix="v1")
