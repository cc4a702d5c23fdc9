"""microframework.testing: Client(app) as users write their tests."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from microframework import App, NotFoundError, Response
from microframework.testing import Client, FunctionNotFoundError


def make_app() -> App:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    @app.route("/items/{item_id}", methods=["GET", "PUT", "PATCH", "DELETE", "POST"])
    def item(item_id: str) -> Any:
        request = app.current_request
        if item_id == "missing":
            raise NotFoundError(f"no item {item_id}")
        return {"id": item_id, "method": request.method, "body": request.json_body}

    @app.route("/text", methods=["POST"], content_types=["text/plain"])
    def text() -> Response:
        body = app.current_request.raw_body.decode()
        return Response(body.upper(), headers={"Content-Type": "text/plain"})

    return app


def test_get_json() -> None:
    with Client(make_app()) as client:
        response = client.http.get("/")
    assert response.status_code == 200
    assert response.json_body == {"hello": "world"}
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["put", "patch", "post", "delete"])
def test_every_method_helper_sends_json(method: str) -> None:
    client = Client(make_app())
    response = getattr(client.http, method)("/items/7", json={"n": 1})
    assert response.json_body == {"id": "7", "method": method.upper(), "body": {"n": 1}}


def test_text_body_and_headers() -> None:
    client = Client(make_app())
    response = client.http.post("/text", body="abc", headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.body) == (200, b"ABC")
    assert response.headers["Content-Type"] == "text/plain"


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/items/missing", 404, {"Code": "NotFoundError", "Message": "no item missing"}),
        ("GET", "/unknown", 403, {"message": "Missing Authentication Token"}),
        # A method the path does not define has no resource method in API Gateway either.
        ("POST", "/", 403, {"message": "Missing Authentication Token"}),
        ("HEAD", "/", 403, {"message": "Missing Authentication Token"}),
    ],
    ids=["view-error", "unknown-path", "wrong-method", "head"],
)
def test_error_statuses(method: str, path: str, status: int, body: Any) -> None:
    response = Client(make_app()).http.request(method, path)
    assert (response.status_code, response.json_body) == (status, body)


def test_empty_body_json_is_none() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> Response:
        return Response("", status_code=204)

    response = Client(app).http.get("/")
    assert (response.status_code, response.json_body) == (204, None)


def test_repeated_response_headers_are_joined() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> Response:
        return Response({}, headers={"X-Multi": ["a", "b"]})

    assert Client(app).http.get("/").headers["X-Multi"] == "a, b"


def test_stage_name_and_variables() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        request = app.current_request
        return {"stage": request.context["stage"], "vars": request.stage_vars}

    client = Client(app, stage_name="prod", stage_variables={"db": "main"})
    assert client.http.get("/").json_body == {"stage": "api", "vars": {"db": "main"}}


def test_stage_config_gives_environment_and_api_stage(tmp_path: Any, monkeypatch: Any) -> None:
    import json
    import os

    (tmp_path / ".fw").mkdir()
    config = {
        "version": "1.0",
        "app_name": "demo",
        "environment_variables": {"TABLE": "top", "LEVEL": "top"},
        "lambda_functions": {"job": {"environment_variables": {"JOB": "top-job"}}},
        "stages": {
            "prod": {
                "api_gateway_stage": "v1",
                "environment_variables": {"TABLE": "prod"},
                "lambda_functions": {"job": {"environment_variables": {"LEVEL": "prod-job"}}},
            }
        },
    }
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    monkeypatch.delenv("TABLE", raising=False)
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        stage = app.current_request.context["stage"]
        return {"stage": stage, "table": os.environ["TABLE"], "level": os.environ["LEVEL"]}

    @app.lambda_function()
    def job(event: Any, context: Any) -> dict[str, Any]:
        return {k: os.environ.get(k) for k in ("TABLE", "LEVEL", "JOB")}

    client = Client(app, stage_name="prod", project_dir=str(tmp_path))
    assert client.http.get("/").json_body == {"stage": "v1", "table": "prod", "level": "top"}
    assert client.lambda_.invoke("job").payload == {
        "TABLE": "prod",
        "LEVEL": "prod-job",
        "JOB": "top-job",
    }
    assert "TABLE" not in os.environ  # restored after each call


def test_concurrent_requests_through_the_client_keep_their_own_request() -> None:
    app = App("demo")
    barrier = threading.Barrier(3, timeout=10)

    @app.route("/who/{name}")
    def who(name: str) -> dict[str, Any]:
        barrier.wait()  # all three requests are in flight at once
        return {"name": name, "seen": app.current_request.uri_params["name"]}

    client = Client(app)
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        results[name] = client.http.get(f"/who/{name}").json_body

    threads = [threading.Thread(target=run, args=(n,)) for n in ("ann", "bob", "cy")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: {"name": n, "seen": n} for n in ("ann", "bob", "cy")}


def test_generated_events_drive_event_handlers() -> None:
    app = App("demo")

    @app.on_s3_event(bucket="uploads")
    def on_upload(event: Any) -> Any:
        return [event.bucket, event.key]

    @app.on_sns_message(topic="alerts")
    def on_alert(event: Any) -> Any:
        return [event.message, event.subject]

    @app.on_sqs_message(queue="jobs")
    def on_job(event: Any) -> Any:
        return [r.body for r in event]

    client = Client(app)
    assert on_upload(client.events.generate_s3_event("uploads", "a b.txt"), None) == [
        "uploads",
        "a b.txt",
    ]
    assert on_alert(client.events.generate_sns_event("hi", subject="s"), None) == ["hi", "s"]
    assert on_job(client.events.generate_sqs_event(["1", "2"]), None) == ["1", "2"]


def test_generated_stream_and_cloudwatch_events() -> None:
    client = Client(App("demo"))
    cw = client.events.generate_cw_event("my.src", "Thing", {"k": 1}, ["arn:r"], region="eu-west-1")
    assert (cw["source"], cw["detail-type"], cw["detail"], cw["region"]) == (
        "my.src",
        "Thing",
        {"k": 1},
        "eu-west-1",
    )
    kinesis = client.events.generate_kinesis_event([b"a"], stream_name="s")
    assert kinesis["Records"][0]["eventSourceARN"].endswith(":stream/s")
    ddb = client.events.generate_dynamodb_event([{"id": {"S": "1"}}], table_name="t")
    assert ddb["Records"][0]["dynamodb"]["NewImage"] == {"id": {"S": "1"}}


def test_lambda_invoke_calls_the_named_handler() -> None:
    app = App("demo")

    @app.lambda_function(name="adder")
    def add(event: Any, context: Any) -> Any:
        return {"sum": event["a"] + event["b"], "fn": context.function_name}

    response = Client(app).lambda_.invoke("adder", {"a": 1, "b": 2})
    assert response.payload == {"sum": 3, "fn": "adder"}


def test_lambda_invoke_unknown_name_lists_the_known_ones() -> None:
    app = App("demo")
    app.lambda_function(name="adder")(lambda event, context: None)
    with pytest.raises(FunctionNotFoundError, match=r"no handler named 'nope' \(known: adder\)"):
        Client(app).lambda_.invoke("nope")
    assert issubclass(FunctionNotFoundError, ValueError)  # what fw's client raised before


@pytest.mark.parametrize(
    "body", [b"not json", b"\x89PNG\x00", b""], ids=["text", "binary", "empty"]
)
def test_json_body_is_none_for_a_body_that_is_not_json(body: bytes) -> None:
    app = App("demo")
    app.route("/")(lambda: Response(body, headers={"Content-Type": "application/octet-stream"}))
    response = Client(app).http.get("/", headers={"Accept": "application/octet-stream"})
    assert (response.status_code, response.body, response.json_body) == (200, body, None)


def test_sns_event_takes_chalices_arguments_and_a_topic_keyword() -> None:
    events = Client(App("demo")).events
    attributes = {"k": {"Type": "String", "Value": "v"}}
    record = events.generate_sns_event("m", "s", attributes, topic="alerts")["Records"][0]["Sns"]
    assert (record["Message"], record["Subject"]) == ("m", "s")
    assert record["MessageAttributes"] == attributes
    assert record["TopicArn"].endswith(":alerts")


def test_path_parameters_reach_the_view_percent_encoded() -> None:
    client = Client(make_app())
    assert client.http.get("/items/a%20b").json_body["id"] == "a%20b"
    assert client.http.get("/items/a%2Fb").json_body["id"] == "a%2Fb"


def test_gateway_errors_carry_api_gateways_headers() -> None:
    response = Client(make_app()).http.post("/")
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.headers["x-amzn-RequestId"] and response.headers["x-amz-apigw-id"]


def test_base64_body_needs_a_binary_first_accept() -> None:
    app = App("demo")
    app.api.binary_types.append("image/png")

    @app.route("/img")
    def img() -> Response:
        return Response(b"\x00\x01", headers={"Content-Type": "image/png"})

    client = Client(app)
    assert client.http.get("/img", headers={"Accept": "image/png"}).body == b"\x00\x01"
    assert client.http.get("/img", headers={"Accept": "text/html, image/png"}).body == b"AAE="


def test_limits_apply_to_the_client_too(tmp_path: Any) -> None:
    import json

    from microframework.gateway import MAX_EVENT_BYTES

    client = Client(make_app())
    too_big = client.http.put("/items/1", body=b"x" * (MAX_EVENT_BYTES + 1))
    assert (too_big.status_code, too_big.json_body) == (413, {"message": "Request Too Long"})
    assert client.http.get("/items/1?q=" + "x" * 8200).status_code == 414
    # A REGIONAL API (from the stage's config) takes URLs up to 10,240 characters.
    (tmp_path / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "demo", "api_gateway_endpoint_type": "REGIONAL"}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    regional = Client(make_app(), project_dir=str(tmp_path))
    assert regional.http.get("/items/1?q=" + "x" * 8200).status_code == 200
