"""microframework.gateway: API Gateway emulation (events, 403s, preflight, authorizers, limits)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from microframework import App, AuthResponse, AuthRoute, CORSConfig, Response
from microframework.gateway import (
    MAX_EVENT_BYTES,
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
        "/items/a%20b",
        "GET",
    )
    assert event["pathParameters"] == {"item_id": "a%20b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert (event["headers"], event["multiValueHeaders"]) == ({"X-H": "v"}, {"X-H": ["v"]})
    context = event["requestContext"]
    assert (context["resourcePath"], context["stage"], context["path"]) == (
        "/items/{item_id}",
        "dev",
        "/dev/items/a%20b",
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


@pytest.mark.parametrize(
    ("target", "item_id"),
    [
        ("/items/a%20b", "a%20b"),
        ("/items/a%2Fb", "a%2Fb"),
        ("/items/%C3%A9?x=%C3%A9", "%C3%A9"),
        ("/items/%ff", "%ff"),
        ("/items/a+b", "a+b"),
    ],
    ids=["space", "encoded-slash", "utf8", "not-utf8", "plus"],
)
def test_path_parameters_stay_percent_encoded(target: str, item_id: str) -> None:
    # REST APIs pass path parameters (and "path") as the client sent them; query parameters
    # are decoded. An encoded slash stays inside its segment.
    event = json.loads(send(echo_app(), "GET", target).body)
    assert (event["pathParameters"], event["path"]) == ({"item_id": item_id}, target.split("?")[0])
    if "?" in target:
        assert event["queryStringParameters"] == {"x": "é"}


def test_greedy_parameter_keeps_escapes_and_slashes() -> None:
    app = App("demo")

    @app.route("/files/{proxy+}")
    def files(proxy: str) -> Any:
        return {"proxy": proxy}

    response = send(app, "GET", "/files/a%20b/c%2Fd.txt")
    assert json.loads(response.body) == {"proxy": "a%20b/c%2Fd.txt"}


def assert_gateway_error(
    response: GatewayResponse, status: int, error_type: str, body: bytes
) -> None:
    """An error API Gateway itself answers: its status, type header, ids and exact body."""
    assert (response.status, response.body) == (status, body)
    assert response.header("x-amzn-ErrorType") == error_type
    assert response.header("Content-Type") == "application/json"
    assert len(response.header("x-amzn-RequestId") or "") == 36
    assert len(response.header("x-amz-apigw-id") or "") == 16


MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/nope"), ("DELETE", "/items/1"), ("HEAD", "/items/1"), ("OPTIONS", "/items/1")],
    ids=["unknown-path", "undefined-method", "head", "options-without-cors"],
)
def test_no_resource_method_is_403_missing_authentication_token(method: str, target: str) -> None:
    # API Gateway has no method to call: the app never sees the request (no 405 + Allow).
    response = send(echo_app(), method, target)
    assert_gateway_error(response, 403, "MissingAuthenticationTokenException", MISSING_TOKEN)


@pytest.mark.parametrize(
    "target",
    ["/items/1?x=%ff", "items/1", "/items/%zz", "/items/1?a=%2", "/items/%"],
    ids=["query-not-utf8", "no-slash", "not-hex", "short-escape", "bare-percent"],
)
def test_malformed_request_target_is_bad_request(target: str) -> None:
    with pytest.raises(BadRequest):
        send(echo_app(), "GET", target)


EVENT_TOO_LARGE = b'{"message": "Request Too Long"}'


def test_body_over_lambdas_limit_is_413_from_the_gateway() -> None:
    response = send(echo_app(), "POST", "/items/1", body=b"x" * (MAX_EVENT_BYTES + 1))
    assert_gateway_error(response, 413, "BadRequestException", EVENT_TOO_LARGE)


def test_binary_body_counts_base64_encoded_against_the_limit() -> None:
    # 5 MB of bytes is 6.7 MB once base64-encoded into the event Lambda receives.
    body = b"\x00" * (5 * 1024 * 1024)
    headers = {"Content-Type": "application/octet-stream"}
    response = send(echo_app(), "POST", "/items/1", headers=headers, body=body)
    assert_gateway_error(response, 413, "BadRequestException", EVENT_TOO_LARGE)


def test_headers_count_against_lambdas_limit_not_the_body_alone() -> None:
    # The body alone fits in 6 MB; with 9 KB of headers (twice in the event) it does not.
    body = b"x" * (MAX_EVENT_BYTES - 12_000)
    headers = {"X-Big": "h" * 9_000}
    assert send(echo_app(), "POST", "/items/1", headers=headers, body=body).status == 413
    assert send(echo_app(), "POST", "/items/1", body=body).status == 200


def test_json_escapes_count_against_lambdas_limit() -> None:
    # 1.1 MB of control characters is 6.6 MB once JSON-escaped (\u0001) in the event.
    body = b"\x01" * 1_100_000
    response = send(echo_app(), "POST", "/items/1", {"Content-Type": "text/plain"}, body)
    assert response.status == 413


def test_payload_over_10_mb_is_refused_before_routing() -> None:
    response = send(echo_app(), "POST", "/nope", body=b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert (response.status, response.body) == (
        413,
        b"HTTP content length exceeded 10485760 bytes.",
    )
    assert response.header("Content-Type") == "text; charset=utf-8"


def test_a_declared_body_is_judged_without_the_body() -> None:
    # What the local server asks for a Content-Length over Lambda's limit: routing, keys and
    # authorizers still answer first, else the 413 the invocation would get.
    gateway = LocalGateway(echo_app())
    unknown = gateway.handle("POST", "/nope", [], b"", body_length=MAX_EVENT_BYTES + 1)
    known = gateway.handle("POST", "/items/1", [], b"", body_length=MAX_EVENT_BYTES + 1)
    assert (unknown.status, known.status, known.body) == (403, 413, EVENT_TOO_LARGE)


# The URL quota counts the deployed URL: https://<10-char id>.execute-api.us-east-1.amazonaws.com
# (54 characters), then /<stage>, then the path and query.
URL_OVERHEAD = 54 + len("/api")


@pytest.mark.parametrize(
    ("endpoint_type", "limit"),
    [("EDGE", 8192), ("PRIVATE", 8192), ("REGIONAL", 10240)],
)
def test_url_length_quota_depends_on_the_endpoint_type(endpoint_type: str, limit: int) -> None:
    gateway = LocalGateway(echo_app(), endpoint_type=endpoint_type)
    prefix = "/items/1?q="
    fits = prefix + "x" * (limit - URL_OVERHEAD - len(prefix))
    assert gateway.handle("GET", fits, [], b"").status == 200
    response = gateway.handle("GET", fits + "x", [], b"")
    assert (response.status, response.body) == (414, b'{"message": "Request-URI Too Long"}')


def test_request_line_and_header_values_share_10240_bytes() -> None:
    request_line = len("GET /items/1 HTTP/1.1")
    headers = [("X-A", "a" * 5000), ("X-B", "b" * (10240 - request_line - 5000))]
    assert LocalGateway(echo_app()).handle("GET", "/items/1", headers, b"").status == 200
    headers[1] = ("X-B", headers[1][1] + "b")
    response = LocalGateway(echo_app()).handle("GET", "/items/1", headers, b"")
    assert response.status == 431
    assert json.loads(response.body) == {"message": "Request Header Fields Too Large"}


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


def binary_app() -> App:
    app = App("demo")
    app.api.binary_types = ["image/png", "application/octet-stream"]

    @app.route("/img")
    def img() -> Response:
        return Response(b"\x00\x01", headers={"Content-Type": "image/png"})

    return app


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("image/png", b"\x00\x01"),
        ("image/png;q=0.9, text/html", b"\x00\x01"),
        ("text/html, image/png", b"AAE="),
        ("*/*, image/png", b"AAE="),
    ],
    ids=["binary", "binary-first", "binary-second", "any-first"],
)
def test_binary_response_is_decoded_only_for_a_binary_first_accept(
    accept: str, body: bytes
) -> None:
    # The app answers a base64 body whenever some Accept type is binary; API Gateway decodes
    # it only when the first one is, else the client gets the base64 text.
    response = send(binary_app(), "GET", "/img", {"Accept": accept})
    assert (response.status, response.body) == (200, body)


class _ProxyResultApp(App):
    """An app whose handler answers one fixed proxy result, whatever the request."""

    def __init__(self, result: dict[str, Any], binary_types: list[str]) -> None:
        super().__init__("demo")
        self.result = result
        self.api.binary_types = binary_types
        self.route("/r")(lambda: None)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.result


BASE64_RESULT = {"statusCode": 200, "body": "AAE=", "isBase64Encoded": True}


@pytest.mark.parametrize(
    ("binary_types", "headers", "body"),
    [
        (["*/*"], {"Accept": "text/html"}, b"\x00\x01"),
        (["*/*"], {}, b"\x00\x01"),
        (["image/png"], {}, b"AAE="),
        (["image/*"], {"Accept": "image/webp"}, b"\x00\x01"),
        (["image/png"], {"Accept": "image/*"}, b"AAE="),
    ],
    ids=["star-covers-all", "star-without-accept", "no-accept", "wildcard-type", "wildcard-accept"],
)
def test_binary_types_and_wildcards(
    binary_types: list[str], headers: dict[str, str], body: bytes
) -> None:
    response = send(_ProxyResultApp(BASE64_RESULT, binary_types), "GET", "/r", headers)
    assert (response.status, response.body) == (200, body)


def test_invalid_base64_from_the_app_is_a_500_from_the_gateway() -> None:
    result = {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}
    response = send(_ProxyResultApp(result, ["*/*"]), "GET", "/r")
    assert_gateway_error(
        response, 500, "InternalServerErrorException", b'{"message": "Internal server error"}'
    )


class _CrashingApp(App):
    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the handler itself failed")


def test_a_failed_invocation_is_api_gateways_502() -> None:
    app = _CrashingApp("demo")

    @app.route("/")
    def index() -> Any:
        return {}

    response = send(app, "GET", "/")
    assert_gateway_error(
        response, 502, "InternalServerErrorException", b'{"message": "Internal server error"}'
    )


def cors_app(cors: Any) -> App:
    app = App("demo")

    @app.route("/c", methods=["GET", "PUT"], cors=cors)
    def c() -> dict[str, Any]:
        return {}

    return app


def test_cors_preflight_is_answered_by_the_gateway() -> None:
    response = send(cors_app(CORSConfig(allow_origin="https://a", max_age=5)), "OPTIONS", "/c")
    assert (response.status, response.body) == (200, b"")
    headers = dict(response.headers)
    assert headers.pop("x-amzn-RequestId") and headers.pop("x-amz-apigw-id")
    assert headers == {
        "Access-Control-Allow-Origin": "https://a",
        "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key",
        "Access-Control-Max-Age": "5",
        "Access-Control-Allow-Methods": "GET,PUT,OPTIONS",
    }


def test_options_without_cors_is_an_undefined_method() -> None:
    response = send(cors_app(None), "OPTIONS", "/c")
    assert_gateway_error(response, 403, "MissingAuthenticationTokenException", MISSING_TOKEN)


def test_a_user_defined_options_view_answers_itself() -> None:
    app = App("demo")

    @app.route("/o", methods=["GET", "OPTIONS"], cors=True)
    def o() -> dict[str, Any]:
        return {"method": app.current_request.method}

    assert json.loads(send(app, "OPTIONS", "/o").body) == {"method": "OPTIONS"}


def test_api_key_required() -> None:
    app = App("demo")

    @app.route("/k", api_key_required=True)
    def k() -> dict[str, Any]:
        return {}

    response = send(app, "GET", "/k")
    assert_gateway_error(response, 403, "ForbiddenException", b'{"message":"Forbidden"}')
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
        if request.token == "nothing":
            return None
        return AuthResponse(["/p"], principal_id="u", context={"tier": "gold"})

    @app.route("/p", methods=["GET", "PUT"], authorizer=auth)
    def p() -> Any:
        return app.current_request.context["authorizer"]

    return app


UNAUTHORIZED = (401, "UnauthorizedException", b'{"message":"Unauthorized"}')
AUTHORIZER_ERROR = (500, "AuthorizerConfigurationException", b'{"message": null}')


@pytest.mark.parametrize(
    ("method", "token", "expected"),
    [
        ("GET", None, UNAUTHORIZED),
        ("GET", "raise", UNAUTHORIZED),
        ("GET", "boom", AUTHORIZER_ERROR),
        ("GET", "nothing", AUTHORIZER_ERROR),
        ("GET", "deny", (403, "AccessDeniedException", b'{"Message":"User is not authorized to access this resource with an explicit deny in an identity-based policy"}')),
        ("PUT", "get-only", (403, "AccessDeniedException", b'{"Message":"User is not authorized to access this resource"}')),
    ],
    ids=["no-token", "unauthorized", "authorizer-error", "no-policy", "deny", "method-not-allowed"],
)  # fmt: skip
def test_builtin_authorizer_refusals(
    method: str, token: str | None, expected: tuple[int, str, bytes]
) -> None:
    headers = {"X-Token": token} if token else None
    assert_gateway_error(send(auth_app(), method, "/p", headers), *expected)


@pytest.mark.parametrize(
    ("token", "body"),
    [("get-only", {"principalId": "g"}), ("ok", {"tier": "gold", "principalId": "u"})],
    ids=["allowed-method", "allow"],
)
def test_builtin_authorizer_allows(token: str, body: Any) -> None:
    response = send(auth_app(), "GET", "/p", {"X-Token": token})
    assert (response.status, json.loads(response.body)) == (200, body)


def test_method_arn_over_1600_bytes_is_414_where_an_authorizer_runs() -> None:
    app = auth_app()

    @app.route("/q/{name}", authorizer=app.routes["/p"]["GET"].authorizer)
    def q(name: str) -> Any:
        return {}

    @app.route("/open/{name}")
    def open_(name: str) -> Any:
        return {}

    long_name = "n" * 1600
    assert send(app, "GET", f"/q/{long_name}", {"X-Token": "ok"}).status == 414
    assert send(app, "GET", f"/open/{long_name}").status == 200


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
