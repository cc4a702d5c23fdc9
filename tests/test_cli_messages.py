"""What the CLI tells a user: progress on slow steps, and errors that name the real cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _dists import make_wheel, write_requirements
from click.testing import CliRunner, Result
from conftest import free_port

from cli.main import cli, main

APP = """\
from microframework import App

app = App("msgs")


@app.route("/")
def index():
    return {"hello": "world"}


@app.lambda_function()
def job(event, context):
    return event
"""


def write_project(root: Path, source: str = APP, *, app_name: str = "msgs") -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    config = {"version": "1.0", "app_name": app_name, "stages": {"dev": {}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(source)
    return root


def fw(project: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), *args], obj={}, input=input)


def fw_main(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of the entry point, which turns errors into one line."""
    try:
        main(["--project-dir", str(project), *args])
    except SystemExit as exit_info:
        return int(exit_info.code or 0), capsys.readouterr().err
    return 0, capsys.readouterr().err


def test_deploy_announces_each_slow_step_on_its_own_line(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg==1.0")
    first = fw(project, "deploy")
    assert first.exit_code == 0, first.output
    steps = first.stderr.splitlines()
    assert steps[:5] == [
        "Packaging msgs (dev)",
        steps[1],
        "Compressing the dependencies (once per requirements.txt)",
        "Checking that the app imports from the package alone, as in Lambda",
        "Reading what stage 'dev' has in AWS (us-east-1)",
    ]
    assert steps[1].startswith("Installing requirements.txt for python3.")
    assert "Creating function msgs-dev-job" in steps
    # The dependencies are cached: neither pip nor the compression runs again.
    second = fw(project, "deploy")
    assert second.exit_code == 0, second.output
    assert not any(s.startswith(("Installing", "Compressing")) for s in second.stderr.splitlines())


def test_package_announces_pip(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg==1.0")
    result = fw(project, "package", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Installing requirements.txt for python3.")


@pytest.mark.parametrize(
    ("args", "prefix"),
    [
        pytest.param(["deploy"], "identifying the AWS account failed", id="deploy"),
        pytest.param(["deploy", "--dry-run"], "identifying the AWS account", id="dry-run"),
        pytest.param(["delete"], "reading ", id="delete"),
        pytest.param(["logs"], "reading logs of msgs-dev failed", id="logs"),
        pytest.param(
            ["invoke", "job", "--event", "event.json"],
            "invoking function msgs-dev-job failed",
            id="invoke",
        ),
    ],
)
def test_an_unreachable_endpoint_is_named_not_blamed_on_credentials(
    aws: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    prefix: str,
) -> None:
    project = write_project(tmp_path)
    assert fw(project, "deploy").exit_code == 0  # a record for delete, logs and invoke to read
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the retries would only make the test slow
    (tmp_path / "event.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    code, err = fw_main(project, *args, capsys=capsys)
    assert code == 1
    error = err.splitlines()[-1]
    assert error.startswith(f"Error: {prefix}"), err
    assert f"the AWS endpoint {closed} is unreachable (Connection refused)" in error
    assert error.endswith("check AWS_ENDPOINT_URL") and "credentials" not in error


def test_a_bad_aws_max_attempts_is_one_line(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "0")
    code, err = fw_main(write_project(tmp_path), "deploy", capsys=capsys)
    assert code == 1
    assert err.splitlines()[-1] == (
        "Error: AWS_MAX_ATTEMPTS must be a number greater than 0, not '0'"
    )


EVENTS_APP = """\
from microframework import App
from lib import db

app = App("msgs")


@app.on_sqs_message(queue="q")
def on_sqs(event):
    return [record.body for record in event]


@app.schedule("rate(1 hour)")
def tick(event):
    return {"rule": event.resources}


@app.lambda_function()
def job(event, context):
    return db.lookup(event)
"""


def events_project(root: Path, db: str = "def lookup(event):\n    return event['id']\n") -> Path:
    project = write_project(root, EVENTS_APP)
    (project / "lib").mkdir()
    (project / "lib" / "__init__.py").write_text("")
    (project / "lib" / "db.py").write_text(db)
    return project


def invoke_local(
    project: Path, name: str, event: object, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Exit status and stderr of ``fw invoke NAME --local`` with ``event``."""
    path = project.parent / "event.json"
    path.write_text(json.dumps(event))
    return fw_main(project, "invoke", name, "--local", "--event", str(path), capsys=capsys)


@pytest.mark.parametrize(
    ("db", "line"),
    [
        pytest.param(
            "X = 1\nimport no_such_module_here\n",
            "Error: lib/db.py:2: importing the app failed (imported from app.py:2):"
            " ModuleNotFoundError: No module named 'no_such_module_here'",
            id="missing-module",
        ),
        pytest.param(
            "def f():\n    return 1 / 0\n\n\nf()\n",
            "Error: lib/db.py:2: importing the app failed (imported from app.py:2):"
            " ZeroDivisionError: division by zero",
            id="raises",
        ),
        pytest.param(
            "X = (1\n", "Error: lib/db.py:1: syntax error: '(' was never closed", id="syntax"
        ),
    ],
)
def test_an_import_error_in_lib_points_at_the_lib_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: str, line: str
) -> None:
    project = events_project(tmp_path, db)
    code, err = invoke_local(project, "job", {"id": 1}, capsys)
    assert code == 1 and err.count("\n") == 1
    assert err.rstrip("\n") == f"{line} (run with --debug for the traceback)"
    # fw package (and so fw deploy) load the app the same way.
    code, err = fw_main(project, "package", str(tmp_path / "out"), capsys=capsys)
    assert code == 1 and err.rstrip("\n") == line


def test_a_failing_handler_shows_its_line_and_mentions_debug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = events_project(tmp_path)
    code, err = invoke_local(project, "job", {"name": "x"}, capsys)
    assert code == 1
    assert err == (
        "Error: lib/db.py:2: handler 'job' raised KeyError: 'id'"
        " (run with --debug for the traceback)\n"
    )


def test_an_event_of_the_wrong_kind_names_the_kind_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = events_project(tmp_path)
    schedule = json.loads(fw(project, "generate-event", "schedule").stdout)
    code, err = invoke_local(project, "on_sqs", schedule, capsys)
    assert code == 1
    assert err == (
        "Error: handler 'on_sqs' (@app.on_sqs_message) expects an SQS message batch, but the"
        " event is an EventBridge schedule event: try 'fw generate-event sqs | fw invoke on_sqs"
        " --local'\n"
    )
    code, err = invoke_local(project, "on_sqs", {"id": 1}, capsys)
    assert code == 1 and "but the event is an object with keys 'id':" in err


def test_a_handler_that_accepts_another_kind_of_event_runs_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = events_project(tmp_path)
    sqs = json.loads(fw(project, "generate-event", "sqs").stdout)
    code, err = invoke_local(project, "tick", sqs, capsys)
    assert code == 0
    assert err == (
        "Warning: handler 'tick' (@app.schedule) expects an EventBridge schedule event, but the"
        " event is an SQS message batch: try 'fw generate-event schedule | fw invoke tick"
        " --local'\n"
    )


def test_logs_with_no_events_says_so(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    assert fw(project, "deploy").exit_code == 0
    result = fw(project, "logs", "--since", "5m")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == "No log events from msgs-dev in the last 5m.\n"


def test_following_logs_says_once_that_there_are_none_yet(aws: str) -> None:
    from deployer.deploy.aws import create_context
    from deployer.logs import read_events

    said: list[str] = []
    events = read_events(
        create_context(),
        "msgs-dev",
        follow=True,
        sleep=lambda seconds: None,
        polls=3,
        on_none=lambda: said.append("none"),
    )
    assert list(events) == [] and said == ["none"]


ROUTELESS_APP = """\
from microframework import App

app = App("msgs")


@app.lambda_function()
def job(event, context):
    return event
"""


def test_dry_run_prints_the_url_only_of_an_api_that_will_exist(aws: str, tmp_path: Path) -> None:
    import boto3

    project = write_project(tmp_path)
    deployed = fw(project, "deploy")
    url = deployed.stdout.strip().removeprefix("Rest API URL: ")
    assert url.startswith("https://")
    unchanged = fw(project, "deploy", "--dry-run")
    assert unchanged.stdout == f"Rest API URL: {url}\n"
    # Removed from the app: the dry run deletes the API, so it has no URL to print.
    (project / "app.py").write_text(ROUTELESS_APP)
    no_routes = fw(project, "deploy", "--dry-run")
    assert "Would: Deleting REST API msgs-dev" in no_routes.stderr
    assert url not in no_routes.output
    # Deleted in AWS behind fw's back: the deploy would create a new API, at another URL.
    (project / "app.py").write_text(APP)
    client = boto3.client("apigateway")
    client.delete_rest_api(restApiId=client.get_rest_apis()["items"][0]["id"])
    recreated = fw(project, "deploy", "--dry-run")
    assert "Would: Creating REST API msgs-dev" in recreated.stderr
    assert url not in recreated.output and "Rest API URL" not in recreated.stdout


def test_delete_removes_the_stage_s_built_zips(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    assert fw(project, "deploy").exit_code == 0
    built = project / ".fw" / "deployments" / "dev"
    assert (built / "deployment.zip").is_file()
    dry = fw(project, "delete", "--dry-run")
    assert "Would: remove the stage's built packages (.fw/deployments/dev)" in dry.stderr
    assert built.is_dir()
    result = fw(project, "delete")
    assert result.exit_code == 0, result.output
    assert "Removing the stage's built packages (.fw/deployments/dev)" in result.stderr
    assert not built.exists() and (project / ".fw" / "config.json").is_file()


@pytest.mark.parametrize("group", [[], ["generate-event"]], ids=["fw", "generate-event"])
def test_help_lists_every_command_with_its_whole_summary(group: list[str]) -> None:
    import click

    result = CliRunner().invoke(cli, [*group, "--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = " ".join(result.output.partition("Commands:")[2].split())
    ctx = click.Context(cli)
    command = cli.get_command(ctx, group[0]) if group else cli
    assert isinstance(command, click.Group)
    names = command.list_commands(ctx)
    assert len(names) > 3 and "..." not in listing
    for name in names:
        sub = command.get_command(ctx, name)
        assert sub is not None and sub.help
        first_sentence = sub.help.split(". ")[0].split("\n\n")[0]
        assert " ".join(f"{name} {first_sentence}".split()) in listing


class BusyLambda:
    """Lambda's answer while an update is still applying, for the first ``times`` reads.

    moto applies updates at once; Lambda applies them asynchronously ("Lambda function states":
    LastUpdateStatus InProgress until the update finishes), which is what fw waits out.
    """

    def __init__(self, times: int) -> None:
        import threading

        self.times = times
        self._lock = threading.Lock()  # steps read from several threads

    def __call__(self, parsed: dict, **kwargs: object) -> None:
        with self._lock:
            busy, self.times = self.times > 0, max(0, self.times - 1)
        if busy:
            parsed["LastUpdateStatus"] = "InProgress"


def _redeploy_big_and_busy(project: Path, workers: int) -> list[str]:
    """Redeploy ``project`` with a 1.5 MB zip and a new memory size while Lambda answers
    "still updating" to the first two reads; the deploy's lines."""
    import os

    import boto3

    from deployer.deploy.run import deploy

    (project / "vendor").mkdir()
    (project / "vendor" / "blob.bin").write_bytes(os.urandom(1536 * 1024))  # incompressible
    config = json.loads((project / ".fw" / "config.json").read_text())
    config["stages"]["dev"]["lambda_memory_size"] = 256
    (project / ".fw" / "config.json").write_text(json.dumps(config))
    session = boto3.Session()
    session.events.register("after-call.lambda.GetFunctionConfiguration", BusyLambda(times=2))
    lines: list[str] = []
    deploy(
        project,
        "dev",
        session=session,
        report=lines.append,
        sleep=lambda seconds: None,
        workers=workers,
    )
    return lines


def test_a_big_upload_and_the_wait_for_lambda_are_announced(aws: str, tmp_path: Path) -> None:
    # One step at a time: the first function's configuration update is the one that waits.
    from deployer.deploy.run import deploy

    project = write_project(tmp_path)
    deploy(project, "dev")
    lines = _redeploy_big_and_busy(project, workers=1)
    uploads = [line for line in lines if line.startswith("  uploading deployment.zip (")]
    assert uploads and all(line.endswith(" MB)") for line in uploads)
    waits = [line for line in lines if line.startswith("  waiting for Lambda")]
    assert waits == ["  waiting for Lambda to finish updating function msgs-dev"]


def test_concurrent_steps_print_their_upload_and_wait_lines_under_their_own_step(
    aws: str, tmp_path: Path
) -> None:
    from deployer.deploy.run import deploy

    project = write_project(tmp_path)
    deploy(project, "dev")
    lines = _redeploy_big_and_busy(project, workers=8)
    uploads = [i for i, line in enumerate(lines) if line.startswith("  uploading deployment.zip")]
    assert len(uploads) == 2  # both functions' code
    for i in uploads:
        assert lines[i - 1].startswith("Updating code of function msgs-dev")
    waits = [i for i, line in enumerate(lines) if line.startswith("  waiting for Lambda")]
    assert waits and len({lines[i] for i in waits}) == len(waits)  # each function waits once
    for i in waits:
        function = lines[i].rsplit(" ", 1)[1]
        assert lines[i - 1].startswith(f"Updating configuration of function {function} (")
