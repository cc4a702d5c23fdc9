"""microframework.app: REST and HTTP API dispatch, errors, CORS, content types, per-request state."""

from __future__ import annotations

import json
import threading
from typing import Any

import chalice
import pytest

import microframework
from microframework import (
    App,
    BadRequestError,
    ChaliceViewError,
    ConflictError,
    CORSConfig,
    ForbiddenError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTimeoutError,
    Response,
    TooManyRequestsError,
    UnauthorizedError,
    UnhandledError,
    UnprocessableEntityError,
    ViewError,
)
from microframework.sample_events import apigateway_event


def call(
    app: App,
    method: str = "GET",
    path: str = "/",
    resource: str | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """What API Gateway would pass to Lambda for ``method path``, and the raw proxy result."""
    event = apigateway_event(method, path, body, headers, resource, params)
    return app(event, None)


def json_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


def v2_event(
    method: str, raw_path: str, route_key: str, params: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"accept": "*/*"},
        "pathParameters": params,
        "requestContext": {"http": {"method": method, "path": raw_path}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    event.update(extra)
    return event


def test_view_return_value_becomes_compact_json_body() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {"hello": "world", "n": [1, 2]}

    result = call(app)
    assert result["statusCode"] == 200
    assert result["body"] == '{"hello":"world","n":[1,2]}'
    assert result["headers"] == {}
    assert result["multiValueHeaders"] == {}


def test_path_parameters_are_passed_by_name() -> None:
    app = App("demo")

    @app.route("/users/{user_id}/posts/{post_id}")
    def post(post_id: str, user_id: str) -> dict[str, str]:
        return {"user": user_id, "post": post_id}

    result = call(
        app,
        path="/users/7/posts/42",
        resource="/users/{user_id}/posts/{post_id}",
        params={"user_id": "7", "post_id": "42"},
    )
    assert json_of(result) == {"user": "7", "post": "42"}


def test_response_object_sets_status_and_headers() -> None:
    app = App("demo")

    @app.route("/created", methods=["POST"])
    def create() -> Response:
        return Response({"id": 1}, headers={"Location": "/things/1"}, status_code=201)

    result = call(app, "POST", "/created", body="{}")
    assert result["statusCode"] == 201
    assert result["headers"] == {"Location": "/things/1"}
    assert json_of(result) == {"id": 1}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequestError, 400),
        (UnauthorizedError, 401),
        (ForbiddenError, 403),
        (NotFoundError, 404),
        (MethodNotAllowedError, 405),
        (RequestTimeoutError, 408),
        (ConflictError, 409),
        (UnprocessableEntityError, 422),
        (TooManyRequestsError, 429),
        (ViewError, 500),
        (ChaliceViewError, 500),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_view_errors_answer_with_their_status_and_code(error: type[ViewError], status: int) -> None:
    app = App("demo")

    @app.route("/")
    def index() -> None:
        raise error("nope")

    result = call(app)
    assert result["statusCode"] == status
    assert json_of(result) == {"Code": error.__name__, "Message": "nope"}


def test_unhandled_exception_is_a_generic_500() -> None:
    app = App("demo", configure_logs=False)

    @app.route("/")
    def index() -> None:
        raise RuntimeError("secret detail")

    result = call(app)
    assert result["statusCode"] == 500
    assert json_of(result) == {
        "Code": "InternalServerError",
        "Message": "An internal server error occurred.",
    }
    assert "secret detail" not in result["body"]


def test_debug_mode_returns_the_traceback_as_text() -> None:
    app = App("demo", debug=True, configure_logs=False)

    @app.route("/")
    def index() -> None:
        raise RuntimeError("secret detail")

    result = call(app)
    assert result["statusCode"] == 500
    assert result["headers"] == {"Content-Type": "text/plain"}
    assert result["body"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: secret detail" in result["body"]


def test_header_value_with_newline_is_a_500() -> None:
    app = App("demo", configure_logs=False)

    @app.route("/")
    def index() -> Response:
        return Response("x", headers={"X-Bad": "a\nb"})

    assert call(app)["statusCode"] == 500


def test_unknown_method_is_405_with_allow_header() -> None:
    app = App("demo")

    @app.route("/things", methods=["GET", "POST"])
    def things() -> dict[str, Any]:
        return {}

    result = call(app, "DELETE", "/things")
    assert result["statusCode"] == 405
    assert result["headers"] == {"Allow": "GET, POST"}
    assert json_of(result) == {
        "Code": "MethodNotAllowedError",
        "Message": "Unsupported method: DELETE",
    }


def test_event_without_resource_path_is_unknown_request() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {}

    result = app({"requestContext": {}, "headers": None}, None)
    assert result["statusCode"] == 500
    assert json_of(result) == {"Code": "InternalServerError", "Message": "Unknown request."}


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("application/json; charset=utf-8", 200),
        ("text/plain", 415),
        ("application/xml", 415),
    ],
    ids=["json", "json-charset", "text", "xml"],
)
def test_default_route_accepts_only_json(content_type: str, status: int) -> None:
    app = App("demo")

    @app.route("/", methods=["POST"])
    def index() -> dict[str, Any]:
        return {}

    result = call(app, "POST", "/", headers={"Content-Type": content_type}, body="{}")
    assert result["statusCode"] == status
    if status == 415:
        assert json_of(result) == {
            "Code": "UnsupportedMediaType",
            "Message": f"Unsupported media type: {content_type}",
        }


def test_request_without_content_type_counts_as_json() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {"ok": True}

    assert call(app)["statusCode"] == 200


def test_415_without_content_type_names_the_assumed_json_type() -> None:
    app = App("demo")

    @app.route("/", content_types=["text/plain"])
    def index() -> dict[str, Any]:
        return {}

    result = call(app)
    assert result["statusCode"] == 415
    assert json_of(result)["Message"] == "Unsupported media type: application/json"


def test_cors_route_adds_access_control_headers_without_overriding_the_view() -> None:
    app = App("demo")

    @app.route("/", cors=CORSConfig(allow_origin="https://a.example", max_age=60))
    def index() -> Response:
        return Response({}, headers={"Access-Control-Max-Age": "5"})

    headers = call(app)["headers"]
    assert headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert headers["Access-Control-Max-Age"] == "5"
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]


def test_cors_headers_are_on_415_responses_too() -> None:
    app = App("demo")

    @app.route("/", methods=["POST"], cors=True)
    def index() -> dict[str, Any]:
        return {}

    result = call(app, "POST", "/", headers={"Content-Type": "text/plain"}, body="x")
    assert result["statusCode"] == 415
    assert result["headers"]["Access-Control-Allow-Origin"] == "*"


def test_api_wide_cors_applies_to_routes_that_do_not_say() -> None:
    app = App("demo")
    app.api.cors = True

    @app.route("/on")
    def on() -> dict[str, Any]:
        return {}

    @app.route("/off", cors=False)
    def off() -> dict[str, Any]:
        return {}

    assert call(app, path="/on")["headers"]["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in call(app, path="/off")["headers"]


def binary_app() -> App:
    app = App("demo")

    @app.route("/image")
    def image() -> Response:
        return Response(b"\x89PNG", headers={"Content-Type": "image/png"})

    return app


@pytest.mark.parametrize(
    ("accept", "status"),
    [(None, 400), ("application/json", 400), ("image/png", 200), ("*/*", 200)],
    ids=["no-accept", "json-accept", "png-accept", "any-accept"],
)
def test_binary_response_needs_a_matching_accept_header(accept: str | None, status: int) -> None:
    headers = {"Accept": accept} if accept else None
    result = call(binary_app(), path="/image", headers=headers)
    assert result["statusCode"] == status
    if status == 200:
        assert result["isBase64Encoded"] is True
        assert result["body"] == "iVBORw=="
    else:
        assert json_of(result)["Code"] == "BadRequest"
        assert "image/png" in json_of(result)["Message"]


def test_view_reads_the_current_request() -> None:
    app = App("demo")

    @app.route("/echo", methods=["PUT"])
    def echo() -> dict[str, Any]:
        request = app.current_request
        return {
            "method": request.method,
            "path": request.path,
            "body": request.json_body,
            "q": request.query_params.getlist("a"),
            "h": request.headers["x-custom"],
        }

    result = call(app, "PUT", "/echo?a=1&a=2", headers={"X-Custom": "v"}, body='{"k": 1}')
    assert json_of(result) == {
        "method": "PUT",
        "path": "/echo",
        "body": {"k": 1},
        "q": ["1", "2"],
        "h": "v",
    }


def test_malformed_json_body_is_a_400() -> None:
    app = App("demo")

    @app.route("/", methods=["POST"])
    def index() -> Any:
        return app.current_request.json_body

    result = call(app, "POST", "/", body="{not json")
    assert result["statusCode"] == 400
    assert json_of(result) == {"Code": "BadRequestError", "Message": "Error Parsing JSON"}


def test_current_request_and_context_are_cleared_after_the_request() -> None:
    app = App("demo")
    seen = []

    @app.route("/")
    def index() -> dict[str, Any]:
        seen.append((app.current_request.path, app.lambda_context))
        return {}

    call(app)
    app(apigateway_event("GET", "/"), "ctx")
    assert seen == [("/", None), ("/", "ctx")]
    assert app.current_request is None
    assert app.lambda_context is None


def test_concurrent_requests_each_see_their_own_current_request() -> None:
    app = App("demo")
    barrier = threading.Barrier(2, timeout=10)

    @app.route("/who")
    def who() -> dict[str, Any]:
        before = app.current_request.query_params["n"]
        barrier.wait()  # both requests are now in flight on their own threads
        after = app.current_request.query_params["n"]
        return {"before": before, "after": after}

    results: dict[str, Any] = {}

    def run(n: str) -> None:
        results[n] = json_of(call(app, path=f"/who?n={n}"))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("1", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"1": {"before": "1", "after": "1"}, "2": {"before": "2", "after": "2"}}


def test_http_middleware_wraps_the_view_outermost_first() -> None:
    app = App("demo")
    order = []

    @app.middleware("http")
    def outer(request: Any, get_response: Any) -> Response:
        order.append("outer")
        response = get_response(request)
        response.headers["X-Outer"] = "1"
        return response

    @app.middleware("all")
    def inner(request: Any, get_response: Any) -> Response:
        order.append(f"inner {request.path}")
        return get_response(request)

    @app.route("/")
    def index() -> dict[str, Any]:
        order.append("view")
        return {}

    result = call(app)
    assert order == ["outer", "inner /", "view"]
    assert result["headers"] == {"X-Outer": "1"}


def test_middleware_can_answer_without_calling_the_view() -> None:
    app = App("demo")

    @app.middleware("http")
    def gate(request: Any, get_response: Any) -> Response:
        return Response({"blocked": request.headers.get("x-user")}, status_code=403)

    @app.route("/")
    def index() -> dict[str, Any]:
        raise AssertionError("view must not run")

    result = call(app, headers={"X-User": "eve"})
    assert result["statusCode"] == 403
    assert json_of(result) == {"blocked": "eve"}


def test_unhandled_error_reaches_middleware() -> None:
    app = App("demo")

    @app.middleware("http")
    def handle(request: Any, get_response: Any) -> Response:
        try:
            return get_response(request)
        except UnhandledError as err:
            return Response({"caught": str(err)}, status_code=418)

    @app.route("/")
    def index() -> None:
        raise UnhandledError("teapot")

    result = call(app)
    assert (result["statusCode"], json_of(result)) == (418, {"caught": "teapot"})


def test_exception_in_middleware_is_a_500() -> None:
    app = App("demo", configure_logs=False)

    @app.middleware("http")
    def broken(request: Any, get_response: Any) -> Response:
        raise RuntimeError("boom")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {}

    result = call(app)
    assert result["statusCode"] == 500
    assert json_of(result)["Code"] == "InternalServerError"


def test_middleware_registered_after_a_request_still_applies() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {}

    assert call(app)["headers"] == {}

    @app.middleware("http")
    def tag(request: Any, get_response: Any) -> Response:
        response = get_response(request)
        response.headers["X-Tag"] = "late"
        return response

    assert call(app)["headers"] == {"X-Tag": "late"}


def test_http_api_v2_event_dispatches_on_route_key() -> None:
    app = App("demo")

    @app.route("/users/{user_id}", methods=["GET"])
    def user(user_id: str) -> Response:
        return Response({"id": user_id}, headers={"Set-Cookie": ["a=1", "b=2"], "X-M": ["1", "2"]})

    event = v2_event("GET", "/users/7", "GET /users/{user_id}", {"user_id": "7"})
    result = app(event, None)
    assert result == {
        "statusCode": 200,
        "headers": {"X-M": "1, 2"},
        "body": '{"id":"7"}',
        "isBase64Encoded": False,
        "cookies": ["a=1", "b=2"],
    }


def test_http_api_v2_default_route_matches_the_raw_path() -> None:
    app = App("demo")

    @app.route("/users/{user_id}", methods=["GET", "POST"])
    def user(user_id: str) -> dict[str, str]:
        return {"id": user_id}

    assert json_of(app(v2_event("GET", "/users/9", "$default"), None)) == {"id": "9"}
    result = app(v2_event("DELETE", "/users/9", "$default"), None)
    assert result["statusCode"] == 405
    assert result["headers"] == {"Allow": "GET, POST"}
    assert app(v2_event("GET", "/nowhere", "$default"), None)["statusCode"] == 404


def test_http_api_v2_default_route_request_names_the_matched_route() -> None:
    app = App("demo")

    @app.route("/users/{user_id}")
    def user(user_id: str) -> dict[str, Any]:
        request = app.current_request
        return {"path": request.path, "params": request.uri_params}

    result = app(v2_event("GET", "/users/9", "$default"), None)
    assert json_of(result) == {"path": "/users/{user_id}", "params": {"user_id": "9"}}


def test_http_api_v2_query_string_and_base64_body() -> None:
    app = App("demo")

    @app.route("/up", methods=["POST"], content_types=["application/octet-stream"])
    def up() -> dict[str, Any]:
        request = app.current_request
        return {"a": request.query_params.getlist("a"), "len": len(request.raw_body)}

    event = v2_event(
        "POST", "/up", "POST /up", rawQueryString="a=1&a=2", body="AAEC", isBase64Encoded=True
    )
    event["headers"]["content-type"] = "application/octet-stream"
    assert json_of(app(event, None)) == {"a": ["1", "2"], "len": 3}


def test_log_is_created_lazily_and_follows_debug() -> None:
    app = App("demo-log-level")
    assert app.log.getEffectiveLevel() == 40
    app.debug = True
    assert app.log.getEffectiveLevel() == 10
    assert app.log.name == "demo-log-level"


# The same app in Chalice and in fw must answer the same events with the same proxy results.
DIFFERENTIAL_CASES = [
    ("GET", "/", "/", None, None, None),
    ("GET", "/items/3", "/items/{item_id}", {"item_id": "3"}, None, None),
    ("POST", "/items/3", "/items/{item_id}", {"item_id": "3"}, None, '{"a": 1}'),
    (
        "POST",
        "/items/3",
        "/items/{item_id}",
        {"item_id": "3"},
        {"Content-Type": "text/xml"},
        "<a/>",
    ),
    ("DELETE", "/items/3", "/items/{item_id}", {"item_id": "3"}, None, None),
    ("GET", "/fail", "/fail", None, None, None),
    ("GET", "/image", "/image", None, None, None),
    ("GET", "/image", "/image", None, {"Accept": "image/png"}, None),
    ("GET", "/cors", "/cors", None, None, None),
    ("POST", "/json", "/json", None, None, "{oops"),
]


def build(framework: Any) -> Any:
    app = framework.Chalice("diff") if hasattr(framework, "Chalice") else framework.App("diff")
    app.log.disabled = True

    @app.route("/")
    def index() -> dict[str, Any]:
        return {"hello": "world"}

    @app.route("/items/{item_id}", methods=["GET", "POST"])
    def item(item_id: str) -> Any:
        return {"id": item_id, "body": app.current_request.json_body}

    @app.route("/fail")
    def fail() -> None:
        raise framework.NotFoundError("no such thing")

    @app.route("/image")
    def image() -> Any:
        return framework.Response(b"\x00\x01", headers={"Content-Type": "image/png"})

    @app.route("/cors", cors=framework.CORSConfig(expose_headers=["X-A"], allow_credentials=True))
    def cors() -> dict[str, Any]:
        return {}

    @app.route("/json", methods=["POST"])
    def parse() -> Any:
        return app.current_request.json_body

    return app


@pytest.mark.parametrize(
    ("method", "path", "resource", "params", "headers", "body"),
    DIFFERENTIAL_CASES,
    ids=[f"{c[0]} {c[1]}{' ' + str(c[4]) if c[4] else ''}" for c in DIFFERENTIAL_CASES],
)
def test_same_result_as_chalice(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str] | None,
    headers: dict[str, str] | None,
    body: str | None,
) -> None:
    results = []
    for framework in (chalice, microframework):
        event = apigateway_event(method, path, body, headers, resource, params)
        results.append(build(framework)(event, None))
    theirs, ours = results
    assert ours == theirs


def test_a_body_json_cannot_encode_is_a_500_not_a_failed_invocation() -> None:
    app = App("unencodable")

    @app.route("/")
    def index() -> object:
        return {"when": object()}

    result = app(apigateway_event("GET", "/"), None)
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {
        "Code": "InternalServerError",
        "Message": "An internal server error occurred.",
    }


def test_a_wildcard_binary_type_sends_the_image_as_base64() -> None:
    app = binary_app()
    app.api.binary_types = ["image/*"]
    result = call(app, path="/image", headers={"Accept": "image/png"})
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is True and result["body"] == "iVBORw=="
