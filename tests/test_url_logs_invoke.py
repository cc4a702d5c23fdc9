"""``fw url``, ``fw logs`` and ``invoke_deployed`` against moto (which never runs Lambda code)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from click.testing import CliRunner

from cli.main import cli
from deployer.deploy.aws import create_context
from deployer.deploy.run import deploy, stage_url
from deployer.errors import DeployError
from deployer.invoke import function_error, invoke_deployed
from deployer.logs import LogEvent, format_event, parse_since, read_events

APP = """\
from microframework import App

app = App("tools")


@app.lambda_function()
def job(event, context):
    return {"echo": event}
"""


def write_project(root: Path) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    config = {"version": "1.0", "app_name": "tools", "stages": {"dev": {}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(APP)
    return root


def put_events(group: str, messages: list[str], *, start_ms: int) -> None:
    logs = boto3.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s1")
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = [{"timestamp": start_ms + i, "message": m} for i, m in enumerate(messages)]
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=events)


def test_url_without_a_deployed_api_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="run 'fw deploy --stage dev' first"):
        stage_url(write_project(tmp_path), "dev")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
    ids=["seconds", "minutes", "hours", "days", "combined"],
)
def test_parse_since(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "5", "3y"])
def test_parse_since_rejects_nonsense(text: str) -> None:
    with pytest.raises(DeployError, match="invalid --since"):
        parse_since(text)


def test_format_event_is_utc_with_milliseconds() -> None:
    event = LogEvent(
        timestamp=1_700_000_000_123, stream="2023/11/14/[$LATEST]ab", message="hi\n", event_id="1"
    )
    assert format_event(event) == "2023-11-14 22:13:20.123 2023/11/14/[$LATEST]ab hi"


def test_logs_command_prints_recent_events(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    deploy(project, "dev", sleep=lambda seconds: None)
    now_ms = int(time.time() * 1000)
    put_events(
        "/aws/lambda/tools-dev-job", ["START", "hello from job", "END"], start_ms=now_ms - 5000
    )
    put_events("/aws/lambda/tools-dev-job", ["too old"], start_ms=now_ms - 3_600_000)
    result = CliRunner().invoke(
        cli, ["--project-dir", str(project), "logs", "--name", "job", "--since", "10m"], obj={}
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == ["START", "hello from job", "END"]


def test_logs_of_an_unknown_handler_name_the_deployed_ones(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    runner = CliRunner()
    args = ["--project-dir", str(project), "logs", "--name", "jbo"]
    result = runner.invoke(cli, args, obj={}, standalone_mode=False)
    assert "stage 'dev' is not deployed" in str(result.exception)
    deploy(project, "dev", sleep=lambda seconds: None)
    result = runner.invoke(cli, args, obj={}, standalone_mode=False)
    assert str(result.exception) == (
        "stage 'dev' has no deployed function 'jbo'; deployed handlers: job"
    )


def test_follow_polls_and_prints_each_event_once(aws: str) -> None:
    group = "/aws/lambda/tools-dev"
    now_ms = int(time.time() * 1000)
    put_events(group, ["first"], start_ms=now_ms - 1000)
    batches = iter([["second", "third"]])

    def sleep(seconds: float) -> None:  # new events arrive while --follow waits
        batch = next(batches, [])
        if batch:
            put_events(group, batch, start_ms=int(time.time() * 1000))

    events = read_events(create_context(), "tools-dev", follow=True, sleep=sleep, polls=3)
    assert [e.message for e in events] == ["first", "second", "third"]


def test_logs_of_a_function_that_never_ran_are_empty(aws: str) -> None:
    assert list(read_events(create_context(), "tools-dev-never")) == []


def test_invoke_deployed_calls_the_function(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    deploy(project, "dev", sleep=lambda seconds: None)
    # moto does not run Lambda code; it answers from a queue of canned results.
    body = json.dumps({"results": ['{"echo": 1}'], "region": "us-east-1"}).encode()
    request = urllib.request.Request(
        f"{aws}/moto-api/static/lambda-simple/response", data=body, method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()
    answer = invoke_deployed(project, "dev", "job", b'{"x": 1}', profile=None, region=None)
    assert json.loads(answer) == {"echo": 1}

    with pytest.raises(DeployError, match=r"no deployed function 'nope'; deployed handlers: job"):
        invoke_deployed(project, "dev", "nope", b"{}", profile=None, region=None)

    # moto answers 200 for any function name, so AWS's refusal is injected where boto3 sends it.
    def refuse(**kwargs: object) -> None:
        error = {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}
        raise botocore.exceptions.ClientError(error, "Invoke")

    session = boto3.Session()
    session.events.register("before-call.lambda.Invoke", refuse)
    with pytest.raises(DeployError) as info:
        invoke_deployed(project, "dev", "job", b"{}", profile=None, region=None, session=session)
    assert str(info.value) == (
        "invoking function tools-dev-job failed (Invoke): TooManyRequestsException: Rate exceeded"
    )


def test_invoke_of_an_undeployed_stage(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="stage 'prod' is not deployed"):
        invoke_deployed(write_project(tmp_path), "prod", "job", b"{}", profile=None, region=None)


def test_function_error_carries_the_handler_message() -> None:
    payload = json.dumps({"errorMessage": "boom", "errorType": "ValueError"}).encode()
    error = function_error({"FunctionError": "Unhandled"}, payload, "tools-dev-job")
    assert str(error) == "function tools-dev-job failed (Unhandled error): ValueError: boom"
    assert function_error({"StatusCode": 200}, b"{}", "tools-dev-job") is None


def test_unreachable_logs_endpoint_is_one_line_naming_the_function(aws: str) -> None:
    def unreachable(**kwargs: object) -> None:
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://logs.invalid")

    with pytest.raises(DeployError) as info:
        list(read_events(create_context(on_call=unreachable), "tools-dev"))
    assert str(info.value) == (
        "reading logs of tools-dev failed: the AWS endpoint http://logs.invalid is unreachable"
        " (no connection); check AWS_ENDPOINT_URL"
    )
