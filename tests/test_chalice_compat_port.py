"""A Chalice app and its tests port by changing their import lines: names and behaviour.

Each snippet below is written for Chalice, with its ``observe()`` returning what a user would
check. It runs once as written, on Chalice, and once with only its import lines changed
(``port``), on fw; both must observe the same thing.
"""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path
from typing import Any

import chalice
import chalice.app
import pytest

import microframework
import microframework.app


def port(source: str) -> str:
    """The source with its import lines changed as a port changes them, and nothing else."""
    lines = []
    for line in source.splitlines():
        if line.lstrip().startswith(("from chalice", "import chalice")):
            line = line.replace("chalice.test", "microframework.testing")
            line = line.replace("chalice", "microframework")
        lines.append(line)
    return "\n".join(lines)


def observe_both(source: str) -> tuple[Any, Any]:
    """``observe()`` of the snippet on Chalice, then of its port on fw."""
    results = []
    for text in (source, port(source)):
        module = types.ModuleType("port_app")
        exec(text, module.__dict__)  # noqa: S102 - test source
        results.append(module.observe())
    return results[0], results[1]


def test_port_changes_only_import_lines() -> None:
    source = (
        "from chalice import Chalice\nfrom chalice.test import Client\napp = Chalice('chalice')"
    )
    assert port(source) == (
        "from microframework import Chalice\nfrom microframework.testing import Client\n"
        "app = Chalice('chalice')"
    )


# -- names ---------------------------------------------------------------------------------

# Public names of chalice and chalice.app that fw does not implement yet, each with its reason.
# Any other name Chalice has must import from fw, so a new gap fails the test below.
NOT_IMPLEMENTED = {
    # Chalice's records of the three websocket routes: fw's app.websocket_handlers holds the
    # handlers themselves, which carry the same attributes (route_key_handled, handler_string).
    "WebsocketConnectConfig",
    "WebsocketDisconnectConfig",
    "WebsocketMessageConfig",
    # Chalice's private plumbing between its decorators and Lambda: apps never build these.
    # fw's decorators return EventHandler (known as EventSourceHandler) and BuiltinAuthorizer
    # (ChaliceAuthorizer); views are dispatched by App itself, records are sources.*Config.
    "BaseLambdaHandler",
    "RestAPIEventHandler",
    "PureLambdaWrapper",
    "MiddlewareHandler",
    "LambdaFunction",
    "BaseEventSourceConfig",
    # Chalice's JSON default sends Decimal("1") as 1.0; fw sends 1 (README: Porting a Chalice
    # app), so a function of that name would not be Chalice's.
    "handle_extra_types",
    # Chalice's own version string; fw's is microframework.__version__.
    "chalice_version",
}


def chalice_public_names() -> set[str]:
    """Every public name ``chalice`` exports and ``chalice.app`` defines at top level."""
    tree = ast.parse(Path(chalice.app.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    names.update(n for n, v in vars(chalice).items() if not isinstance(v, types.ModuleType))
    return {n for n in names if not n.startswith("_")}


def test_chalice_has_the_names_this_test_expects() -> None:
    names = chalice_public_names()
    assert {"Chalice", "ChaliceAuthorizer", "MultiDict", "error_response"} <= names
    assert NOT_IMPLEMENTED <= names, "a listed name is no longer in Chalice"


def test_every_implemented_chalice_name_imports_from_fw() -> None:
    names = chalice_public_names() - NOT_IMPLEMENTED
    missing = sorted(n for n in names if not hasattr(microframework, n))
    assert missing == []
    missing_from_app = sorted(n for n in names if not hasattr(microframework.app, n))
    assert missing_from_app == []
    for name in names:
        assert getattr(microframework.app, name) is getattr(microframework, name), name
        assert name in microframework.__all__, name


def test_not_implemented_names_are_really_missing() -> None:
    """Implementing one of them means removing it from NOT_IMPLEMENTED (and from the README)."""
    assert sorted(n for n in NOT_IMPLEMENTED if hasattr(microframework, n)) == []


@pytest.mark.parametrize(
    ("name", "fw_name"),
    [
        ("Chalice", "App"),
        ("ChaliceError", "FrameworkError"),
        ("ChaliceUnhandledError", "UnhandledError"),
        ("ChaliceAuthorizer", "BuiltinAuthorizer"),
        ("DecoratorAPI", "Scaffold"),
        ("EventSourceHandler", "EventHandler"),
    ],
)
def test_chalice_names_are_fw_classes(name: str, fw_name: str) -> None:
    assert getattr(microframework, name) is getattr(microframework, fw_name)


def test_isinstance_checks_against_chalice_names_hold() -> None:
    source = """
from chalice import Chalice, Blueprint
from chalice.app import ChaliceAuthorizer, DecoratorAPI, EventSourceHandler, ChaliceError
from chalice.app import ChaliceViewError, NotFoundError, ALL_ERRORS, error_response
app = Chalice(app_name="names")

@app.authorizer()
def auth(auth_request):
    return None

@app.on_sns_message(topic="t")
def on_message(event):
    return None

def observe():
    response = error_response(message="gone", error_code="NotFoundError", http_status_code=404)
    return [isinstance(auth, ChaliceAuthorizer), isinstance(on_message, EventSourceHandler),
            isinstance(app, DecoratorAPI), isinstance(Blueprint("bp"), DecoratorAPI),
            issubclass(NotFoundError, ChaliceViewError), issubclass(ChaliceViewError, ChaliceError),
            NotFoundError in ALL_ERRORS, response.status_code, response.body]
"""
    expected, actual = observe_both(source)
    assert actual == expected == [True] * 7 + [404, {"Code": "NotFoundError", "Message": "gone"}]


def test_type_aliases_import() -> None:
    source = """
from chalice.app import HeadersType, MiddlewareFuncType, UserHandlerFuncType

def observe():
    return [str(HeadersType).replace("typing.", ""), "Callable" in str(MiddlewareFuncType),
            "Callable" in str(UserHandlerFuncType)]
"""
    expected, actual = observe_both(source)
    # Chalice spells typing.Dict/List; fw the builtins: the same type.
    assert expected[0] == "Dict[str, Union[str, List[str]]]"
    assert actual[0] == "dict[str, Union[str, list[str]]]"
    assert actual[1:] == expected[1:] == [True, True]


# -- CORS per method -------------------------------------------------------------------------

CORS_APP = """
from chalice import Chalice, CORSConfig
from chalice.test import Client
app = Chalice(app_name="cors")
shared = CORSConfig(allow_origin="https://app.example", max_age=600, expose_headers=["X-Id"])

@app.route("/items", methods=["GET"])
def list_items():
    return {"items": []}

@app.route("/items", methods=["PUT", "POST"], cors=shared)
def add_item():
    return {"added": True}

@app.route("/items", methods=["DELETE"], cors=CORSConfig(allow_origin="https://app.example",
                                                        max_age=600, expose_headers=["X-Id"]))
def remove_items():
    return {"removed": True}

def cors_headers(response):
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}

def observe():
    with Client(app) as client:
        json = {"Content-Type": "application/json"}
        return {
            "get": cors_headers(client.http.get("/items")),
            "post": cors_headers(client.http.post("/items", headers=json, body=b"{}")),
            "delete": cors_headers(client.http.delete("/items")),
            "direct-get": cors_headers_of(app, "GET"),
            "direct-put": cors_headers_of(app, "PUT"),
        }

def cors_headers_of(app, method):
    event = {"requestContext": {"resourcePath": "/items", "httpMethod": method}, "headers": {},
             "multiValueQueryStringParameters": None, "pathParameters": None,
             "stageVariables": None, "body": None, "isBase64Encoded": False}
    return {k: v for k, v in app(event, None)["headers"].items() if k.startswith("Access-")}
"""


def test_views_of_a_path_may_differ_in_cors_and_the_preflight_lists_the_cors_ones() -> None:
    expected, actual = observe_both(CORS_APP)
    assert actual == expected
    assert actual["get"] == actual["direct-get"] == {}
    assert actual["post"]["Access-Control-Allow-Origin"] == "https://app.example"


def test_local_preflight_lists_the_cors_enabled_methods_as_chalice_local_does() -> None:
    from chalice.config import Config
    from chalice.local import LocalGateway

    from microframework.testing import Client

    chalice_module = types.ModuleType("port_app")
    exec(CORS_APP, chalice_module.__dict__)  # noqa: S102 - test source
    fw_module = types.ModuleType("port_app")
    exec(port(CORS_APP), fw_module.__dict__)  # noqa: S102 - test source
    # Chalice's test client cannot read a preflight (its body is None), so ask its local server.
    gateway = LocalGateway(chalice_module.app, Config())
    expected = gateway.handle_request("OPTIONS", "/items", {}, b"")
    actual = Client(fw_module.app).http.options("/items")
    assert actual.status_code == expected["statusCode"] == 200
    headers = {k: v for k, v in actual.headers.items() if k.startswith("Access-Control-")}
    assert headers == expected["headers"]
    assert headers["Access-Control-Allow-Methods"] == "PUT,POST,DELETE,OPTIONS"


ARN = "arn:aws:lambda:us-east-1:123456789012:function:cors-dev"


def test_deployed_preflight_lists_the_same_methods_as_chalice() -> None:
    from chalice.deploy.swagger import SwaggerGenerator

    from deployer.package.openapi import build_openapi

    chalice_module = types.ModuleType("port_app")
    exec(CORS_APP, chalice_module.__dict__)  # noqa: S102 - test source
    fw_module = types.ModuleType("port_app")
    exec(port(CORS_APP), fw_module.__dict__)  # noqa: S102 - test source
    swagger = SwaggerGenerator("us-east-1", {"api_handler_arn": ARN}).generate_swagger(
        chalice_module.app
    )
    openapi = build_openapi(fw_module.app, handler_uri=ARN)

    def allowed(doc: dict[str, Any]) -> str:
        options = doc["paths"]["/items"]["options"]
        params = options["x-amazon-apigateway-integration"]["responses"]["default"]
        return params["responseParameters"]["method.response.header.Access-Control-Allow-Methods"]

    assert allowed(openapi) == allowed(swagger) == "'PUT,POST,DELETE,OPTIONS'"


def test_cors_enabled_views_of_a_path_must_still_agree() -> None:
    app = microframework.Chalice(app_name="cors")
    app.route("/x", methods=["GET"])(lambda: {})
    app.route("/x", methods=["PUT"], cors=True, name="put")(lambda: {})
    with pytest.raises(ValueError, match="'post' has a CORS config different from view 'put'"):
        app.route("/x", methods=["POST"], cors=microframework.CORSConfig(max_age=1), name="post")(
            lambda: {}
        )
    assert list(app.routes["/x"]) == ["GET", "PUT"]


# -- query_params ----------------------------------------------------------------------------

QUERY_APP = """
from chalice import Chalice
from chalice.test import Client
app = Chalice(app_name="query")

@app.route("/q")
def query():
    params = app.current_request.query_params
    if params is None:
        return {"params": None}
    seen = {"before": {k: params.getlist(k) for k in params}}
    params["tag"] = "replaced"
    seen["tag"] = [params["tag"], params.getlist("tag")]
    seen["popped"] = params.pop("page", "no page")
    seen["pop-missing"] = params.pop("nope", "default")
    try:
        del params["nope"]
    except KeyError:
        seen["del-missing"] = "KeyError"
    try:
        params.getlist("nope")
    except KeyError:
        seen["getlist-missing"] = "KeyError"
    seen["get-missing"] = params.get("nope", "fallback")
    params.update({"added": "1"})
    seen["after"] = {k: params.getlist(k) for k in params}
    seen["len"] = len(params)
    headers = app.current_request.headers
    seen["header"] = [headers["x-CUSTOM"], headers.get("X-Custom"), "x-custom" in headers]
    try:
        headers["x-custom"] = "nope"
    except TypeError:
        seen["headers-read-only"] = True
    return seen

def observe():
    with Client(app) as client:
        return [client.http.get("/q?tag=a&tag=b&page=2", headers={"X-Custom": "v"}).json_body,
                client.http.get("/q", headers={"X-Custom": "v"}).json_body]
"""


def test_query_params_is_chalices_mutable_multidict_and_none_without_a_query() -> None:
    expected, actual = observe_both(QUERY_APP)
    assert actual == expected
    assert actual[0]["tag"] == ["replaced", ["replaced"]]
    assert actual[1] == {"params": None}


# -- the test client -------------------------------------------------------------------------

CLIENT_APP = """
from chalice import Chalice, Response
from chalice.test import Client, FunctionNotFoundError
app = Chalice(app_name="client")

@app.route("/")
def index():
    return {"function": app.lambda_context.function_name}

@app.route("/text")
def text():
    return Response("not json", headers={"Content-Type": "text/plain"})

@app.route("/empty")
def empty():
    return Response("", status_code=204)

@app.lambda_function(name="adder")
def adder(event, context):
    return {"function": context.function_name, "sum": event["a"] + event["b"]}

@app.on_sns_message(topic="alerts")
def on_alert(event):
    return [event.message, event.subject, event.message_attributes]

def observe():
    attributes = {"k": {"Type": "String", "Value": "v"}}
    with Client(app) as client:
        seen = {
            "rest": client.http.get("/").json_body,
            "text": client.http.get("/text").json_body,
            "empty": client.http.get("/empty").json_body,
            "invoke": client.lambda_.invoke("adder", {"a": 1, "b": 2}).payload,
            "sns": client.lambda_.invoke(
                "on_alert", client.events.generate_sns_event("hi", "subj", attributes)
            ).payload,
            "sns-keywords": on_alert(client.events.generate_sns_event(
                message="m", subject="s", message_attributes=attributes), None),
        }
        try:
            client.lambda_.invoke("nope")
        except FunctionNotFoundError:
            seen["unknown"] = "FunctionNotFoundError"
    return seen
"""


def test_test_client_answers_as_chalices() -> None:
    expected, actual = observe_both(CLIENT_APP)
    assert actual == expected
    assert actual["rest"] == {"function": "api_handler"}
    assert actual["text"] is actual["empty"] is None
    assert actual["unknown"] == "FunctionNotFoundError"


# -- app.log ---------------------------------------------------------------------------------

LOG_APP = """
from chalice import Chalice
app = Chalice(app_name=NAME)

@app.route("/boom")
def boom():
    raise RuntimeError("secret detail")

@app.route("/log")
def log():
    app.log.error("an error: %s", 1)
    app.log.warning("a warning")
    app.log.debug("a debug line")
    return {}

def observe():
    event = {"requestContext": {"resourcePath": "/log", "httpMethod": "GET"}, "headers": {},
             "multiValueQueryStringParameters": None, "pathParameters": None,
             "stageVariables": None, "body": None, "isBase64Encoded": False}
    app(event, None)
    app.debug = True
    app(event, None)
    app.debug = False
    event["requestContext"]["resourcePath"] = "/boom"
    return app(event, None)["statusCode"]
"""


@pytest.fixture
def log_names():
    import logging

    names = ["port-log-chalice", "port-log-fw"]
    yield names
    for name in names:  # the loggers outlive the test: leave no handler behind
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def test_app_log_writes_to_stdout_at_chalices_level_and_format(capsys, log_names) -> None:
    outputs = []
    for name, text in zip(log_names, (LOG_APP, port(LOG_APP)), strict=True):
        module = types.ModuleType("port_app")
        module.NAME = name
        exec(text, module.__dict__)  # noqa: S102 - test source
        assert module.observe() == 500
        captured = capsys.readouterr()
        assert captured.err == ""
        outputs.append(captured.out.replace(name, "NAME").splitlines())
    expected, actual = outputs
    head = [line for line in actual if line.startswith("NAME - ")]
    assert head == [line for line in expected if line.startswith("NAME - ")]
    assert head == [
        "NAME - ERROR - an error: 1",
        "NAME - ERROR - an error: 1",
        "NAME - WARNING - a warning",
        "NAME - DEBUG - a debug line",
        "NAME - ERROR - Caught exception for path /boom",
    ]
    assert "RuntimeError: secret detail" in actual[-1] == expected[-1]


# -- blueprints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decorate", "what"),
    [
        (lambda bp: bp.route("/late"), "route '/late' (view 'late')"),
        (lambda bp: bp.on_sns_message(topic="t"), "@on_sns_message handler 'late'"),
        (lambda bp: bp.middleware("http"), "middleware 'late'"),
    ],
    ids=["route", "event-handler", "middleware"],
)
def test_a_handler_added_to_a_registered_blueprint_is_an_error(decorate: Any, what: str) -> None:
    # Chalice drops it silently: the route is never served. fw says so where it happens.
    app = microframework.Chalice(app_name="late")
    bp = microframework.Blueprint("views.items")
    bp.route("/early")(lambda: {})
    app.register_blueprint(bp, url_prefix="/v1")

    def late(*args: Any) -> None: ...

    message = f"{what} was added to blueprint 'views.items' after app 'late' registered it"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        decorate(bp)(late)
    assert list(app.routes) == ["/v1/early"]


def test_chalice_drops_a_route_added_to_a_registered_blueprint() -> None:
    """The behaviour fw refuses, shown on Chalice: the route silently never exists."""
    app = chalice.Chalice(app_name="late")
    bp = chalice.Blueprint("views.items")
    app.register_blueprint(bp)
    bp.route("/late")(lambda: {})
    assert "/late" not in app.routes
