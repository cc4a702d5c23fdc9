"""Chalice as an oracle: the same app source answers the same events the same way on both.

Each app below is written against Chalice's names; it runs once with ``from chalice import ...``
and once with ``from microframework import ... as ...`` (the port), and every event's result
(status, headers, body; or an event handler's return value) must match.
"""

from __future__ import annotations

import base64
import json
import logging
import types

import pytest

from microframework import sample_events

CHALICE_IMPORT = (
    "from chalice import Chalice, Blueprint, Response, CORSConfig, Rate, Cron, AuthResponse, "
    "AuthRoute, ChaliceViewError, BadRequestError, UnauthorizedError, ForbiddenError, "
    "NotFoundError, ConflictError, UnprocessableEntityError, TooManyRequestsError, "
    "Response"
    "\nfrom chalice.app import RequestTimeoutError, MethodNotAllowedError"
)
FW_IMPORT = (
    "from microframework import App as Chalice, Blueprint, Response, CORSConfig, Rate, Cron, "
    "AuthResponse, AuthRoute, ChaliceViewError, BadRequestError, UnauthorizedError, "
    "ForbiddenError, NotFoundError, ConflictError, UnprocessableEntityError, TooManyRequestsError, "
    "RequestTimeoutError, MethodNotAllowedError"
)


def load_both(source: str) -> tuple[types.ModuleType, types.ModuleType]:
    modules = []
    for header in (CHALICE_IMPORT, FW_IMPORT):
        module = types.ModuleType("compat_app")
        exec(header + "\n" + source, module.__dict__)  # noqa: S102 - test source
        modules.append(module)
    return modules[0], modules[1]


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _normalize(result: dict) -> dict:
    out = dict(result)
    body = out.get("body")
    if isinstance(body, bytes):
        body = body.decode()
    if body and not out.get("isBase64Encoded"):
        try:
            out["body"] = json.loads(body)
        except ValueError:
            out["body"] = body
    out.setdefault("isBase64Encoded", False)
    return out


REST_APP = """
import decimal
app = Chalice(app_name="compat")
app.api.binary_types.append("application/x-custom")

@app.route("/")
def index():
    return {"hello": "world"}

@app.route("/users/{user_id}", methods=["GET", "PUT"])
def user(user_id):
    request = app.current_request
    return {"id": user_id, "method": request.method, "query": request.query_params,
            "json": request.json_body if request.method == "PUT" else None}

@app.route("/echo", methods=["POST"], content_types=["application/json", "text/plain"])
def echo():
    request = app.current_request
    return {"raw": request.raw_body.decode(), "ct": request.headers.get("content-type")}

@app.route("/json", methods=["POST"])
def json_only():
    return {"got": app.current_request.json_body}

@app.route("/status/{code}")
def status(code):
    errors = {"400": BadRequestError, "401": UnauthorizedError, "403": ForbiddenError,
              "404": NotFoundError, "405": MethodNotAllowedError, "408": RequestTimeoutError,
              "409": ConflictError, "422": UnprocessableEntityError, "429": TooManyRequestsError,
              "500": ChaliceViewError}
    raise errors[code]("failed with " + code)

@app.route("/boom")
def boom():
    raise RuntimeError("secret detail")

@app.route("/custom")
def custom():
    return Response(body={"created": True}, status_code=201,
                    headers={"X-Single": "1", "Set-Cookie": ["a=1", "b=2"]})

@app.route("/text")
def text():
    return Response(body="plain text", headers={"Content-Type": "text/plain"})

@app.route("/binary")
def binary():
    return Response(body=b"\\x89PNG\\x00\\x01", headers={"Content-Type": "image/png"})

@app.route("/decimal")
def dec():
    return {"price": decimal.Decimal("1.5"), "items": [1, 2]}

@app.route("/cors", methods=["GET", "POST"], cors=True)
def cors_default():
    return {"cors": True}

@app.route("/cors-custom", cors=CORSConfig(allow_origin="https://example.com", allow_headers=["X-Special"],
           expose_headers=["X-Exposed"], max_age=600, allow_credentials=True))
def cors_custom():
    return {"cors": "custom"}

@app.route("/empty")
def empty():
    return None

@app.route("/list")
def listing():
    return [1, "two", {"three": 3}]

@app.route("/files/{proxy+}")
def files():
    return {"path": app.current_request.uri_params}

bp = Blueprint(__name__)

@bp.route("/ping")
def bp_ping():
    return {"pong": app.current_request.path}

app.register_blueprint(bp, url_prefix="/v1")
"""


def _event(method, resource, path, *, params=None, body=None, headers=None, query=None, b64=False):
    event = sample_events.apigateway_event(
        method, path, body=body, headers=headers, resource=resource, path_parameters=params
    )
    if query is not None:
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
        event["multiValueQueryStringParameters"] = query
    event["isBase64Encoded"] = b64
    return event


REST_CASES = {
    "index": _event("GET", "/", "/"),
    "path-param-query": _event(
        "GET",
        "/users/{user_id}",
        "/users/42",
        params={"user_id": "42"},
        query={"a": ["1", "2"], "b": ["x"]},
    ),
    "put-json": _event(
        "PUT", "/users/{user_id}", "/users/7", params={"user_id": "7"}, body='{"name": "ann"}'
    ),
    "put-bad-json": _event(
        "PUT", "/users/{user_id}", "/users/7", params={"user_id": "7"}, body="{nope"
    ),
    "method-not-allowed": _event("DELETE", "/users/{user_id}", "/users/7", params={"user_id": "7"}),
    "echo-text": _event(
        "POST", "/echo", "/echo", body="hi there", headers={"Content-Type": "text/plain"}
    ),
    "echo-json-charset": _event(
        "POST",
        "/echo",
        "/echo",
        body='{"a": 1}',
        headers={"content-type": "application/json; charset=utf-8"},
    ),
    "unsupported-media": _event(
        "POST",
        "/json",
        "/json",
        body="a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "no-content-type": _event("POST", "/json", "/json", body='{"x": 1}', headers={"Host": "h"}),
    "base64-body": _event(
        "POST",
        "/echo",
        "/echo",
        body=base64.b64encode(b"decoded!").decode(),
        headers={"Content-Type": "text/plain"},
        b64=True,
    ),
    "custom-response": _event("GET", "/custom", "/custom"),
    "text-response": _event("GET", "/text", "/text"),
    "binary-accepted": _event("GET", "/binary", "/binary", headers={"Accept": "image/png"}),
    "binary-not-accepted": _event(
        "GET", "/binary", "/binary", headers={"Accept": "application/json"}
    ),
    "decimal": _event("GET", "/decimal", "/decimal"),
    "cors-default": _event("GET", "/cors", "/cors"),
    "cors-custom": _event("GET", "/cors-custom", "/cors-custom"),
    "none-body": _event("GET", "/empty", "/empty"),
    "list-body": _event("GET", "/list", "/list"),
    "greedy": _event("GET", "/files/{proxy+}", "/files/a/b.txt", params={"proxy": "a/b.txt"}),
    "blueprint": _event("GET", "/v1/ping", "/v1/ping"),
    "unhandled": _event("GET", "/boom", "/boom"),
    "not-http": {"foo": "bar"},
}
REST_CASES.update(
    {
        f"error-{code}": _event("GET", "/status/{code}", f"/status/{code}", params={"code": code})
        for code in ("400", "401", "403", "404", "405", "408", "409", "422", "429", "500")
    }
)


@pytest.fixture(scope="module")
def rest_apps():
    return load_both(REST_APP)


@pytest.mark.parametrize("event", list(REST_CASES.values()), ids=list(REST_CASES))
def test_rest_responses_match_chalice(rest_apps, event):
    chalice_mod, fw_mod = rest_apps
    expected = _normalize(chalice_mod.app(json.loads(json.dumps(event)), None))
    actual = _normalize(fw_mod.app(json.loads(json.dumps(event)), None))
    assert actual == expected


def test_debug_mode_returns_the_traceback_like_chalice(rest_apps):
    chalice_mod, fw_mod = load_both(
        REST_APP.replace('app_name="compat"', 'app_name="compat", debug=True')
    )
    event = REST_CASES["unhandled"]
    expected, actual = chalice_mod.app(event, None), fw_mod.app(event, None)
    assert actual["statusCode"] == expected["statusCode"] == 500
    assert actual["headers"] == expected["headers"] == {"Content-Type": "text/plain"}
    assert "RuntimeError: secret detail" in actual["body"]


EVENTS_APP = """
app = Chalice(app_name="compat-events")
seen = {}

@app.on_s3_event(bucket="photos", events=["s3:ObjectCreated:*"], prefix="in/", suffix=".jpg")
def on_upload(event):
    return {"bucket": event.bucket, "key": event.key, "raw": event.to_dict()["Records"][0]["eventName"]}

@app.on_sns_message(topic="alerts")
def on_alert(event):
    return {"message": event.message, "subject": event.subject, "attrs": event.message_attributes}

@app.on_sqs_message(queue="jobs", batch_size=5)
def on_job(event):
    return [{"body": r.body, "handle": r.receipt_handle} for r in event]

@app.schedule(Rate(5, unit=Rate.MINUTES))
def every_five(event):
    return {"source": event.source, "detail_type": event.detail_type, "resources": event.resources,
            "region": event.region, "account": event.account, "id": event.event_id, "time": event.time,
            "version": event.version, "detail": event.detail}

@app.schedule(Cron(0, 10, "*", "*", "?", "*"), description="daily")
def daily(event):
    return event.detail_type

@app.on_cw_event({"source": ["aws.ec2"]})
def on_ec2(event):
    return {"detail": event.detail, "source": event.source}

@app.on_kinesis_record(stream="clicks")
def on_click(event):
    return [{"data": r.data.decode(), "pk": r.partition_key, "seq": r.sequence_number,
             "ts": r.timestamp.isoformat()} for r in event]

@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x")
def on_change(event):
    return [{"new": r.new_image, "keys": r.keys, "name": r.event_name, "table": r.table_name,
             "ts": r.timestamp.isoformat()} for r in event]

@app.lambda_function(name="plain")
def plain(event, context):
    return {"event": event, "context": context}

@app.middleware("all")
def tag(event, get_response):
    result = get_response(event)
    return {"wrapped": result} if isinstance(result, dict) else result

@app.authorizer(ttl_seconds=60)
def auth(auth_request):
    if auth_request.token == "allow":
        return AuthResponse(routes=["/", AuthRoute("/users/*", ["GET", "PUT"]), "*"],
                            principal_id="user-1", context={"tier": "gold"})
    return AuthResponse(routes=[], principal_id="nobody")
"""

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef/api/GET/users/1"
EVENT_CASES = {
    "s3-quoted-key": ("on_upload", sample_events.s3_event("photos", "in/my photo+1.jpg")),
    "sns": (
        "on_alert",
        sample_events.sns_event("hello", "subj", "alerts", {"k": {"Type": "String", "Value": "v"}}),
    ),
    "sqs-batch": ("on_job", sample_events.sqs_event(["one", "two"], "jobs")),
    "schedule": ("every_five", sample_events.schedule_event()),
    "cron": ("daily", sample_events.schedule_event("daily")),
    "cw-event": ("on_ec2", sample_events.cw_event("aws.ec2", "EC2 State", {"state": "running"})),
    "kinesis": ("on_click", sample_events.kinesis_event([b"click-1", "click-2"], "clicks")),
    "dynamodb": (
        "on_change",
        sample_events.dynamodb_event([{"id": {"S": "1"}, "n": {"N": "2"}}], "t"),
    ),
    "lambda-function": ("plain", {"any": ["payload", 1]}),
    "authorizer-allow": (
        "auth",
        {"type": "TOKEN", "authorizationToken": "allow", "methodArn": METHOD_ARN},
    ),
    "authorizer-deny": (
        "auth",
        {"type": "TOKEN", "authorizationToken": "deny", "methodArn": METHOD_ARN},
    ),
}


@pytest.fixture(scope="module")
def event_apps():
    return load_both(EVENTS_APP)


@pytest.mark.parametrize("case", list(EVENT_CASES.values()), ids=list(EVENT_CASES))
def test_event_handlers_match_chalice(event_apps, case):
    name, event = case
    chalice_mod, fw_mod = event_apps
    expected = getattr(chalice_mod, name)(json.loads(json.dumps(event)), None)
    actual = getattr(fw_mod, name)(json.loads(json.dumps(event)), None)
    assert actual == expected


def test_declarations_match_chalice(event_apps):
    """What the deployer reads: the same event sources, functions and authorizers."""
    chalice_mod, fw_mod = event_apps

    def summary(app):
        sources = []
        for source in app.event_sources:
            fields = (
                {k: v for k, v in vars(source).items() if k != "maximum_concurrency"}
                if hasattr(source, "__dict__")
                else source.to_dict()
            )
            expression = fields.get("schedule_expression")
            if expression is not None and not isinstance(expression, str):
                fields["schedule_expression"] = expression.to_string()
            sources.append(fields)
        return (
            sorted(sources, key=lambda f: f["name"]),
            sorted((f.name, f.handler_string) for f in app.pure_lambda_functions),
            sorted(
                (a.name, a.handler_string, a.ttl_seconds, a.header)
                for a in app.builtin_auth_handlers
            ),
        )

    assert summary(fw_mod.app) == summary(chalice_mod.app)


def test_route_table_matches_chalice(rest_apps):
    chalice_mod, fw_mod = rest_apps

    def table(app):
        return {
            path: {
                method: (
                    e.view_name,
                    e.view_args,
                    e.content_types,
                    e.api_key_required,
                    None if e.cors is None else e.cors.get_access_control_headers(),
                )
                for method, e in methods.items()
            }
            for path, methods in app.routes.items()
        }

    fw_table, chalice_table = table(fw_mod.app), table(chalice_mod.app)
    # Chalice drops the greedy parameter from view_args (its pattern only matches \\w+);
    # fw passes it only to views that take it, so the recorded args agree here.
    assert fw_table == chalice_table
