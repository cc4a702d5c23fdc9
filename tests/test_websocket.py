"""microframework.websocket: the decorators, the event, what API Gateway gets, app.websocket_api."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from microframework import (
    App,
    BadRequestError,
    Blueprint,
    Response,
    WebsocketAPI,
    WebsocketDisconnectedError,
    WebsocketEvent,
)
from microframework.events import MalformedEventError
from microframework.websocket_local import websocket_event

ROOT = Path(__file__).resolve().parent.parent


def event(route_key: str = "$default", body: str | None = '{"action": "x"}') -> dict[str, Any]:
    return websocket_event(
        route_key,
        connection_id="abc=",
        body=body,
        domain_name="api1234567.execute-api.eu-west-1.amazonaws.com",
        stage="dev",
        api_id="api1234567",
        source_ip="192.0.2.1",
        user_agent="test",
    )


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda always sets AWS_REGION; the management endpoint is built from it.
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


# -- registration ----------------------------------------------------------------------------


def test_decorators_record_one_handler_per_route_as_the_lambda_entry_point() -> None:
    app = App("chat")
    app.experimental_feature_flags.update({"WEBSOCKETS"})  # as Chalice apps write it

    @app.on_ws_connect()
    def connect(event: WebsocketEvent) -> None:
        """Docs."""

    @app.on_ws_message(name="msg")
    def message(event: WebsocketEvent) -> None: ...

    @app.on_ws_disconnect()
    def disconnect(event: WebsocketEvent) -> None: ...

    assert app.websocket_handlers == {
        "$connect": connect, "$default": message, "$disconnect": disconnect
    }  # fmt: skip
    assert app.handlers["msg"] is message and connect.__doc__ == "Docs."
    assert [h.handler_string for h in (connect, message, disconnect)] == [
        "app.connect", "app.message", "app.disconnect"
    ]  # fmt: skip
    assert message.route_key_handled == "$default" and message.name == "msg"


def test_a_second_handler_for_a_route_names_both() -> None:
    app = App("chat")
    app.on_ws_message(name="first")(lambda event: None)

    def again(event: Any) -> None: ...

    with pytest.raises(ValueError, match=r"@on_ws_message is already .*<lambda>.*again"):
        app.on_ws_message()(again)
    assert "again" not in app.handlers


def test_blueprint_handlers_register_with_prefix_and_module() -> None:
    bp = Blueprint("chalicelib.ws")

    @bp.on_ws_message()
    def echo(event: WebsocketEvent) -> dict[str, Any]:
        return {"body": event.body}

    app = App("chat")
    app.register_blueprint(bp, name_prefix="ws_")
    assert app.websocket_handlers["$default"] is echo
    assert (echo.name, echo.handler_string) == ("ws_echo", "chalicelib.ws.echo")
    assert echo(event(body="hi"), None) == {"statusCode": 200, "body": "hi"}


def test_blueprint_duplicate_route_fails_at_registration() -> None:
    bp = Blueprint("more")
    bp.on_ws_connect(name="second")(lambda event: None)
    app = App("chat")
    app.on_ws_connect(name="first")(lambda event: None)
    with pytest.raises(ValueError, match="duplicate websocket handler"):
        app.register_blueprint(bp)


def test_unregistered_blueprint_handler_says_so() -> None:
    bp = Blueprint("lonely")
    handler = bp.on_ws_connect(name="lonely")(lambda event: None)
    with pytest.raises(RuntimeError, match="no app registered"):
        handler(event("$connect"), None)


# -- the event --------------------------------------------------------------------------------


def test_event_fields_and_json_body_parsed_once() -> None:
    raw = event(body='{"action": "join", "room": 1}')
    ws = WebsocketEvent(raw, "ctx")
    assert (ws.connection_id, ws.stage, ws.domain_name) == (
        "abc=", "dev", "api1234567.execute-api.eu-west-1.amazonaws.com"
    )  # fmt: skip
    assert ws.json_body == {"action": "join", "room": 1}
    assert ws.json_body is ws.json_body
    assert ws.to_dict() is raw and ws.context == "ctx"


def test_invalid_json_body_is_bad_request_and_no_body_reads_none_as_in_chalice() -> None:
    with pytest.raises(BadRequestError, match="Error Parsing JSON"):
        _ = WebsocketEvent(event(body="not json"), None).json_body
    assert WebsocketEvent(event("$connect"), None).body == "None"


def test_an_event_from_another_source_is_named() -> None:
    with pytest.raises(
        MalformedEventError, match="API Gateway \\(a WebSocket API\\).*connectionId"
    ):
        WebsocketEvent({"requestContext": {"domainName": "d", "stage": "s"}}, None)


# -- what API Gateway gets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "result"),
    [
        (None, {"statusCode": 200}),
        ({}, {"statusCode": 200}),
        ({"body": "x"}, {"statusCode": 200, "body": "x"}),
        ({"statusCode": 401}, {"statusCode": 401}),
        ("ignored", {"statusCode": 200}),
        (
            Response(body={"no": 1}, status_code=403),
            {"headers": {}, "multiValueHeaders": {}, "statusCode": 403, "body": '{"no":1}'},
        ),
    ],
    ids=["none", "empty-dict", "dict", "dict-status", "string", "response"],
)
def test_handler_result_is_what_chalice_returns(returned: Any, result: dict[str, Any]) -> None:
    app = App("chat")
    handler = app.on_ws_connect(name="connect")(lambda event: returned)
    assert handler(event("$connect"), None) == result


def test_a_handler_exception_fails_the_invocation() -> None:
    app = App("chat")

    @app.on_ws_message()
    def message(event: WebsocketEvent) -> Any:
        return event.json_body

    with pytest.raises(BadRequestError):
        message(event(body="{"), None)


def test_websocket_middleware_wraps_websocket_handlers_only() -> None:
    app = App("chat")
    seen: list[str] = []

    @app.middleware("websocket")
    def tag(event: Any, get_response: Any) -> Any:
        seen.append(type(event).__name__)
        return {**get_response(event), "tagged": True}

    @app.middleware("http")
    def http_only(event: Any, get_response: Any) -> Any:  # pragma: no cover - must not run
        raise AssertionError("http middleware ran for a websocket event")

    message = app.on_ws_message(name="message")(lambda event: {"body": event.body})
    assert message(event(body="b"), None) == {"statusCode": 200, "body": "b", "tagged": True}
    assert seen == ["WebsocketEvent"]


# -- app.websocket_api --------------------------------------------------------------------------


def _dns_suffixes() -> dict[str, str]:
    loader = botocore.session.get_session().get_component("data_loader")
    partitions = loader.load_data("endpoints")["partitions"]
    return {region: p["dnsSuffix"] for p in partitions for region in p["regions"]}


@pytest.mark.parametrize("region", sorted(_dns_suffixes()))
def test_endpoint_from_api_id_uses_the_partitions_dns_suffix(region: str) -> None:
    api = WebsocketAPI(env={"AWS_REGION": region})
    api.configure_from_api_id("a1b2c3d4e5", "prod")
    suffix = _dns_suffixes()[region]
    assert api._endpoint == f"https://a1b2c3d4e5.execute-api.{region}.{suffix}/prod"


def test_first_configuration_wins_as_in_chalice() -> None:
    api = WebsocketAPI(env={})
    api.configure("ws.example.com", "chat")  # a custom domain and its base path
    api.configure_from_api_id("a1b2c3d4e5", "prod")
    assert api._endpoint == "https://ws.example.com/chat"


def test_no_region_and_no_configuration_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="AWS_REGION"):
        WebsocketAPI(env={}).configure_from_api_id("a1b2c3d4e5", "prod")
    with pytest.raises(ValueError, match="configure must be called"):
        WebsocketAPI(env={}).send("abc=", "hi")


class _Session:
    """A boto3 Session stand-in: records the clients made, each a real botocore client whose
    calls a Stubber answers (so nothing leaves the machine)."""

    region_name = "eu-west-1"

    def __init__(self, answers: list[tuple[str, Any]]) -> None:
        self.calls: list[dict[str, Any]] = []
        self._answers = answers

    def client(self, service: str, **options: Any) -> Any:
        from botocore.stub import Stubber

        self.calls.append({"service": service, **options})
        client = botocore.session.get_session().create_client(
            service,
            region_name="eu-west-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            **options,
        )
        stubber = Stubber(client)
        for operation, answer in self._answers:
            if answer == "GoneException":
                stubber.add_client_error(operation, "GoneException", http_status_code=410)
            else:
                stubber.add_response(operation, {}, answer)
        stubber.activate()
        return client


def test_client_is_made_once_from_the_events_api_id_and_gone_is_disconnected() -> None:
    app = App("chat")
    session = app.websocket_api.session = _Session(
        [
            ("post_to_connection", {"ConnectionId": "abc=", "Data": "first"}),
            ("post_to_connection", "GoneException"),
        ]
    )

    @app.on_ws_message()
    def message(event: WebsocketEvent) -> None:
        app.websocket_api.send(event.connection_id, "first")

    message(event(), None)
    with pytest.raises(WebsocketDisconnectedError) as raised:
        message(event(), None)
    assert raised.value.connection_id == "abc="
    assert session.calls == [
        {
            "service": "apigatewaymanagementapi",
            "endpoint_url": "https://api1234567.execute-api.eu-west-1.amazonaws.com/dev",
        }
    ]


def test_threads_sending_first_at_once_share_one_client() -> None:
    app = App("chat")
    session = app.websocket_api.session = _Session([])
    app.websocket_api.configure("ws.example.com", "chat")
    barrier = threading.Barrier(8)
    clients: list[Any] = []

    def first_use() -> None:
        barrier.wait()
        clients.append(app.websocket_api._get_client())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(session.calls) == 1 and len({id(c) for c in clients}) == 1


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes, bool]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        signed = "Authorization" in self.headers
        type(self).seen.append((self.command, self.path, body, signed))
        gone = self.path.endswith("gone%3D")
        self.send_response(410 if gone else 200)
        payload = b'{"message": "Gone"}' if gone else b"{}"
        self.send_header("Content-Type", "application/json")
        if gone:
            self.send_header("x-amzn-ErrorType", "GoneException")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_DELETE = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def management_api() -> Iterator[str]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_use_endpoint_sends_unsigned_requests_events_do_not_override_it(
    management_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    app = App("chat")
    app.websocket_api.use_endpoint(management_api + "/")

    @app.on_ws_message()
    def message(event: WebsocketEvent) -> None:
        app.websocket_api.send(event.connection_id, event.body)
        app.websocket_api.close("gone=")

    with pytest.raises(WebsocketDisconnectedError):
        message(event(body="hello"), None)
    assert _Recorder.seen == [
        ("POST", "/@connections/abc%3D", b"hello", False),
        ("DELETE", "/@connections/gone%3D", b"", False),
    ]


# -- cold start ---------------------------------------------------------------------------------

PROBE = """
import sys
from microframework import App
app = App("plain")
app.route("/")(lambda: {})
assert "microframework.websocket" not in sys.modules, "a plain app loaded websockets"
ws = App("ws")
ws.on_ws_message(name="message")(lambda event: None)
assert "microframework.websocket" in sys.modules
assert "boto3" not in sys.modules and "json" not in sys.modules, "loaded before first use"
print("ok")
"""


def test_websockets_cost_nothing_until_used() -> None:
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr
