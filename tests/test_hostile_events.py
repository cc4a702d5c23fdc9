"""Hostile events never escape the REST handler: any JSON object gets a proxy response.

Realistic events from ``microframework.sample_events`` are mutated (any field at any depth
replaced by any JSON value, dropped, or joined by junk) and random JSON objects are thrown in.
The oracle below is API Gateway's documented event shape, for the fields fw reads: a malformed
one must be a 4xx, an event API Gateway's REST API never sends (no requestContext) Chalice's
500 "Unknown request.", and a well-formed one reaches the view with its values intact.

The default run is short and derandomized (CI); ``FW_HOSTILE_EXAMPLES=50000`` runs a long,
random search.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import os
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_chalice_compat import load_both

from microframework import App, Response
from microframework.sample_events import apigateway_event, http_api_event, sqs_event

LONG_RUN = int(os.environ.get("FW_HOSTILE_EXAMPLES", "0"))
RUN = settings(
    max_examples=LONG_RUN or 300,
    derandomize=not LONG_RUN,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _echo(app: App, **params: str) -> dict[str, Any]:
    request = app.current_request
    assert request is not None
    query = request.query_params
    return {
        "params": params,
        "method": request.method,
        "path": request.path,
        "headers": dict(request.headers),
        "query": None if query is None else {k: query.getlist(k) for k in query},
        "uri_params": request.uri_params,
        "stage_vars": request.stage_vars,
        "context": type(request.context).__name__,
        "raw": base64.b64encode(request.raw_body).decode(),
        "json": request.json_body,
        "repr": repr(request),
        "dict": request.to_dict(),
    }


def make_app(middleware: bool) -> App:
    app = App("hostile")

    @app.route("/", methods=["GET", "POST"])
    def index() -> dict[str, Any]:
        return _echo(app)

    @app.route(
        "/users/{user_id}",
        methods=["GET", "PUT"],
        content_types=["application/json", "application/octet-stream"],
    )
    def user(user_id: str) -> dict[str, Any]:
        return _echo(app, user_id=user_id)

    @app.route("/typed", methods=["POST"], content_types=["application/json"])
    def typed() -> Response:
        return Response(_echo(app), status_code=201, headers={"X-Multi": ["a", "b"]})

    @app.route("/files/{path+}")
    def files(path: str) -> dict[str, Any]:
        return _echo(app, path=path)

    if middleware:

        @app.middleware("http")
        def tag(request: Any, get_response: Any) -> Any:
            response = get_response(request)
            response.headers["X-Seen"] = "1"
            return response

    return app


APPS = {False: make_app(False), True: make_app(True)}

# -- the events ----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def base_events() -> list[dict[str, Any]]:
    binary = apigateway_event(
        "PUT",
        "/users/7",
        body=_b64(b"\xff\x00{}"),
        headers={"Content-Type": "application/octet-stream"},
    )
    binary["isBase64Encoded"] = True
    binary["requestContext"]["resourcePath"] = binary["resource"] = "/users/{user_id}"
    binary["pathParameters"] = {"user_id": "7"}
    return [
        apigateway_event("GET", "/"),
        apigateway_event("POST", "/?a=1&a=2&b=", body='{"x": [1, 2.5, null]}'),
        apigateway_event(
            "GET",
            "/users/a%20b",
            resource="/users/{user_id}",
            path_parameters={"user_id": "a%20b"},
            headers={"Accept": "*/*", "Cookie": "a=b", "X-Custom": "1"},
        ),
        binary,
        apigateway_event("POST", "/typed", body="{}"),
        apigateway_event(
            "GET", "/files/a/b.txt", resource="/files/{path+}", path_parameters={"path": "a/b.txt"}
        ),
        http_api_event(
            "GET",
            "/users/7?x=1&x=2",
            route_key="GET /users/{user_id}",
            path_parameters={"user_id": "7"},
            cookies=["a=b", "c=d"],
        ),
        http_api_event("POST", "/", body='{"a": 1}', headers={"X-Custom": "1"}),
        http_api_event("GET", "/users/9", route_key="$default"),
    ]


BASES = base_events()
FIELD_NAMES = sorted(
    {key for event in BASES for key in event}
    | {key for event in BASES for key in event["requestContext"]}
    | {"http", "method", "Content-Type", "content-type", "accept"}
)
AWKWARD_STRINGS = st.sampled_from(
    [
        "",
        "2.0",
        "GET",
        "DELETE",
        "/",
        "/users/{user_id}",
        "/typed",
        "$default",
        "GET /users/{user_id}",
        "application/json",
        "image/png",
        "[" * 100_000,
        '{"a":' * 20_000,
        "1" * 5000,
        "@@not base64@@",
        "eyJ9",
        "\ud800",
        "a=1&a=%zz&b",
    ]
)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | AWKWARD_STRINGS
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _slots(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``value``, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            _slots(item, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            _slots(item, found)
    return found


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(event, [])
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "drop", "junk", "awkward"]))
        if action == "replace":
            container[key] = draw(JSON_VALUES)
        elif action == "awkward":
            container[key] = draw(AWKWARD_STRINGS)
        elif action == "drop":
            del container[key]
        else:
            target = container[key]
            if isinstance(target, dict):
                target[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=8))] = draw(JSON_VALUES)
            elif isinstance(target, list):
                target.append(draw(JSON_VALUES))
            else:
                container[key] = draw(JSON_VALUES)
    return event


random_objects = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(), JSON_VALUES)


# -- the oracle ----------------------------------------------------------------------------


class Malformed(Exception):
    """A field fw reads is not in the shape API Gateway documents."""


def _string_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Malformed
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Malformed
    return value


def expect(app: App, event: dict[str, Any]) -> tuple[str, Any]:
    """("status", code) for a routing answer, ("malformed", None), or ("view", expected echo)."""
    try:
        return _expect(app, event)
    except Malformed:
        return "malformed", None


def _expect(app: App, event: dict[str, Any]) -> tuple[str, Any]:
    v2 = event.get("version") == "2.0"
    if not v2:
        # "Lambda proxy integrations in API Gateway": the REST API names the resource in
        # requestContext.resourcePath; without it the event is not from a REST API.
        if "requestContext" not in event:
            return "status", 500
        context = event["requestContext"]
        if not isinstance(context, dict):
            raise Malformed
        if "resourcePath" not in context:
            return "status", 500
        path = _string(context["resourcePath"])
        params = event.get("pathParameters")
        if path not in app.routes:
            return "status", 404
        method = _string(context.get("httpMethod"))
    else:
        context = event.get("requestContext")
        if not isinstance(context, dict) or not isinstance(context.get("http"), dict):
            raise Malformed
        method = _string(context["http"].get("method"))
        path = _string(event.get("routeKey", "$default")).split(" ", 1)[-1]
        params = event.get("pathParameters")
        if path not in app.routes:
            match = app.route_table.match(_string(event.get("rawPath", "/")))
            if match is not None:
                path, params = match
        if path not in app.routes:
            return "status", 404
    if method not in app.routes[path]:
        return "status", 405
    entry = app.routes[path][method]
    if entry.view_args:
        params = _string_map(params)
        for name in entry.view_args:
            _string(params.get(name))
    # The fields the view reads (every one, in _echo).
    headers = _string_map(event.get("headers"))
    _string_map(event.get("stageVariables"))
    _string_map(params)  # uri_params: what fw matched, else the event's
    if v2:
        cookies = event.get("cookies")
        if cookies is not None and not (
            isinstance(cookies, list) and all(isinstance(c, str) for c in cookies)
        ):
            raise Malformed
        raw_query = event.get("rawQueryString")
        if raw_query is not None:
            _string(raw_query)
        query = parse_qs(raw_query, keep_blank_values=True) if raw_query else None
    else:
        single = _string_map(event.get("queryStringParameters"))
        multi = event.get("multiValueQueryStringParameters")
        if multi is not None and not (
            isinstance(multi, dict)
            and all(
                isinstance(v, list) and all(isinstance(i, str) for i in v) for v in multi.values()
            )
        ):
            raise Malformed
        if multi is not None:
            query = {k: v for k, v in multi.items() if v}  # a key without values is none
        elif event.get("queryStringParameters") is not None:
            query = {k: [v] for k, v in single.items()}
        else:
            query = None
    encoded = event.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise Malformed
    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise Malformed
    elif encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise Malformed from None
    else:
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed from None
    return "view", {"method": method, "headers": headers, "query": query, "raw": raw}


# -- the assertions ------------------------------------------------------------------------


def assert_proxy_response(result: Any) -> None:
    """What API Gateway accepts from a proxy integration (and what Lambda can serialize)."""
    assert type(result) is dict
    assert type(result["statusCode"]) is int and 200 <= result["statusCode"] <= 599
    assert type(result["headers"]) is dict
    assert all(type(k) is str and type(v) is str for k, v in result["headers"].items())
    assert result["body"] is None or type(result["body"]) is str
    assert type(result.get("isBase64Encoded", False)) is bool
    for name, values in result.get("multiValueHeaders", {}).items():
        assert type(name) is str and all(type(v) is str for v in values)
    json.dumps(result)


def check(event: dict[str, Any], middleware: bool) -> None:
    app = APPS[middleware]
    snapshot = copy.deepcopy(event)
    result = app(event, None)
    assert event == snapshot  # the handler never writes to the event
    assert_proxy_response(result)
    status = result["statusCode"]
    kind, expected = expect(app, event)
    if kind == "malformed":
        assert 400 <= status < 500, result
        if status == 400:
            assert json.loads(result["body"])["Code"] == "BadRequestError"
        return
    if kind == "status":
        assert status == expected, result
        return
    if status == 400:  # the body is not the JSON its Content-Type says
        assert json.loads(result["body"]) == {
            "Code": "BadRequestError",
            "Message": "Error Parsing JSON",
        }
        return
    if status == 415:
        assert expected["headers"] is not None
        return
    assert status in (200, 201), result
    echo = json.loads(result["body"])
    assert echo["method"] == expected["method"]
    assert base64.b64decode(echo["raw"]) == expected["raw"]
    assert echo["query"] == expected["query"]
    for name, value in echo["headers"].items():
        sent = [v for k, v in expected["headers"].items() if k.lower() == name]
        assert value in sent or name == "cookie"


@RUN
@given(mutated_events(), st.booleans())
def test_mutated_realistic_events_get_a_proxy_response(event: dict[str, Any], mw: bool) -> None:
    check(event, mw)


@RUN
@given(random_objects, st.booleans())
def test_random_json_objects_get_a_proxy_response(event: dict[str, Any], mw: bool) -> None:
    check(event, mw)


@pytest.mark.parametrize("index", range(len(BASES)), ids=lambda i: f"base{i}")
def test_the_realistic_events_reach_their_view(index: int) -> None:
    event = BASES[index]
    result = APPS[False](event, None)
    assert result["statusCode"] in (200, 201), result
    assert expect(APPS[False], event)[0] == "view"


# -- named cases ---------------------------------------------------------------------------


def user_event(**changes: Any) -> dict[str, Any]:
    event = apigateway_event(
        "PUT",
        "/users/7",
        body='{"a": 1}',
        resource="/users/{user_id}",
        path_parameters={"user_id": "7"},
    )
    event.update(changes)
    return event


def answer(event: Any, middleware: bool = False) -> tuple[int, Any]:
    result = APPS[middleware](event, None)
    assert_proxy_response(result)
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requestContext": "x"}, "requestContext must be an object, got a string"),
        ({"requestContext": [1]}, "requestContext must be an object, got an array"),
        ({"requestContext": None}, "requestContext must be an object, got null"),
        ({"headers": [1]}, "headers must be an object or null, got an array"),
        (
            {"headers": {"Content-Type": 5}},
            "headers['content-type'] must be a string, got a number",
        ),
        ({"headers": {"X": None}}, "headers['X'] must be a string, got null"),
        ({"queryStringParameters": "a=1"}, "queryStringParameters must be an object or null"),
        ({"multiValueQueryStringParameters": {"a": "1"}}, "['a'] must be an array of strings"),
        ({"pathParameters": None}, "pathParameters must be an object with ['user_id'], got null"),
        ({"pathParameters": {"user_id": 7}}, "pathParameters['user_id'] must be a string"),
        ({"pathParameters": {}}, "pathParameters['user_id'] must be a string, got null"),
        ({"stageVariables": []}, "stageVariables must be an object or null, got an array"),
        ({"body": {"a": 1}}, "body must be a string or null, got an object"),
        ({"isBase64Encoded": "false"}, "isBase64Encoded must be a boolean, got a string"),
        ({"isBase64Encoded": True, "body": "@@@"}, "body is not valid base64"),
        ({"isBase64Encoded": True, "body": "é"}, "body is not valid base64"),
        ({"body": "\ud800"}, "body is not valid Unicode text"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_malformed_field_is_a_400_naming_it(changes: dict[str, Any], message: str) -> None:
    for middleware in (False, True):
        status, body = answer(user_event(**changes), middleware)
        assert status == 400
        assert body["Code"] == "BadRequestError"
        assert message in body["Message"]


def test_a_method_that_is_not_a_string_is_a_400() -> None:
    event = user_event()
    event["requestContext"]["httpMethod"] = ["PUT"]
    assert answer(event) == (
        400,
        {
            "Code": "BadRequestError",
            "Message": "Invalid event: requestContext.httpMethod must be a string, got an array",
        },
    )


def test_null_maps_are_what_api_gateway_sends_without_them() -> None:
    # A console test invoke sends headers, query and stage variables as null: not malformed.
    event = user_event(
        headers=None,
        multiValueHeaders=None,
        queryStringParameters=None,
        multiValueQueryStringParameters=None,
        stageVariables=None,
        body=None,
    )
    status, body = answer(event)
    assert status == 200
    assert (body["headers"], body["query"], body["json"]) == ({}, None, None)


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"a":' * 50_000, "[" * 5000 + "]" * 5000],
    ids=["list", "object", "5000"],
)
def test_a_json_body_nested_too_deep_is_a_400(body: str) -> None:
    status, answer_body = answer(user_event(body=body))
    assert (status, answer_body) == (
        400,
        {"Code": "BadRequestError", "Message": "Error Parsing JSON"},
    )


def test_a_huge_body_is_read() -> None:
    # 6 MB, Lambda's synchronous payload limit ("Lambda quotas").
    payload = json.dumps({"items": ["x" * 100] * 58_000})
    status, body = answer(user_event(body=payload))
    assert status == 200
    assert len(body["json"]["items"]) == 58_000


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": []}, sqs_event(["hello"]), {"requestContext": {}}, {"body": "x"}],
    ids=["empty", "records", "sqs", "context-without-resource", "body-only"],
)
def test_an_event_api_gateway_did_not_send_is_chalices_unknown_request(event: Any) -> None:
    for middleware in (False, True):
        assert answer(event, middleware) == (
            500,
            {"Code": "InternalServerError", "Message": "Unknown request."},
        )


@pytest.mark.parametrize(
    ("event", "shown"),
    [([1, 2], "list: [1, 2]"), ("hi", "str: 'hi'"), (3, "int: 3"), (None, "NoneType: None")],
)
def test_a_non_object_event_is_one_type_error(event: Any, shown: str) -> None:
    with pytest.raises(TypeError) as info:
        APPS[False](event, None)
    assert str(info.value) == (
        "the REST API handler app(event, context) expects the event API Gateway sends, "
        f"a JSON object (dict); Lambda passed {shown}"
    )


def test_a_non_object_event_is_shown_short_however_deep_or_long() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    for event, shown in [
        (deep, "[[[[...]]]]"),
        (["x" * 1000] * 1000, "['xxxxxxxxxxxx...xxxxxxxxxxxxx', 'xxxxxxxxxxxx...xxxxxxxx..."),
    ]:
        with pytest.raises(TypeError) as info:
            APPS[False](event, None)
        assert str(info.value).endswith(f"Lambda passed list: {shown}")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requestContext": {"http": "GET"}}, "requestContext.http must be an object"),
        (
            {"requestContext": {"http": {"method": 1}}},
            "requestContext.http.method must be a string",
        ),
        ({"routeKey": 5}, "routeKey must be a string, got a number"),
        ({"routeKey": "$default", "rawPath": None}, "rawPath must be a string, got null"),
        ({"cookies": "a=b"}, "cookies must be an array of strings or null, got a string"),
        ({"rawQueryString": ["x"]}, "rawQueryString must be a string, got an array"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_http_api_events_get_the_same_400s(changes: dict[str, Any], message: str) -> None:
    event = http_api_event(
        "GET", "/users/7", route_key="GET /users/{user_id}", path_parameters={"user_id": "7"}
    )
    event.update(changes)
    status, body = answer(event)
    assert status == 400
    assert message in body["Message"]


def test_middleware_that_reads_a_malformed_field_gets_a_400() -> None:
    app = App("mw")

    @app.route("/")
    def index() -> dict[str, Any]:
        return {}

    @app.middleware("http")
    def read_headers(request: Any, get_response: Any) -> Any:
        request.headers.get("x")
        return get_response(request)

    result = app(apigateway_event("GET", "/", headers={"X": "1"}) | {"headers": "x"}, None)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["Code"] == "BadRequestError"


# -- against Chalice -----------------------------------------------------------------------

COMPAT_APP = """
app = Chalice(app_name="compat")

@app.route("/users/{uid}", methods=["GET", "PUT"])
def user(uid):
    request = app.current_request
    return {"uid": uid, "query": request.query_params, "json": request.json_body}
"""


def _compat_event(**changes: Any) -> dict[str, Any]:
    event = apigateway_event(
        "PUT", "/users/7", body='{"a": 1}', resource="/users/{uid}", path_parameters={"uid": "7"}
    )
    event.update(changes)
    return event


def _outcome(app: Any, event: Any) -> Any:
    try:
        result = app(copy.deepcopy(event), None)
    except Exception as err:  # noqa: BLE001 - what Chalice lets out is the point
        return type(err).__name__
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize(
    "event",
    [
        _compat_event(headers=None, multiValueHeaders=None),
        {},
        sqs_event(["hello"]),
        _compat_event(requestContext={"stage": "api"}),
    ],
    ids=["null-headers", "empty", "sqs", "no-resource-path"],
)
def test_where_the_event_is_fine_or_not_http_fw_answers_as_chalice(event: Any) -> None:
    chalice, fw = load_both(COMPAT_APP)
    assert _outcome(fw.app, event) == _outcome(chalice.app, event)


@pytest.mark.parametrize(
    ("event", "chalice_outcome"),
    [
        (_compat_event(requestContext="x"), "AttributeError"),
        (_compat_event(requestContext=None), "AttributeError"),
        (_compat_event(requestContext={"resourcePath": "/users/{uid}"}), "KeyError"),
        (_compat_event(pathParameters=None), 500),
        (_compat_event(body="[" * 100_000), 500),
        (_compat_event(body=5), 500),
        # Chalice hands the view the last character of a string where a list belongs.
        (_compat_event(multiValueQueryStringParameters={"a": "xy"}), 200),
    ],
    ids=[
        "context-string",
        "context-null",
        "no-method",
        "no-params",
        "deep-json",
        "body-number",
        "query-not-list",
    ],
)
def test_where_chalice_crashes_or_misreads_fw_answers_400(event: Any, chalice_outcome: Any) -> None:
    chalice, fw = load_both(COMPAT_APP)
    outcome = _outcome(chalice.app, event)
    assert (outcome if isinstance(outcome, str) else outcome[0]) == chalice_outcome
    status, body = _outcome(fw.app, event)
    assert (status, body["Code"]) == (400, "BadRequestError")


def test_the_test_client_answers_a_deep_json_body_with_400() -> None:
    from microframework.testing import Client

    app = App("deep")

    @app.route("/", methods=["POST"])
    def index() -> Any:
        return app.current_request.json_body  # type: ignore[union-attr]

    response = Client(app).http.post(
        "/", body="[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json_body) == (
        400,
        {"Code": "BadRequestError", "Message": "Error Parsing JSON"},
    )
