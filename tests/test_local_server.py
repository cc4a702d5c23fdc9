"""``fw local`` as a real subprocess: HTTP/1.1 over loopback, raw bytes included."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

FW = [sys.executable, "-c", "from cli.main import main; main()"]

APP = """
import os
import threading

from microframework import App

app = App("served")
_barrier = threading.Barrier(4, timeout=20)


@app.route("/")
def index():
    return {"hello": "world"}


@app.route("/together")
def together():
    # All four requests must be in flight at once to get past the barrier.
    _barrier.wait()
    request = app.current_request
    return {"query": request.query_params["id"], "header": request.headers["x-id"]}


@app.route("/echo", methods=["POST"])
def echo():
    return {"length": len(app.current_request.raw_body), "json": app.current_request.json_body}


@app.route("/env")
def env():
    return {"greeting": os.environ.get("GREETING")}


@app.route("/boom")
def boom():
    raise RuntimeError("kaboom")


@app.route("/items/{item_id}")
def item(item_id):
    return {"id": item_id}


@app.schedule("rate(5 minutes)")
def tick(event):
    return "ticked"


@app.on_s3_event(bucket="uploads")
def on_upload(event):
    return event.key
"""


def write_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(textwrap.dedent(APP))
    (root / ".fw").mkdir(exist_ok=True)
    config = {
        "version": "1.0",
        "app_name": "served",
        "environment_variables": {"GREETING": "hi from config"},
        "stages": {"dev": {"api_gateway_stage": "api"}},
    }
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    return root


def start_fw(project: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *FW,
            "--project-dir",
            str(project),
            "local",
            "--port",
            str(port),
            "--no-autoreload",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, NO_COLOR="1"),
    )


def wait_for_port(port: int, proc: subprocess.Popen[str], host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fw local exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("fw local did not start")


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    project = write_project(tmp_path_factory.mktemp("served"))
    port = free_port()
    proc = start_fw(project, port)
    wait_for_port(port, proc)
    yield port
    stop(proc)


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def raw(port: int, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_keep_alive_serves_many_requests_on_one_connection(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    conn.request("GET", "/")
    first = conn.getresponse()
    assert (first.status, json.loads(first.read())) == (200, {"hello": "world"})
    sock = conn.sock
    conn.request("GET", "/items/a%20b")
    second = conn.getresponse()
    assert json.loads(second.read()) == {"id": "a%20b"}  # REST APIs do not decode the path
    assert conn.sock is sock  # the same TCP connection
    conn.close()


def test_concurrent_requests_never_see_each_others_request(server: int) -> None:
    results: dict[int, object] = {}

    def call(n: int) -> None:
        status, _, body = request(server, "GET", f"/together?id={n}", headers={"X-Id": str(n)})
        results[n] = (status, json.loads(body))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {n: (200, {"query": str(n), "header": str(n)}) for n in range(4)}


def test_stage_environment_and_api_gateway_answers(server: int) -> None:
    assert json.loads(request(server, "GET", "/env")[2]) == {"greeting": "hi from config"}
    status, headers, body = request(server, "GET", "/nowhere")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    status, _, body = request(server, "GET", "/boom")
    assert status == 500 and json.loads(body)["Code"] == "InternalServerError"
    status, headers, body = request(server, "HEAD", "/")
    assert body == b"" and int(headers["Content-Length"]) > 0  # HEAD: the length, no body


def test_bodies_plain_chunked_and_too_large(server: int) -> None:
    status, _, body = request(
        server, "POST", "/echo", b'{"a": 1}', {"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (200, {"length": 8, "json": {"a": 1}})
    chunked = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n[1, \r\n2\r\n2]\r\n0\r\n\r\n"
    )
    assert b'{"length":6,"json":[1,2]}' in raw(server, chunked)
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    conn.request("POST", "/echo", body=b"x" * (6 * 1024 * 1024 + 1))
    too_big = conn.getresponse()
    assert (too_big.status, json.loads(too_big.read())) == (413, {"message": "Request Too Long"})
    assert too_big.getheader("x-amzn-ErrorType") == "BadRequestException"
    assert too_big.getheader("Connection") == "close"  # the body was never read
    conn.close()
    assert request(server, "GET", "/")[0] == 200


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff garbage \x01\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /items/1?q=%ff%fe HTTP/1.1\r\n\r\n",
        b"GET /items/%zz?q=%e0 HTTP/1.1\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n[]\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n[]\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Id: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Id: a\x00b\r\n\r\n",
    ],
    ids=[
        "garbage",
        "no-version",
        "http2",
        "bad-header",
        "length-not-a-number",
        "negative-length",
        "conflicting-lengths",
        "length-and-chunked",
        "bad-chunk",
        "bad-utf8-query",
        "bad-query-encoding",
        "hex-prefixed-chunk-size",
        "signed-chunk-size",
        "bare-cr-in-header",
        "nul-in-header",
    ],
)
def test_malformed_requests_get_400_and_the_server_stays_up(server: int, data: bytes) -> None:
    answer = raw(server, data)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert request(server, "GET", "/")[0] == 200


def test_a_stalled_client_does_not_block_others(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as stalled:
        stalled.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part")
        assert request(server, "GET", "/")[0] == 200


def test_startup_table_port_in_use_and_ctrl_c(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    port = free_port()
    proc = start_fw(project, port)
    try:
        wait_for_port(port, proc)
        second = start_fw(project, port)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert err.strip() == f"Error: port {port} is in use: pass --port"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 130  # Ctrl-C: 128 + SIGINT
    assert f"http://127.0.0.1:{port}/" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["GET", "/items/{item_id}", "item"] in lines
    assert ["POST", "/echo", "echo"] in lines
    assert ["schedule", "tick", "rate(5", "minutes)"] in lines
    assert ["s3", "on_upload", "uploads/", "s3:ObjectCreated:*"] in lines
    assert "Traceback" not in err


def head_answer(port: int, head: bytes) -> bytes:
    """Send a request head only (no body) and read what comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


SEVEN_MB = 7 * 1024 * 1024
ELEVEN_MB = 11 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "length", "status", "marker"),
    [
        ("/echo", SEVEN_MB, b"413", b"BadRequestException"),
        ("/nowhere", SEVEN_MB, b"403", b"MissingAuthenticationTokenException"),
        ("/echo", ELEVEN_MB, b"413", b"HTTP content length exceeded 10485760 bytes."),
    ],
    ids=["over-lambda-limit", "unknown-path-first", "over-payload-quota"],
)
def test_a_declared_body_over_a_limit_is_answered_without_reading_it(
    server: int, path: str, length: int, status: bytes, marker: bytes
) -> None:
    # The client waits for "100 Continue" and never sends the body: the answer comes at once.
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = head_answer(server, head)
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:80]
    assert b"100 Continue" not in answer and marker in answer
    assert time.monotonic() - started < 5  # not the idle timeout: the server did not wait
    assert request(server, "GET", "/")[0] == 200


def test_expect_continue_under_the_limits_gets_100_continue(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 8\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b'{"a": 1}')
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"length":8,"json":{"a":1}}')


def test_a_chunked_body_over_the_payload_quota_is_413(server: int) -> None:
    chunk = b"x" * (1024 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    conn.request("POST", "/echo", body=iter([chunk] * 11), encode_chunked=True)
    response = conn.getresponse()
    assert (response.status, response.read()) == (
        413,
        b"HTTP content length exceeded 10485760 bytes.",
    )
    conn.close()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /items/1?q=" + b"x" * 8200 + b" HTTP/1.1\r\nConnection: close\r\n\r\n", b"414"),
        (b"GET /items/1?q=" + b"x" * 20000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET / HTTP/1.1\r\nConnection: close\r\nX-A: " + b"a" * 6000 + b"\r\nX-B: " + b"b" * 6000 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\n" + b"X-A: a\r\n" * 200 + b"\r\n", b"431"),
    ],
    ids=["url-over-edge-quota", "request-line-over-buffer", "header-values", "header-count"],
)  # fmt: skip
def test_request_heads_over_the_quotas(server: int, head: bytes, status: bytes) -> None:
    answer = raw(server, head)
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:80]
    assert request(server, "GET", "/")[0] == 200


def test_percent_escapes_in_the_path_reach_the_view_as_sent(server: int) -> None:
    for path, item_id in (("/items/%ff%fe", "%ff%fe"), ("/items/a%2Fb", "a%2Fb")):
        status, _, body = request(server, "GET", path)
        assert (status, json.loads(body)) == (200, {"id": item_id})


# --- limits, in process, with small values so the tests take a second ------------------------

HEAD_SECONDS = 0.5
BODY_SECONDS = 0.5


@pytest.fixture
def limited() -> Iterator[int]:
    """A server that takes 2 connections, 0.5 s for a request head and 0.5 s for a body."""
    from cli.local import AccessLog, LocalServer
    from microframework import App
    from microframework.gateway import LocalGateway

    app = App("limited")

    @app.route("/")
    def index() -> dict:
        return {"ok": True}

    @app.route("/echo", methods=["POST"])
    def echo() -> dict:
        return {"length": len(app.current_request.raw_body)}

    gateway = LocalGateway(app)
    server = LocalServer(
        ("127.0.0.1", 0),
        lambda: gateway,
        AccessLog(io.StringIO()),
        max_connections=2,
        head_timeout=HEAD_SECONDS,
        body_timeout=BODY_SECONDS,
        idle_timeout=5.0,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def trickle(port: int, first: bytes, drip: bytes, every: float) -> tuple[bytes, float]:
    """Send ``first``, then one byte of ``drip`` every ``every`` s (far inside any per-recv
    timeout) until the server answers or closes; returns the answer and when it came."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        sock.settimeout(every)
        answer = b""
        for byte in drip:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # the server closed first
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            answer += chunk
            if not chunk:
                break
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer, time.monotonic() - started


def test_a_client_trickling_its_head_is_cut_off_at_the_deadline(limited: int) -> None:
    answer, took = trickle(limited, b"GET / HTTP/1.1\r\n", b"X-Slow: " + b"a" * 200, 0.05)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert b'{"message": "Request Timeout: the request head took too long"}' in answer
    assert HEAD_SECONDS <= took < HEAD_SECONDS + 2
    assert request(limited, "GET", "/")[0] == 200


def test_a_client_trickling_its_body_is_cut_off_at_the_deadline(limited: int) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n"
    answer, took = trickle(limited, head, b"b" * 200, 0.05)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert b"the request body took too long" in answer
    assert BODY_SECONDS <= took < BODY_SECONDS + 4  # + the linger that drains the rest
    assert request(limited, "POST", "/echo", b"x" * 10)[0] == 200


def test_a_connection_that_never_speaks_is_closed_quietly(limited: int) -> None:
    with socket.create_connection(("127.0.0.1", limited), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed, no answer to a request never made
    assert HEAD_SECONDS <= time.monotonic() - started < HEAD_SECONDS + 2


def test_an_idle_keep_alive_connection_may_wait_longer_than_the_head_deadline(
    limited: int,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", limited, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b'{"ok":true}'
    time.sleep(HEAD_SECONDS * 2)  # idle between requests: the idle timeout (5 s) applies
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()


def test_connections_over_the_cap_get_503_and_the_others_still_work(limited: int) -> None:
    held = [http.client.HTTPConnection("127.0.0.1", limited, timeout=10) for _ in range(2)]
    for conn in held:  # each answered once, so each holds a server thread (keep-alive)
        conn.request("GET", "/")
        assert conn.getresponse().read() == b'{"ok":true}'
    status, headers, body = request(limited, "GET", "/")
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "message": "Service Unavailable: fw local is serving 2 connections, its limit;"
        " retry when one closes"
    }
    for conn in held:
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    held[0].close()  # a slot frees up once the server sees the close
    assert _until_status(limited, 200) == 200
    held[1].close()


def _until_status(port: int, wanted: int) -> int:
    deadline = time.monotonic() + 5
    while True:
        status = request(port, "GET", "/")[0]
        if status == wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_schedules_show_when_they_fire_next(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    port = free_port()
    proc = start_fw(project, port, "--schedules")
    try:
        wait_for_port(port, proc)
    finally:
        out, _ = stop(proc)
    (line,) = [line for line in out.splitlines() if line.split()[:2] == ["schedule", "tick"]]
    # rate(5 minutes) counts from when fw local started.
    assert re.fullmatch(
        r"\s+schedule\s+tick\s+rate\(5 minutes\), next \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", line
    ), line


@pytest.mark.parametrize(
    ("host", "warned"),
    [("192.0.2.1", True), ("localhost", False), ("::1", False)],
    ids=["documentation-address", "localhost", "ipv6-loopback"],
)
def test_a_host_other_than_loopback_is_warned_about(
    tmp_path: Path, host: str, warned: bool
) -> None:
    project = write_project(tmp_path / "p")
    port = free_port()
    proc = start_fw(project, port, "--host", host)
    if not warned:
        try:
            wait_for_port(port, proc, host)
        finally:
            _, err = stop(proc)
        assert "Warning" not in err
        return
    # 192.0.2.1 (TEST-NET-1) is never this machine's: the warning, then the bind fails.
    _, err = proc.communicate(timeout=30)
    first, second = err.splitlines()
    assert first == (
        "Warning: --host 192.0.2.1 is not a loopback address: the app is reachable from the"
        " network, not only from this machine (its views run with your AWS credentials);"
        " use --host 127.0.0.1 to keep it local"
    )
    assert second.startswith("Error: cannot listen on 192.0.2.1:")
