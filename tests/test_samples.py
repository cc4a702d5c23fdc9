"""The sample projects, run as users would: the test client, moto, and a real ``fw local``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import free_port

from deployer.project.app_loader import load_app
from microframework import sample_events
from microframework.testing import Client

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FW = [sys.executable, "-c", "from cli.main import main; main()"]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("name", ["hello", "todo", "events"])
def test_each_sample_is_a_complete_project(name: str) -> None:
    project = SAMPLES / name
    config = json.loads((project / ".fw" / "config.json").read_text())
    assert config["app_name"] == name
    assert (project / "requirements.txt").read_text().strip() == ""  # packaging needs no network


def test_hello_with_the_test_client() -> None:
    client = Client(load_app(SAMPLES / "hello"))
    assert client.http.get("/").json_body == {"hello": "world"}
    assert client.http.get("/hello/ada%20l").json_body == {"hello": "ada l"}
    assert client.http.get("/hello").status_code == 403


def test_hello_served_by_fw_local() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *FW,
            "--project-dir",
            str(SAMPLES / "hello"),
            "local",
            "--port",
            str(port),
            "--no-autoreload",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1"),
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/hello/world")
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"hello": "world"})
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err  # stopped by Ctrl-C
    assert "/hello/{name}" in out and "GET /hello/world 200" in err


@pytest.fixture
def todo(aws: str, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setenv("TABLE_NAME", "todo-test")
    boto3.client("dynamodb").create_table(
        TableName="todo-test",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return Client(load_app(SAMPLES / "todo"))


def test_todo_crud_against_dynamodb(todo: Client) -> None:
    created = todo.http.post("/todos", json={"title": "buy milk"})
    assert created.status_code == 201
    todo_id = created.json_body["id"]
    assert created.headers["Location"] == f"/todos/{todo_id}"
    assert todo.http.get(f"/todos/{todo_id}").json_body == {
        "id": todo_id,
        "title": "buy milk",
        "done": False,
    }
    updated = todo.http.put(f"/todos/{todo_id}", json={"done": True})
    assert updated.json_body == {"id": todo_id, "title": "buy milk", "done": True}
    assert todo.http.get("/todos").json_body == {"todos": [updated.json_body]}
    assert todo.http.delete(f"/todos/{todo_id}").status_code == 204
    assert todo.http.get("/todos").json_body == {"todos": []}
    stored = boto3.resource("dynamodb").Table("todo-test").scan()["Items"]
    assert stored == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_todo_missing_item_is_404(todo: Client, method: str) -> None:
    response = todo.http.request(method, "/todos/nope", json={"done": True})
    assert response.status_code == 404
    assert response.json_body == {"Code": "NotFoundError", "Message": "no to-do 'nope'"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({}, "'title' is required"),
        ({"title": "  "}, "'title' is required"),
        ({"title": 3}, "'title' must be a str"),
        ({"title": "x", "done": "yes"}, "'done' must be a bool"),
        ({"title": "x", "owner": "me"}, "unknown field(s) ['owner']"),
    ],
    ids=["not-object", "no-title", "blank-title", "title-type", "done-type", "unknown-field"],
)
def test_todo_bad_input_is_400(todo: Client, body: Any, message: str) -> None:
    response = todo.http.post("/todos", json=body)
    assert response.status_code == 400 and message in response.json_body["Message"]


def test_todo_invalid_json_is_400(todo: Client) -> None:
    response = todo.http.post(
        "/todos", body="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_events_handlers_record_what_they_saw(capsys: pytest.CaptureFixture[str]) -> None:
    app = load_app(SAMPLES / "events")
    seen = sys.modules["app"].SEEN
    client = Client(app)
    invoke = client.lambda_.invoke
    upload = invoke("on_upload", sample_events.s3_event("fw-sample-uploads", "in/a b.csv")).payload
    assert upload == {
        "kind": "s3",
        "bucket": "fw-sample-uploads",
        "key": "in/a b.csv",
        "event": "ObjectCreated:Put",
    }
    jobs = sample_events.sqs_event(["one", "poison", "two"], "fw-sample-jobs")
    poison_id = jobs["Records"][1]["messageId"]
    assert invoke("on_job", jobs).payload == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    news = invoke("on_news", sample_events.sns_event("hi", "greeting", "fw-sample-news")).payload
    assert news == {"kind": "sns", "subject": "greeting", "message": "hi"}
    tick = invoke("every_quarter_hour", sample_events.schedule_event("events-dev-tick")).payload
    assert tick["rule"] == "events-dev-tick"
    assert [entry["kind"] for entry in seen] == ["s3", "sqs", "sqs", "sns", "schedule"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged == seen


def test_events_sample_declares_its_sources() -> None:
    app = load_app(SAMPLES / "events")
    sources = {source.name: source for source in app.event_sources}
    assert {name: s.kind for name, s in sources.items()} == {
        "on_upload": "s3",
        "on_job": "sqs",
        "on_news": "sns",
        "every_quarter_hour": "schedule",
    }
    assert sources["every_quarter_hour"].schedule_expression == "rate(15 minutes)"
