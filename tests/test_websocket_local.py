"""microframework.websocket_local: API Gateway's WebSocket events, route selection, the
connections table, and the in-process test client built on them."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework import App, Blueprint, WebsocketDisconnectedError, WebsocketEvent
from microframework.testing import Client
from microframework.websocket_local import (
    MAX_MESSAGE_BYTES,
    Connections,
    Gone,
    PayloadTooLarge,
    WebsocketRejectedError,
    connect_status,
    new_connection_id,
    route_key_for,
    websocket_event,
)

COMMON = {
    "connection_id": "L0SM9cOFvHcCIhw=",
    "domain_name": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "stage": "dev",
    "api_id": "a1b2c3d4e5",
    "source_ip": "192.0.2.7",
    "user_agent": "wscat",
}

# -- events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route_key", "event_type"),
    [("$connect", "CONNECT"), ("$default", "MESSAGE"), ("sendmessage", "MESSAGE"),
     ("$disconnect", "DISCONNECT")],
    ids=["connect", "default", "custom-route", "disconnect"],
)  # fmt: skip
def test_request_context_has_api_gateways_fields(route_key: str, event_type: str) -> None:
    before = int(time.time() * 1000)
    event = websocket_event(route_key, body="{}", connected_at=before / 1000 - 5, **COMMON)
    context = event["requestContext"]
    assert (context["routeKey"], context["eventType"], context["messageDirection"]) == (
        route_key, event_type, "IN"
    )  # fmt: skip
    assert {k: context[k] for k in ("connectionId", "domainName", "stage", "apiId")} == {
        "connectionId": COMMON["connection_id"],
        "domainName": COMMON["domain_name"],
        "stage": "dev",
        "apiId": "a1b2c3d4e5",
    }
    assert context["identity"] == {"sourceIp": "192.0.2.7", "userAgent": "wscat"}
    assert context["connectedAt"] == before - 5000 <= context["requestTimeEpoch"]
    assert context["requestTime"].endswith(" +0000") and context["requestId"]
    assert ("messageId" in context) == (event_type == "MESSAGE")
    assert ("body" in event) == (event_type == "MESSAGE")
    assert ("headers" in event) == (event_type == "CONNECT")
    assert event["isBase64Encoded"] is False


def test_connect_carries_headers_and_query_with_their_repeats() -> None:
    event = websocket_event(
        "$connect",
        headers=[("Host", "h"), ("X-Tag", "a"), ("X-Tag", "b")],
        query={"room": "1", "tag": ["x", "y"]},
        **COMMON,
    )
    assert event["headers"] == {"Host": "h", "X-Tag": "b"}
    assert event["multiValueHeaders"] == {"Host": ["h"], "X-Tag": ["a", "b"]}
    assert event["queryStringParameters"] == {"room": "1", "tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"room": ["1"], "tag": ["x", "y"]}
    assert "queryStringParameters" not in websocket_event("$connect", **COMMON)


def test_disconnect_carries_the_close_code_and_a_binary_body_is_base64() -> None:
    event = websocket_event(
        "$disconnect", disconnect_status_code=1001, disconnect_reason="Going away", **COMMON
    )
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert event["requestContext"]["disconnectReason"] == "Going away"
    binary = websocket_event("$default", body=b"\x00\xff", is_binary=True, **COMMON)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\xff"


def test_connection_ids_look_like_api_gateways() -> None:
    ids = {new_connection_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 16 and i.endswith("=") for i in ids)


# -- route selection ---------------------------------------------------------------------------

ROUTES = ("$connect", "$default", "$disconnect", "join", "3", "true")


@pytest.mark.parametrize(
    ("body", "routes", "expected"),
    [
        ('{"action": "join"}', ROUTES, "join"),
        ('{"action": "leave"}', ROUTES, "$default"),
        ('{"action": 3}', ROUTES, "3"),
        ('{"action": true}', ROUTES, "true"),
        ('{"action": 4}', ROUTES, "$default"),
        ('{"action": ["join"]}', ROUTES, "$default"),
        ('{"action": "$connect"}', ROUTES, "$default"),
        ('{"other": "join"}', ROUTES, "$default"),
        ("not json", ROUTES, "$default"),
        ('["join"]', ROUTES, "$default"),
        ("", ROUTES, "$default"),
        ('{"action": "leave"}', ("join",), None),
    ],
    ids=["named", "unknown", "number", "boolean", "other-number", "array", "reserved", "absent", "not-json", "array", "empty",
         "no-default"],
)  # fmt: skip
def test_route_selection(body: str, routes: tuple[str, ...], expected: str | None) -> None:
    assert route_key_for(body, "$request.body.action", routes) == expected


def test_route_selection_follows_a_nested_expression_and_refuses_others() -> None:
    assert route_key_for('{"m": {"type": "join"}}', "$request.body.m.type", ROUTES) == "join"
    with pytest.raises(ValueError, match="must start with"):
        route_key_for("{}", "$request.header.x", ROUTES)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    body=st.text(max_size=40) | JSON.map(json.dumps) | st.binary(max_size=20),
    action=st.sampled_from(ROUTES) | st.text(max_size=8),
)
def test_route_selection_never_fails_and_picks_a_route_the_api_has(body: Any, action: str) -> None:
    for message in (body, json.dumps({"action": action, "body": body}, default=repr)):
        route = route_key_for(message, routes=ROUTES)
        assert route in ("$default", "join", "3", "true")
        if message != body:
            assert route == (action if action in ("join", "3", "true") else "$default")


@pytest.mark.parametrize(
    ("result", "status"),
    [(None, 200), ({}, 200), ({"statusCode": 403}, 403), ({"statusCode": "204"}, 204),
     ({"statusCode": "x"}, 500)],
    ids=["none", "empty", "403", "string-204", "garbage"],
)  # fmt: skip
def test_connect_status(result: Any, status: int) -> None:
    assert connect_status(result) == status


# -- connections -------------------------------------------------------------------------------


def test_connections_post_info_delete_and_gone() -> None:
    table = Connections()
    got: list[bytes] = []
    closed: list[str] = []
    table.open("c1", got.append, lambda: closed.append("c1"), "192.0.2.7", "wscat")
    table.post("c1", b"hi")
    info = table.info("c1")
    assert info["Identity"] == {"SourceIp": "192.0.2.7", "UserAgent": "wscat"}
    assert info["ConnectedAt"].tzinfo == datetime.timezone.utc
    time.sleep(0.01)
    table.touch("c1")
    assert table.info("c1")["LastActiveAt"] > info["ConnectedAt"]
    table.delete("c1")
    assert (got, closed, "c1" in table) == ([b"hi"], ["c1"], False)
    calls = [lambda: table.post("c1", b"x"), lambda: table.info("c1"),
             lambda: table.delete("c1"), lambda: table.touch("c1")]  # fmt: skip
    for call in calls:
        with pytest.raises(Gone):
            call()
    assert table.forget("c1") is False


def test_post_over_the_message_quota_is_refused() -> None:
    table = Connections()
    table.open("c1", lambda data: None, lambda: None, "ip", "ua")
    table.post("c1", b"x" * MAX_MESSAGE_BYTES)
    with pytest.raises(PayloadTooLarge):
        table.post("c1", b"x" * (MAX_MESSAGE_BYTES + 1))


def test_a_dead_socket_makes_the_connection_gone() -> None:
    table = Connections()

    def broken(data: bytes) -> None:
        raise BrokenPipeError

    table.open("c1", broken, lambda: None, "ip", "ua")
    with pytest.raises(Gone):
        table.post("c1", b"x")
    assert "c1" not in table


def test_connections_are_safe_across_threads() -> None:
    table = Connections()
    received: dict[str, int] = {}
    lock = threading.Lock()

    def count(connection_id: str) -> Any:
        def post(data: bytes) -> None:
            with lock:
                received[connection_id] = received.get(connection_id, 0) + 1

        return post

    def worker(n: int) -> None:
        for i in range(50):
            cid = f"{n}-{i}"
            table.open(cid, count(cid), lambda: None, "ip", "ua")
            table.post(cid, b"x")
            table.touch(cid)
            if i % 2:
                table.delete(cid)
            else:
                assert table.forget(cid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(table) == 0 and len(received) == 400 and set(received.values()) == {1}


# -- the test client ---------------------------------------------------------------------------


def chat_app() -> App:
    app = App("chat")
    members: list[str] = []

    @app.on_ws_connect()
    def connect(event: WebsocketEvent) -> Any:
        query = event.to_dict().get("queryStringParameters") or {}
        if query.get("token") != "ok":
            return {"statusCode": 403}
        members.append(event.connection_id)
        return None

    @app.on_ws_message()
    def message(event: WebsocketEvent) -> None:
        body = event.json_body
        if body.get("action") == "info":
            info = app.websocket_api.info(event.connection_id)
            app.websocket_api.send(event.connection_id, info["Identity"]["SourceIp"])
        elif body.get("action") == "kick":
            app.websocket_api.close(body["who"])
        else:
            for member in list(members):
                try:
                    app.websocket_api.send(member, json.dumps(body))
                except WebsocketDisconnectedError:
                    members.remove(member)

    @app.on_ws_disconnect()
    def disconnect(event: WebsocketEvent) -> None:
        app.log.info("bye %s", event.connection_id)
        if event.connection_id in members:
            members.remove(event.connection_id)

    return app


def test_echo_broadcast_and_info() -> None:
    client = Client(chat_app())
    alice = client.websocket.connect(query={"token": "ok"}, source_ip="192.0.2.1")
    bob = client.websocket.connect(query={"token": "ok"})
    assert alice.send({"text": "hi"}) == {"statusCode": 200}
    assert [alice.receive(), bob.receive()] == ['{"text": "hi"}'] * 2
    assert alice.pending == bob.pending == 0
    alice.send({"action": "info"})
    assert alice.receive() == "192.0.2.1"
    assert alice.info()["Identity"]["UserAgent"] == "fw-test-client"
    with pytest.raises(LookupError):
        alice.receive()


def test_refused_connect_raises_with_its_status_and_cannot_be_posted_to() -> None:
    client = Client(chat_app())
    with pytest.raises(WebsocketRejectedError) as refused:
        client.websocket.connect()
    assert refused.value.status_code == 403
    assert len(client.websocket.connections) == 0


def test_server_side_close_runs_disconnect_after_the_handler_and_then_posts_are_gone() -> None:
    app = chat_app()
    disconnects: list[int] = []
    handler = app.websocket_handlers["$disconnect"]
    original = handler.func

    def record(event: WebsocketEvent) -> None:
        disconnects.append(event.to_dict()["requestContext"]["disconnectStatusCode"])
        with pytest.raises(WebsocketDisconnectedError):  # $disconnect: the socket is closed
            app.websocket_api.send(event.connection_id, "too late")
        original(event)

    handler.func = record
    client = Client(app)
    alice = client.websocket.connect(query={"token": "ok"})
    bob = client.websocket.connect(query={"token": "ok"})
    alice.send({"action": "kick", "who": bob.connection_id})
    assert bob.closed and not alice.closed and disconnects == [1000]
    with pytest.raises(Gone):
        bob.info()
    with pytest.raises(RuntimeError, match="is closed"):
        bob.send("late")
    alice.send({"text": "still here"})  # bob is no longer a member: no Gone left to hit
    assert alice.receive() == '{"text": "still here"}'


def test_the_app_sees_gone_for_a_connection_the_client_closed() -> None:
    app = chat_app()
    client = Client(app)
    alice = client.websocket.connect(query={"token": "ok"})
    with client.websocket.connect(query={"token": "ok"}) as bob:
        bob_id = bob.connection_id
    with pytest.raises(WebsocketDisconnectedError) as gone:
        app.websocket_api.send(bob_id, "hello?")
    assert gone.value.connection_id == bob_id
    alice.close(1001, "bye")
    assert alice.close_code == 1001


@pytest.mark.parametrize(
    ("message", "code"),
    [(b"\x00binary", 1003), ("x" * (MAX_MESSAGE_BYTES + 1), 1009)],
    ids=["binary-frame", "over-128KB"],
)
def test_messages_api_gateway_refuses_close_the_connection(message: Any, code: int) -> None:
    client = Client(chat_app())
    ws = client.websocket.connect(query={"token": "ok"})
    assert ws.send(message) is None
    assert ws.close_code == code and ws.connection_id not in client.websocket.connections


def test_handlers_run_with_their_stage_environment(tmp_path: Path) -> None:
    config = {
        "app_name": "chat",
        "api_gateway_stage": "v1",
        "stages": {"dev": {"environment_variables": {"GREETING": "hello"}}},
    }
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    bp = Blueprint("chalicelib.ws")

    @bp.on_ws_message()
    def greet(event: WebsocketEvent) -> None:
        import os

        app.websocket_api.send(event.connection_id, f"{os.environ['GREETING']} {event.stage}")

    app = App("chat")
    app.register_blueprint(bp)
    with Client(app, project_dir=str(tmp_path)) as client:
        ws = client.websocket.connect()  # no $connect handler: API Gateway accepts
        ws.send("hi")
        assert ws.receive() == "hello v1"
