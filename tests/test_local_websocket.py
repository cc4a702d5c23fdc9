"""``fw local``'s websockets over real sockets, driven by the ``websockets`` client library, with
the app's management calls made by a real boto3 ``apigatewaymanagementapi`` client."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from conftest import free_port
from test_local_server import start_fw, stop, wait_for_port
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cli.local import AccessLog, LocalServer
from cli.local.websocket import WebsocketLimits
from microframework import App, WebsocketDisconnectedError, WebsocketEvent
from microframework.gateway import LocalGateway

INTEGRATION = (
    3.0  # seconds: the 29 s integration timeout, shortened (a first post builds a boto3 client)
)


class Record:
    def __init__(self) -> None:
        self.peers: set[str] = set()
        self.disconnected: list[str] = []
        self.early_posts: list[str] = []
        self.events: list[dict] = []
        self.lock = threading.Lock()


def make_app(record: Record) -> App:
    app = App("sockets")
    app.experimental_feature_flags.update(["WEBSOCKETS"])

    @app.route("/")
    def index() -> dict:
        return {"peers": len(record.peers)}

    @app.on_ws_connect()
    def connect_(event: WebsocketEvent) -> Any:
        query = event.to_dict().get("queryStringParameters") or {}
        record.events.append(event.to_dict())
        if "deny" in query:
            return {"statusCode": 403, "body": "not you"}
        if "boom" in query:
            raise RuntimeError("connect failed")
        if "slow" in query:
            time.sleep(INTEGRATION * 2)
        if "early" in query:
            try:
                app.websocket_api.send(event.connection_id, "too early")
            except WebsocketDisconnectedError:
                record.early_posts.append("gone")
        with record.lock:
            record.peers.add(event.connection_id)
        return None

    @app.on_ws_message()
    def message(event: WebsocketEvent) -> None:
        api, connection_id, body = app.websocket_api, event.connection_id, event.body
        if body == "close":
            api.close(connection_id)
        elif body == "slow":
            time.sleep(INTEGRATION * 2)
        elif body == "fail":
            raise ValueError("handler failed")
        elif body == "info":
            api.send(connection_id, json.dumps(api.info(connection_id)["Identity"]))
        elif body == "context":
            context = [event.context.function_name, event.to_dict()["requestContext"]]
            api.send(connection_id, json.dumps(context))
        elif body.startswith("all:"):
            with record.lock:
                peers = list(record.peers)
            for peer in peers:
                api.send(peer, body[4:])
        else:
            api.send(connection_id, body)

    @app.on_ws_disconnect()
    def disconnect(event: WebsocketEvent) -> None:
        with record.lock:
            record.peers.discard(event.connection_id)
            record.disconnected.append(event.connection_id)
            record.events.append(event.to_dict())

    return app


@contextlib.contextmanager
def served(
    app: App, *, gateway: Callable[[], LocalGateway] | None = None, **limits: Any
) -> Iterator[LocalServer]:
    """A server for ``app`` (or whatever ``gateway`` returns) on a free port, in a thread."""
    fixed = LocalGateway(app, stage="dev", function_name="sockets-dev")
    ws_limits = WebsocketLimits(
        integration_seconds=INTEGRATION, close_grace=1.0, **limits.pop("ws", {})
    )
    server = LocalServer(
        ("127.0.0.1", 0),
        gateway or (lambda: fixed),
        AccessLog(io.StringIO()),
        websocket_limits=ws_limits,
        **limits,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def record() -> Record:
    return Record()


@pytest.fixture
def server(record: Record) -> Iterator[LocalServer]:
    with served(make_app(record)) as server:
        yield server


def url(server: LocalServer, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/{query}"


def management(server: LocalServer) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=server.loopback_url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def until(check: Any, seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


def test_echo_through_the_management_api(server: LocalServer, record: Record) -> None:
    with connect(url(server)) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send("héllo ✓")
        assert ws.recv(timeout=5) == "héllo ✓"
        assert ws.ping(b"are you there").wait(timeout=5)  # answered with a pong


def test_connect_event_and_handler_context(server: LocalServer, record: Record) -> None:
    with connect(url(server, "?room=1"), user_agent_header="fw-test/1") as ws:
        ws.send("context")
        name, context = json.loads(ws.recv(timeout=5))
    assert name == "sockets-dev-websocket_message"
    assert (context["routeKey"], context["eventType"], context["stage"]) == (
        "$default",
        "MESSAGE",
        "dev",
    )
    assert context["domainName"] == f"127.0.0.1:{server.port}"
    connect_event = record.events[0]
    assert connect_event["requestContext"]["connectionId"] == context["connectionId"]
    assert connect_event["queryStringParameters"] == {"room": "1"}
    assert connect_event["requestContext"]["identity"]["userAgent"] == "fw-test/1"


def test_broadcast_reaches_every_connection(server: LocalServer, record: Record) -> None:
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(url(server))) for _ in range(3)]
        until(lambda: len(record.peers) == 3)
        clients[0].send("all:news")
        assert [c.recv(timeout=5) for c in clients] == ["news"] * 3
    assert until(lambda: len(record.disconnected) == 3)


def test_server_side_close_then_posts_are_gone(server: LocalServer, record: Record) -> None:
    with connect(url(server)) as ws:
        ws.send("context")
        connection_id = json.loads(ws.recv(timeout=5))[1]["connectionId"]
        ws.send("close")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert until(lambda: connection_id in record.disconnected)
    client = management(server)
    for call in (client.post_to_connection, client.get_connection, client.delete_connection):
        kwargs: dict = {"ConnectionId": connection_id}
        if call == client.post_to_connection:
            kwargs["Data"] = b"late"
        with pytest.raises(client.exceptions.GoneException) as gone:
            call(**kwargs)
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_info_as_get_connection_returns_it(server: LocalServer) -> None:
    with connect(url(server), user_agent_header="fw-test/2") as ws:
        ws.send("info")
        assert json.loads(ws.recv(timeout=5)) == {"SourceIp": "127.0.0.1", "UserAgent": "fw-test/2"}
        ws.send("context")
        connection_id = json.loads(ws.recv(timeout=5))[1]["connectionId"]
        info = management(server).get_connection(ConnectionId=connection_id)
    assert info["ConnectedAt"] <= info["LastActiveAt"]
    assert info["ConnectedAt"].tzinfo is not None


@pytest.mark.parametrize(
    ("query", "status"),
    [("?deny=1", 403), ("?boom=1", 502), ("?slow=1", 504)],
    ids=["refused", "raised", "timed-out"],
)
def test_a_failed_connect_rejects_the_upgrade(
    server: LocalServer, record: Record, query: str, status: int
) -> None:
    with pytest.raises(InvalidStatus) as rejected:
        connect(url(server, query))
    assert rejected.value.response.status_code == status
    assert record.peers == set() and record.disconnected == []


def test_nothing_can_be_posted_before_connect_returns(server: LocalServer, record: Record) -> None:
    with connect(url(server, "?early=1")) as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "ping"  # "too early" never arrived
    assert record.early_posts == ["gone"]


def test_handler_errors_and_timeouts_reach_the_client_as_api_gateway_words_them(
    server: LocalServer,
) -> None:
    with connect(url(server)) as ws:
        ws.send("fail")
        failed = json.loads(ws.recv(timeout=5))
        ws.send("slow")
        started = time.monotonic()
        timed_out = json.loads(ws.recv(timeout=5))
        assert INTEGRATION - 0.1 <= time.monotonic() - started < INTEGRATION + 1
    assert failed["message"] == "Internal server error"
    assert timed_out["message"] == "Endpoint request timed out"
    assert set(failed) == {"message", "connectionId", "requestId"}


def _masked(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (bytes([0x81, 5]) + b"hello", 1002),  # a client frame must be masked (RFC 6455 5.1)
        (_masked(0x3, b""), 1002),  # a reserved opcode
        (_masked(0x1, b"\xff\xfe"), 1007),  # a text frame that is not UTF-8
        (_masked(0x1, b"a" * (32 * 1024 + 1)), 1009),  # over API Gateway's 32 KB frame
        (_masked(0x2, b"\x00\x01"), 1003),  # binary: API Gateway does not take it
    ],
    ids=["unmasked", "bad-opcode", "bad-utf8", "frame-over-32KB", "binary"],
)
def test_invalid_frames_close_with_the_right_code_and_the_server_stays_up(
    server: LocalServer, record: Record, raw: bytes, code: int
) -> None:
    with connect(url(server)) as ws:
        ws.socket.sendall(raw)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    assert until(lambda: len(record.disconnected) == 1)
    with connect(url(server)) as ws:
        ws.send("still up")
        assert ws.recv(timeout=5) == "still up"


def test_management_api_answers_as_the_model_says(server: LocalServer) -> None:
    client = management(server)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="bm90LWEtY29ubg==", Data=b"x")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/dev/%40connections/abc%3D", body=b"x" * (128 * 1024 + 1))
    answer = conn.getresponse()
    assert (answer.status, answer.getheader("x-amzn-ErrorType")) == (
        413,
        "PayloadTooLargeException",
    )
    conn.close()


def test_http_routes_are_unaffected(server: LocalServer, record: Record) -> None:
    with connect(url(server)):
        until(lambda: len(record.peers) == 1)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/")
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())) == (200, {"peers": 1})
        conn.request("GET", "/missing")
        assert conn.getresponse().status == 403  # API Gateway's Missing Authentication Token
        conn.close()


def test_a_plain_socket_that_drops_mid_connection_runs_disconnect(
    server: LocalServer, record: Record
) -> None:
    with connect(url(server)) as ws:
        ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame: a network drop
    assert until(lambda: len(record.disconnected) == 1)


FW_APP = """
from microframework import App

app = App("chat")


@app.route("/")
def index():
    return {"ok": True}


@app.on_ws_message()
def message(event):
    app.websocket_api.send(event.connection_id, "echo: " + event.body)
"""


def test_fw_local_prints_the_ws_url_and_serves_both(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(FW_APP)
    (tmp_path / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "chat", "stages": {"dev": {}}}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    port = free_port()
    proc = start_fw(tmp_path, port)
    try:
        wait_for_port(port, proc)
        with connect(f"ws://127.0.0.1:{port}/") as ws:
            ws.send("hi")
            assert ws.recv(timeout=10) == "echo: hi"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/")
            assert conn.getresponse().read() == b'{"ok":true}'
            conn.close()
            started = time.monotonic()
            out, err = stop(proc)  # Ctrl-C with a websocket open
            assert proc.returncode == 130 and time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            out, err = stop(proc)
    assert f"Websockets on ws://127.0.0.1:{port}/" in out
    assert ["websocket", "message", "$default"] in [line.split() for line in out.splitlines()]
    assert "Traceback" not in err


def test_a_message_with_no_route_gets_api_gateways_forbidden(record: Record) -> None:
    app = App("connect-only")

    @app.on_ws_connect()
    def connect_(event: WebsocketEvent) -> None:
        record.peers.add(event.connection_id)

    with served(app) as server:
        with connect(url(server)) as ws:
            ws.send('{"action": "nothing"}')
            answer = json.loads(ws.recv(timeout=5))
        assert answer["message"] == "Forbidden"
        assert answer["connectionId"] in record.peers


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 400),
        (
            b"GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            400,
        ),
    ],
    ids=["no-key", "http-1.0"],
)
def test_a_bad_handshake_is_400_and_no_connect_runs(
    server: LocalServer, record: Record, head: bytes, status: int
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:80]
    assert record.events == []


def test_a_reloaded_app_serves_the_open_connections(record: Record) -> None:
    first, second = make_app(record), App("reloaded")

    @second.on_ws_message()
    def shout(event: WebsocketEvent) -> None:
        second.websocket_api.send(event.connection_id, event.body.upper())

    current = [LocalGateway(first, stage="dev")]
    with served(first, gateway=lambda: current[0]) as server:
        with connect(url(server)) as ws:
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"
            current[0] = LocalGateway(second, stage="dev")  # what a save does
            ws.send("hello")
            assert ws.recv(timeout=5) == "HELLO"
        assert until(lambda: len(record.disconnected) == 0 and len(record.peers) == 1)
