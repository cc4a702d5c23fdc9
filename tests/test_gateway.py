"""microframework.gateway: API Gateway emulation (events, 403s, preflight, authorizers, limits)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from microframework import App, AuthResponse, AuthRoute, CORSConfig, Response
from microframework.gateway import (
    MAX_PAYLOAD_BYTES,
    BadRequest,
    GatewayResponse,
    LambdaContext,
    LocalGateway,
)


def send(
    app: App,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    **gateway: Any,
) -> GatewayResponse:
    return LocalGateway(app, **gateway).handle(method, target, list((headers or {}).items()), body)


def echo_app() -> App:
    app = App("demo")

    @app.route("/items/{item_id}", methods=["GET", "POST"], content_types=["*/*"])
    def item(item_id: str) -> Any:
        return app.current_request.to_original_event()

    return app


def test_event_has_the_rest_api_proxy_shape() -> None:
    response = send(echo_app(), "get", "/items/a%20b?x=1&x=2&y=", {"X-H": "v"}, stage="dev")
    event = json.loads(response.body)
    assert response.status == 200
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/items/{item_id}",
        "/items/a b",
        "GET",
    )
    assert event["pathParameters"] == {"item_id": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert (event["headers"], event["multiValueHeaders"]) == ({"X-H": "v"}, {"X-H": ["v"]})
    context = event["requestContext"]
    assert (context["resourcePath"], context["stage"], context["path"]) == (
        "/items/{item_id}",
        "dev",
        "/dev/items/a b",
    )
    assert (event["body"], event["isBase64Encoded"], event["stageVariables"]) == (None, False, None)


def test_empty_request_has_null_headers_and_query() -> None:
    event = json.loads(send(echo_app(), "GET", "/items/1").body)
    assert (
        event["headers"],
        event["queryStringParameters"],
        event["multiValueQueryStringParameters"],
    ) == (None, None, None)


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("text/plain", "héllo".encode(), False),
        ("image/png", b"\x89PNG", True),
        ("text/plain", b"\xff\xfe", True),
    ],
    ids=["text", "binary-type", "invalid-utf8"],
)
def test_request_body_encoding(content_type: str, body: bytes, encoded: bool) -> None:
    event = json.loads(
        send(echo_app(), "POST", "/items/1", {"Content-Type": content_type}, body).body
    )
    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == body


def test_repeated_headers_keep_every_value() -> None:
    headers = [("X-A", "1"), ("X-A", "2")]
    response = LocalGateway(echo_app()).handle("GET", "/items/1", headers, b"")
    event = json.loads(response.body)
    assert (event["headers"], event["multiValueHeaders"]) == ({"X-A": "2"}, {"X-A": ["1", "2"]})


def test_unknown_path_is_403_missing_authentication_token() -> None:
    response = send(echo_app(), "GET", "/nope")
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Missing Authentication Token"}
    assert response.header("content-type") == "application/json"


def test_undefined_method_reaches_the_app_for_a_405() -> None:
    response = send(echo_app(), "DELETE", "/items/1")
    assert response.status == 405
    assert response.header("Allow") == "GET, POST"


@pytest.mark.parametrize(
    "target",
    ["/items/%ff", "/items/1?x=%ff", "items/1", "/items/%zz", "/items/1?a=%2", "/items/%"],
    ids=["path", "query", "no-slash", "not-hex", "short-escape", "bare-percent"],
)
def test_malformed_request_target_is_bad_request(target: str) -> None:
    with pytest.raises(BadRequest):
        send(echo_app(), "GET", target)


def test_payload_over_the_lambda_limit_is_413() -> None:
    response = send(echo_app(), "POST", "/items/1", body=b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert response.status == 413
    assert json.loads(response.body) == {"message": "Request Too Long"}


def test_binary_body_counts_base64_encoded_against_the_limit() -> None:
    # 5 MB of bytes is 6.7 MB once base64-encoded into the event Lambda receives.
    body = b"\x00" * (5 * 1024 * 1024)
    headers = {"Content-Type": "application/octet-stream"}
    response = send(echo_app(), "POST", "/items/1", headers=headers, body=body)
    assert response.status == 413


def test_response_headers_multi_values_and_request_id() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> Response:
        return Response("hi", headers={"Content-Type": "text/plain", "Set-Cookie": ["a=1", "b=2"]})

    response = send(app, "GET", "/")
    assert (response.status, response.body) == (200, b"hi")
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.header("content-type") == "text/plain"
    assert response.header("x-amzn-requestid")


def test_binary_response_is_decoded() -> None:
    app = App("demo")

    @app.route("/img")
    def img() -> Response:
        return Response(b"\x00\x01", headers={"Content-Type": "image/png"})

    response = send(app, "GET", "/img", {"Accept": "image/png"})
    assert (response.status, response.body) == (200, b"\x00\x01")


def test_unserializable_result_is_a_500_from_the_app() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> Any:
        return {"x": object()}

    response = send(app, "GET", "/")
    assert response.status == 500
    assert json.loads(response.body)["Code"] == "InternalServerError"


class _CrashingApp(App):
    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the handler itself failed")


def test_a_failed_invocation_is_api_gateways_502() -> None:
    app = _CrashingApp("demo")

    @app.route("/")
    def index() -> Any:
        return {}

    response = send(app, "GET", "/")
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


def cors_app(cors: Any) -> App:
    app = App("demo")

    @app.route("/c", methods=["GET", "PUT"], cors=cors)
    def c() -> dict[str, Any]:
        return {}

    return app


def test_cors_preflight_is_answered_by_the_gateway() -> None:
    response = send(cors_app(CORSConfig(allow_origin="https://a", max_age=5)), "OPTIONS", "/c")
    assert (response.status, response.body) == (200, b"")
    assert dict(response.headers) == {
        "Access-Control-Allow-Origin": "https://a",
        "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key",
        "Access-Control-Max-Age": "5",
        "Access-Control-Allow-Methods": "GET,OPTIONS,PUT",
    }


def test_options_without_cors_reaches_the_app() -> None:
    assert send(cors_app(None), "OPTIONS", "/c").status == 405


def test_api_key_required() -> None:
    app = App("demo")

    @app.route("/k", api_key_required=True)
    def k() -> dict[str, Any]:
        return {}

    assert send(app, "GET", "/k").status == 403
    assert json.loads(send(app, "GET", "/k").body) == {"message": "Forbidden"}
    assert send(app, "GET", "/k", {"X-Api-Key": "abc"}).status == 200


def auth_app() -> App:
    app = App("demo", configure_logs=False)

    @app.authorizer(header="X-Token")
    def auth(request: Any) -> Any:
        if request.token == "raise":
            raise Exception("Unauthorized")
        if request.token == "boom":
            raise RuntimeError("bug")
        if request.token == "deny":
            return {
                "principalId": "x",
                "policyDocument": {"Statement": {"Effect": "Deny", "Resource": "*"}},
            }
        if request.token == "get-only":
            return AuthResponse([AuthRoute("/p", ["GET"])], principal_id="g")
        return AuthResponse(["/p"], principal_id="u", context={"tier": "gold"})

    @app.route("/p", methods=["GET", "PUT"], authorizer=auth)
    def p() -> Any:
        return app.current_request.context["authorizer"]

    return app


@pytest.mark.parametrize(
    ("method", "token", "status", "body"),
    [
        ("GET", None, 401, {"message": "Unauthorized"}),
        ("GET", "raise", 401, {"message": "Unauthorized"}),
        ("GET", "boom", 500, {"message": None}),
        ("GET", "deny", 403, {"Message": "User is not authorized to access this resource with an explicit deny"}),
        ("PUT", "get-only", 403, {"Message": "User is not authorized to access this resource"}),
        ("GET", "get-only", 200, {"principalId": "g"}),
        ("GET", "ok", 200, {"tier": "gold", "principalId": "u"}),
    ],
    ids=["no-token", "unauthorized", "authorizer-error", "deny", "method-not-allowed", "allowed-method", "allow"],
)  # fmt: skip
def test_builtin_authorizer(method: str, token: str | None, status: int, body: Any) -> None:
    headers = {"X-Token": token} if token else None
    response = send(auth_app(), method, "/p", headers)
    assert (response.status, json.loads(response.body)) == (status, body)


def test_lambda_context_looks_like_lambdas() -> None:
    context = LambdaContext("fn", memory_size=256, timeout=3)
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert (context.memory_limit_in_mb, context.function_version) == (256, "$LATEST")
    assert 0 < context.get_remaining_time_in_millis() <= 3000


def test_view_receives_a_lambda_context_and_stage_variables() -> None:
    app = App("demo")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {"fn": app.lambda_context.function_name, "vars": app.current_request.stage_vars}

    response = send(app, "GET", "/", stage_variables={"env": "dev"}, function_name="demo-dev")
    assert json.loads(response.body) == {"fn": "demo-dev", "vars": {"env": "dev"}}
