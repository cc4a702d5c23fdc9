"""Deploys that fail halfway, then recover with no duplicates, then delete to nothing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from signal import SIGINT
from typing import Any

import boto3
import botocore.exceptions
import pytest

from cli.main import main
from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import delete, deploy
from deployer.errors import DeployError

# Six times fw's default 60 s function timeout, as Lambda advises for an SQS trigger (a
# queue's default 30 s is refused: see deployer/deploy/planner.py).
VISIBLE = {"VisibilityTimeout": "360"}

REGION = "us-east-1"
ACCOUNT = "123456789012"

APP = """\
from microframework import App, Rate

app = App("fault")


@app.route("/")
def index():
    return {}


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    pass


@app.on_s3_event(bucket="drop")
def dropped(event):
    pass


@app.on_sns_message(topic="news")
def news(event):
    pass


@app.on_sqs_message(queue="tasks")
def task(event):
    pass
"""


class FailOn:
    """A before-call hook that fails the ``occurrence``-th call of ``operation`` (or the Nth
    write of any kind when ``operation`` is None), the way AWS would: with a ClientError."""

    def __init__(self, operation: str | None, occurrence: int = 1) -> None:
        self.operation = operation
        self.occurrence = occurrence
        self.seen = 0

    def __call__(self, **kwargs: Any) -> None:
        name = kwargs["model"].name
        matches = name == self.operation if self.operation else is_write_operation(name)
        if matches:
            self.seen += 1
            if self.seen == self.occurrence:
                error = {"Error": {"Code": "ServiceUnavailable", "Message": "injected outage"}}
                raise botocore.exceptions.ClientError(error, name)


def write_project(root: Path, source: str = APP, stage: dict[str, Any] | None = None) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    config = {"version": "1.0", "app_name": "fault", "stages": {"dev": stage or {}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(source)
    return root


def make_sources(bucket: bool = True) -> None:
    boto3.client("sns").create_topic(Name="news")
    boto3.client("sqs").create_queue(QueueName="tasks", Attributes=VISIBLE)
    if bucket:
        boto3.client("s3").create_bucket(Bucket="drop")


def assert_nothing_left() -> None:
    lam = boto3.client("lambda")
    assert lam.list_functions()["Functions"] == []
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("apigateway").get_rest_apis()["items"] == []
    assert boto3.client("events").list_rules()["Rules"] == []
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:news"
    assert boto3.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    if "drop" in buckets:
        config = boto3.client("s3").get_bucket_notification_configuration(Bucket="drop")
        assert "LambdaFunctionConfigurations" not in config


def no_sleep(seconds: float) -> None:
    pass


@pytest.mark.parametrize(
    ("operation", "occurrence"),
    [
        pytest.param("CreateFunction", 3, id="third-function"),
        pytest.param("PutRestApi", 1, id="after-create-rest-api"),
        pytest.param("CreateDeployment", 1, id="before-stage-deployment"),
        pytest.param(None, 14, id="14th-write"),
    ],
)
def test_failure_mid_deploy_then_recover_then_delete(
    aws: str, tmp_path: Path, operation: str | None, occurrence: int
) -> None:
    make_sources()
    project = write_project(tmp_path)
    with pytest.raises(DeployError, match=r"failed \(\w+\): ServiceUnavailable: injected outage"):
        deploy(project, "dev", on_call=FailOn(operation, occurrence), sleep=no_sleep)
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert "role:fault-dev" in record["resources"]  # recorded as soon as it existed

    deploy(project, "dev", sleep=no_sleep)
    functions = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert sorted(functions) == sorted(
        ["fault-dev", "fault-dev-hourly", "fault-dev-dropped", "fault-dev-news", "fault-dev-task"]
    )
    assert len(boto3.client("apigateway").get_rest_apis()["items"]) == 1
    assert len(boto3.client("iam").list_roles()["Roles"]) == 1
    (api,) = boto3.client("apigateway").get_rest_apis()["items"]
    assert boto3.client("apigateway").get_stage(restApiId=api["id"], stageName="api")

    delete(project, "dev")
    assert_nothing_left()
    assert not (project / ".fw" / "deployed" / "dev.json").exists()


def test_missing_bucket_is_refused_before_any_write_then_deploys(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plan cannot succeed, so nothing is made (before, the role, functions and API were
    # created and the deploy stopped at the S3 notification).
    make_sources(bucket=False)
    project = write_project(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-dir", str(project), "deploy"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        "  S3 bucket 'drop' (fault-dev-dropped): aws s3 mb s3://drop --region us-east-1"
    )
    assert "Traceback" not in err
    assert_nothing_left()
    assert not (project / ".fw" / "deployed" / "dev.json").exists()

    boto3.client("s3").create_bucket(Bucket="drop")
    result = deploy(project, "dev", sleep=no_sleep)
    assert any(a.startswith("Putting S3 notification") for a in result.actions)
    delete(project, "dev")
    assert_nothing_left()


def test_lost_record_adopts_existing_resources(aws: str, tmp_path: Path) -> None:
    make_sources()
    project = write_project(tmp_path)
    deploy(project, "dev", sleep=no_sleep)
    (project / ".fw" / "deployed" / "dev.json").unlink()
    result = deploy(project, "dev", sleep=no_sleep)
    assert all(a.startswith("Recording existing") for a in result.actions)
    assert len(boto3.client("apigateway").get_rest_apis()["items"]) == 1
    delete(project, "dev")
    assert_nothing_left()


# One step at a time, the plan's order decides which step a hook or a Ctrl-C lands in; with
# the pool (fw's default), several steps run at once and the same faults must end as cleanly.
ONE_AT_A_TIME_AND_CONCURRENT = pytest.mark.parametrize(
    "workers", [pytest.param(1, id="one-at-a-time"), pytest.param(8, id="concurrent")]
)


@ONE_AT_A_TIME_AND_CONCURRENT
def test_log_group_made_before_a_failed_retention_call_is_still_deleted(
    aws: str, tmp_path: Path, workers: int
) -> None:
    make_sources()
    project = write_project(tmp_path, stage={"log_retention_in_days": 3})
    with pytest.raises(DeployError) as info:
        deploy(project, "dev", on_call=FailOn("PutRetentionPolicy"), sleep=no_sleep,
               workers=workers)  # fmt: skip
    failed = re.match(r"setting log retention of function (\S+) to 3 days failed", str(info.value))
    assert failed is not None, str(info.value)
    if workers == 1:
        assert failed[1] == "fault-dev"  # the first in plan order
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert f"log_group:/aws/lambda/{failed[1]}" in record["resources"]

    deploy(project, "dev", sleep=no_sleep)
    logs = boto3.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/fault-dev")["logGroups"]
    assert len(groups) == 5 and {g["retentionInDays"] for g in groups} == {3}
    delete(project, "dev")
    assert_nothing_left()
    assert logs.describe_log_groups()["logGroups"] == []


SMALL = """\
from microframework import App

app = App("fault")


@app.route("/")
def index():
    return {}


@app.lambda_function()
def job(event, context):
    return 1
"""


def test_failed_deploy_to_another_region_is_deleted_there(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path, SMALL)
    with pytest.raises(DeployError, match="injected outage"):
        deploy(project, "dev", region="eu-west-1", on_call=FailOn("PutRestApi"), sleep=no_sleep)
    eu_lambda = boto3.client("lambda", region_name="eu-west-1")
    assert len(eu_lambda.list_functions()["Functions"]) == 2

    delete(project, "dev")  # no --region: the record knows where the stage lives
    assert eu_lambda.list_functions()["Functions"] == []
    assert boto3.client("apigateway", region_name="eu-west-1").get_rest_apis()["items"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []


class Unreachable:
    """Fails every call of ``operation`` as botocore does when the endpoint cannot be reached."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name == self.operation:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://aws.invalid")


@pytest.mark.parametrize(
    ("hook", "line"),
    [
        pytest.param(
            FailOn("GetRestApis"),
            "reading REST API 'fault-dev' failed (GetRestApis): ServiceUnavailable: injected outage",
            id="api-by-name",
        ),
        pytest.param(
            Unreachable("ListSubscriptionsByTopic"),
            "reading topic 'arn:aws:sns:us-east-1:123456789012:news' subscriptions failed:"
            " the AWS endpoint http://aws.invalid is unreachable (no connection);"
            " check AWS_ENDPOINT_URL",
            id="sns-unreachable",
        ),
        pytest.param(
            Unreachable("ListEventSourceMappings"),
            "reading event source mappings of 'fault-dev-task' failed:"
            " the AWS endpoint http://aws.invalid is unreachable (no connection);"
            " check AWS_ENDPOINT_URL",
            id="mappings-unreachable",
        ),
    ],
)
def test_failed_read_is_one_line_naming_what_was_read(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], hook: Any, line: str
) -> None:
    make_sources()
    project = write_project(tmp_path)
    with pytest.raises(DeployError) as info:
        deploy(project, "dev", on_call=hook, sleep=no_sleep)
    assert str(info.value) == line
    assert boto3.client("lambda").list_functions()["Functions"] == []  # nothing was changed


class CrashAfter:
    """An after-call hook: ``operation`` succeeds in AWS, then the deploy dies before it can
    record what was made (as a killed process or a lost connection would)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.done = False

    def register(self, session: boto3.Session) -> boto3.Session:
        session.events.register("after-call", self)
        return session

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name == self.operation and not self.done:
            self.done = True
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    "operation",
    [
        "CreateRole", "CreateFunction", "CreateLogGroup", "CreateRestApi", "PutRule",
        "PutBucketNotificationConfiguration", "Subscribe", "CreateEventSourceMapping",
    ],
)  # fmt: skip
def test_crash_between_a_create_and_its_record_adopts_it_once(
    aws: str, tmp_path: Path, operation: str
) -> None:
    make_sources()
    project = write_project(tmp_path, stage={"log_retention_in_days": 3})
    session = CrashAfter(operation).register(boto3.Session())
    with pytest.raises(KeyboardInterrupt):
        deploy(project, "dev", session=session, sleep=no_sleep)

    deploy(project, "dev", sleep=no_sleep)
    again = deploy(project, "dev", sleep=no_sleep)
    assert again.actions == ()
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 5
    assert len(boto3.client("apigateway").get_rest_apis()["items"]) == 1
    assert len(boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]) == 1
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:news"
    assert (
        len(boto3.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 1
    )
    delete(project, "dev")
    assert_nothing_left()
    assert boto3.client("logs").describe_log_groups()["logGroups"] == []


class InterruptBefore:
    """A before-call hook: Ctrl-C lands as the ``occurrence``-th ``operation`` call is about to
    be sent. ``signal=True`` sends a real SIGINT (the user's first Ctrl-C); otherwise the hook
    raises KeyboardInterrupt itself (a second Ctrl-C, which stops at once)."""

    def __init__(self, operation: str, occurrence: int = 1, *, signal: bool = False) -> None:
        self.operation = operation
        self.occurrence = occurrence
        self.signal = signal
        self.seen = 0

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name != self.operation:
            return
        self.seen += 1
        if self.seen == self.occurrence:
            if self.signal:
                os.kill(os.getpid(), SIGINT)
            else:
                raise KeyboardInterrupt


def recorded(project: Path) -> dict[str, Any]:
    return json.loads((project / ".fw" / "deployed" / "dev.json").read_text())["resources"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main([*args])
        raise SystemExit(0)
    return info.value.code or 0, capsys.readouterr().err


@ONE_AT_A_TIME_AND_CONCURRENT
def test_ctrl_c_finishes_the_running_create_records_it_and_stops(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    make_sources()
    project = write_project(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        # The signal arrives while the second function is being created.
        deploy(project, "dev", on_call=InterruptBefore("CreateFunction", 2, signal=True),
               sleep=no_sleep, report=print, workers=workers)  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert "Stopping after this step, once it is recorded (Ctrl-C again to stop now)" in out
    assert out[-1].startswith("Interrupted before ") and "run the same command again" in out[-1]
    made = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    # Concurrently, the creates already running when the signal came finish too.
    assert len(made) == 2 if workers == 1 else len(made) >= 2
    assert sorted(v["name"] for v in recorded(project).values() if v["kind"] == "function") == (
        sorted(made)
    )
    assert list((project / ".fw" / "deployed").glob("*.tmp")) == []
    # `fw delete` straight away removes everything: nothing was made without being recorded.
    assert run_cli(capsys, "--project-dir", str(project), "delete")[0] == 0
    assert_nothing_left()


@ONE_AT_A_TIME_AND_CONCURRENT
def test_second_ctrl_c_mid_deploy_then_deploy_finishes_and_delete_empties(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    make_sources()
    project = write_project(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        deploy(project, "dev", on_call=InterruptBefore("CreateFunction", 3), sleep=no_sleep,
               workers=workers)  # fmt: skip
    functions = {v["name"] for v in recorded(project).values() if v["kind"] == "function"}
    made = {f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]}
    assert functions == made and "role:fault-dev" in recorded(project)
    # The interrupted create never reached AWS; concurrently, the others running finished.
    assert len(functions) == 2 if workers == 1 else 2 <= len(functions) < 5

    code, err = run_cli(capsys, "--project-dir", str(project), "deploy")
    assert code == 0, err
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 5
    assert deploy(project, "dev", sleep=no_sleep).actions == ()
    delete(project, "dev")
    assert_nothing_left()


@ONE_AT_A_TIME_AND_CONCURRENT
def test_ctrl_c_mid_delete_keeps_the_rest_recorded_and_delete_again_finishes(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    make_sources()
    project = write_project(tmp_path)
    deploy(project, "dev", sleep=no_sleep)
    with pytest.raises(KeyboardInterrupt):
        delete(project, "dev", on_call=InterruptBefore("DeleteFunction", 2, signal=True),
               workers=workers)  # fmt: skip
    left = {v["name"] for v in recorded(project).values() if v["kind"] == "function"}
    remaining = {f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]}
    assert left == remaining
    if workers == 1:
        assert len(remaining) == 3  # one more deleted after the Ctrl-C
    assert "role:fault-dev" in recorded(project)  # the role waits for every function

    code, err = run_cli(capsys, "--project-dir", str(project), "delete")
    assert code == 0, err
    assert_nothing_left()
    assert not (project / ".fw" / "deployed" / "dev.json").exists()


class LambdaStillUpdating:
    """Lambda as a deploy stopped right after an update call leaves it: ``LastUpdateStatus``
    InProgress for the next ``reads`` status reads, and until then another update refused with
    ResourceConflictException ("Lambda function states"; "Lambda: UpdateFunctionConfiguration":
    while an update is in progress "you can't modify the function"). moto applies updates at
    once, so the hooks play Lambda's part."""

    def __init__(self, reads: int) -> None:
        self.reads = reads

    def register(self, session: boto3.Session) -> None:
        events = session.events
        events.register("after-call.lambda.GetFunction", self._function_read)
        events.register("after-call.lambda.GetFunctionConfiguration", self._status_read)
        for name in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            events.register(f"before-call.lambda.{name}", self._update)

    def _function_read(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        if self.reads > 0 and "Configuration" in parsed:
            parsed["Configuration"]["LastUpdateStatus"] = "InProgress"

    def _status_read(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        if self.reads > 0:
            self.reads -= 1
            parsed["LastUpdateStatus"] = "InProgress"

    def _update(self, model: Any, **kwargs: Any) -> None:
        if self.reads > 0:
            error = {"Error": {"Code": "ResourceConflictException", "Message": "in progress"}}
            raise botocore.exceptions.ClientError(error, model.name)


def test_a_deploy_after_one_cut_short_mid_update_waits_for_lambda(aws: str, tmp_path: Path) -> None:
    source = 'from microframework import App\n\napp = App("fault")\n\n\n@app.route("/")\ndef index():\n    return {}\n'
    project = write_project(tmp_path, source)
    deploy(project, "dev", sleep=no_sleep)
    write_project(tmp_path, source + "# changed\n", {"lambda_memory_size": 256})
    session = boto3.Session()
    LambdaStillUpdating(reads=2).register(session)
    lines: list[str] = []
    deploy(project, "dev", session=session, report=lines.append, sleep=no_sleep)
    config = boto3.client("lambda").get_function_configuration(FunctionName="fault-dev")
    assert config["MemorySize"] == 256
    assert lines.count("  waiting for Lambda to finish updating function fault-dev") == 1
    assert lines.index("Updating code of function fault-dev") < lines.index(
        "  waiting for Lambda to finish updating function fault-dev"
    )
