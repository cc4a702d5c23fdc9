"""``fw invoke NAME --local``: handlers run in-process with the stage's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main

FW = [sys.executable, "-c", "from cli.main import main; main()"]

APP = """
import os

from microframework import App

app = App("inv")
print("importing app")  # must not end up in the JSON on stdout


@app.route("/users/{user_id}")
def user(user_id):
    return {"user": user_id}


@app.on_s3_event(bucket="uploads")
def on_upload(event):
    print("got", event.key)
    return {"bucket": event.bucket, "key": event.key, "stage_var": os.environ.get("COLOR")}


@app.lambda_function()
def add(event, context):
    return {"sum": event["a"] + event["b"], "function": context.function_name}


@app.lambda_function()
def fails(event, context):
    raise ValueError("bad input")
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / ".fw").mkdir()
    config = {
        "version": "1.0",
        "app_name": "inv",
        "stages": {"dev": {"environment_variables": {"COLOR": "blue"}}},
    }
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    before = dict(os.environ)
    yield tmp_path
    os.environ.clear()
    os.environ.update(before)


def run(capsys, project: Path, *args: str, event: dict | None = None) -> tuple[int, str, str]:
    argv = ["--project-dir", str(project), *args]
    if event is not None:
        path = project / "event.json"
        path.write_text(json.dumps(event))
        argv += ["--event", str(path)]
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def test_event_handler_gets_the_event_and_the_stage_environment(project: Path, capsys) -> None:
    event = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "a+b.txt"}}}]}
    code, out, err = run(capsys, project, "invoke", "on_upload", "--local", event=event)
    assert code == 0
    assert json.loads(out) == {"bucket": "b", "key": "a b.txt", "stage_var": "blue"}
    assert "importing app" in err and "got a b.txt" in err


def test_lambda_function_and_context(project: Path, capsys) -> None:
    code, out, _ = run(capsys, project, "invoke", "add", "--local", event={"a": 2, "b": 3})
    assert (code, json.loads(out)) == (0, {"sum": 5, "function": "inv-dev-add"})


def test_api_handler_routes_a_generated_proxy_event(project: Path, capsys) -> None:
    from microframework.sample_events import apigateway_event

    code, out, _ = run(
        capsys,
        project,
        "invoke",
        "api_handler",
        "--local",
        event=apigateway_event("GET", "/users/7"),
    )
    result = json.loads(out)
    assert (code, result["statusCode"], json.loads(result["body"])) == (0, 200, {"user": "7"})


def test_a_failing_handler_is_one_line_and_exit_1(project: Path, capsys) -> None:
    code, out, err = run(capsys, project, "invoke", "fails", "--local", event={})
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "Error: app.py:28: handler 'fails' raised ValueError: bad input"
        " (run with --debug for the traceback)"
    )
    assert "Traceback" not in err


def test_debug_adds_the_traceback(project: Path, capsys) -> None:
    from cli.commands.invoke import HandlerError

    (project / "event.json").write_text("{}")
    with pytest.raises(HandlerError):  # --debug lets main() re-raise, so the CLI shows it all
        main(
            [
                "--project-dir",
                str(project),
                "--debug",
                "invoke",
                "fails",
                "--local",
                "--event",
                str(project / "event.json"),
            ]
        )
    err = capsys.readouterr().err
    assert "Traceback" in err and 'raise ValueError("bad input")' in err


def test_unknown_name_lists_the_known_ones(project: Path, capsys) -> None:
    code, _, err = run(capsys, project, "invoke", "on_uplod", "--local", event={})
    assert code == 1
    assert err.splitlines()[-1] + "\n" == (
        "Error: no handler named 'on_uplod' in app.py (known: add, fails, on_upload, api_handler)."
        " Did you mean 'on_upload'?\n"
    )


def test_bad_event_json_is_one_line(project: Path, capsys) -> None:
    (project / "event.json").write_text("{nope")
    code, _, err = run(
        capsys, project, "invoke", "add", "--local", "--event", str(project / "event.json")
    )
    assert code == 1
    assert (
        err
        == "Error: the event is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2): pass a JSON event\n"
    )


def test_missing_event_file_is_a_usage_error(project: Path, capsys) -> None:
    code, _, err = run(capsys, project, "invoke", "add", "--local", "--event", "/no/such.json")
    assert code == 2 and "Invalid value for '--event'" in err


def test_generate_event_piped_into_invoke(project: Path) -> None:
    env = dict(os.environ, NO_COLOR="1")
    generate = subprocess.Popen(
        [*FW, "generate-event", "s3", "--bucket", "photos", "--key", "cat 1.jpg"],
        stdout=subprocess.PIPE,
        env=env,
    )
    invoke = subprocess.run(
        [*FW, "--project-dir", str(project), "invoke", "on_upload", "--local"],
        stdin=generate.stdout,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert generate.stdout is not None
    generate.stdout.close()
    assert generate.wait(timeout=30) == 0
    assert invoke.returncode == 0, invoke.stderr
    assert json.loads(invoke.stdout) == {
        "bucket": "photos",
        "key": "cat 1.jpg",
        "stage_var": "blue",
    }


WS_APP = """
from microframework import App

app = App("inv")


@app.on_ws_connect()
def hello(event):
    return {"statusCode": 200, "body": event.connection_id}


@app.on_ws_message()
def echo(event):
    return {"statusCode": 200, "body": event.json_body["action"] + ":" + event.stage}
"""


@pytest.mark.parametrize(
    ("name", "route", "body"),
    [
        ("websocket_message", "message", "hello:api"),
        ("echo", "message", "hello:api"),
        ("websocket_connect", "connect", "L0SM9cOFvHcCIhw="),
    ],
    ids=["deployed-name", "handler-name", "connect"],
)
def test_websocket_handler_gets_a_generated_event(
    tmp_path: Path, name: str, route: str, body: str
) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "inv"}))
    (tmp_path / "app.py").write_text(WS_APP)
    event = subprocess.run(
        [*FW, "generate-event", "websocket", "--route", route],
        capture_output=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    done = subprocess.run(
        [*FW, "invoke", name, "--local"], input=event, capture_output=True, cwd=tmp_path
    )
    assert (done.returncode, json.loads(done.stdout)) == (0, {"statusCode": 200, "body": body})
    assert done.stderr == b""


def test_websocket_handler_given_another_event_names_the_command(tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "inv"}))
    (tmp_path / "app.py").write_text(WS_APP)
    event = subprocess.run(
        [*FW, "generate-event", "sns"], capture_output=True, check=True, cwd=tmp_path
    ).stdout
    done = subprocess.run(
        [*FW, "invoke", "websocket_connect", "--local"], input=event, capture_output=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert (
        "handler 'websocket_connect' (@app.on_ws_connect) expects a WebSocket API event, but the"
        " event is an SNS notification: try 'fw generate-event websocket --route connect |"
        " fw invoke websocket_connect --local'"
    ) in done.stderr.decode()
