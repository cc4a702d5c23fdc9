"""``fw deploy`` against a real moto server: every resource, then incremental redeploys."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from _dists import make_wheel, write_requirements
from click.testing import CliRunner

from cli.main import cli, main
from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import delete, deploy
from deployer.errors import DeployError

# Six times fw's default 60 s function timeout, as Lambda advises for an SQS trigger (a
# queue's default 30 s is refused: see deployer/deploy/planner.py).
VISIBLE = {"VisibilityTimeout": "360"}

ACCOUNT = "123456789012"
REGION = "us-east-1"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"

EVENTS_APP = """\
from microframework import App, Rate

app = App("shop")


@app.route("/")
def index():
    return {"ok": True}


@app.authorizer()
def gate(auth_request):
    return None


@app.route("/items/{id}", methods=["GET", "PUT"], authorizer=gate)
def item(id):
    return {"id": id}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def tick(event):
    pass


@app.on_cw_event({"source": ["aws.ec2"]})
def ec2(event):
    pass


@app.on_s3_event(bucket="uploads", prefix="in/", suffix=".csv")
def uploaded(event):
    pass


@app.on_sns_message(topic="alerts")
def alert(event):
    pass


@app.on_sqs_message(queue="jobs", batch_size=5)
def work(event):
    pass
"""

CONFIG = {
    "version": "1.0",
    "app_name": "shop",
    "environment_variables": {"MODE": "test"},
    "stages": {
        "dev": {
            "api_gateway_stage": "api",
            "lambda_functions": {"work": {"lambda_memory_size": 256, "lambda_timeout": 30}},
        }
    },
}


class CallLog:
    """A botocore before-call hook recording every operation a deploy makes."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs["model"].name)

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if is_write_operation(c)]


def write_project(root: Path, source: str = EVENTS_APP, config: dict | None = None) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    (root / ".fw" / "config.json").write_text(json.dumps(config or CONFIG))
    (root / "app.py").write_text(source)
    return root


def make_event_sources() -> None:
    """The bucket (with someone else's notification), topic and queue the app subscribes to."""
    boto3.client("sqs").create_queue(QueueName="jobs", Attributes=VISIBLE)
    boto3.client("sns").create_topic(Name="alerts")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_notification_configuration(
        Bucket="uploads",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "audit",
                    "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs",
                    "Events": ["s3:ObjectRemoved:*"],
                }
            ]
        },
    )


def no_sleep(seconds: float) -> None:
    pass


def test_full_deploy_creates_every_resource(aws: str, tmp_path: Path) -> None:
    make_event_sources()
    result = deploy(write_project(tmp_path), "dev", sleep=no_sleep)

    iam = boto3.client("iam")
    role = iam.get_role(RoleName="shop-dev")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    policy = iam.get_role_policy(RoleName="shop-dev", PolicyName="shop-dev")["PolicyDocument"]
    assert "logs:PutLogEvents" in policy["Statement"][0]["Action"]

    lam = boto3.client("lambda")
    names = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
    assert names == ["shop-dev", *(f"shop-dev-{n}" for n in sorted(
        ["tick", "ec2", "uploaded", "alert", "work", "gate"]))]  # fmt: skip
    api_fn = lam.get_function_configuration(FunctionName="shop-dev")
    assert api_fn["Handler"] == "app.app" and api_fn["Role"] == role["Arn"]
    assert api_fn["Environment"]["Variables"] == {"MODE": "test"}
    work = lam.get_function_configuration(FunctionName="shop-dev-work")
    assert (work["Handler"], work["MemorySize"], work["Timeout"]) == ("app.work", 256, 30)

    apigw = boto3.client("apigateway")
    (api,) = apigw.get_rest_apis()["items"]
    assert api["name"] == "shop-dev"
    resources = {r["path"]: r for r in apigw.get_resources(restApiId=api["id"])["items"]}
    assert {"/", "/items/{id}"} <= set(resources)
    assert set(resources["/items/{id}"]["resourceMethods"]) == {"GET", "PUT"}
    assert apigw.get_stage(restApiId=api["id"], stageName="api")["deploymentId"]
    assert result.url == f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/api/"
    for name in ("shop-dev", "shop-dev-gate"):  # the handler and the built-in authorizer
        statement = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][0]
        assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api['id']}/*"
        )
    gate = lam.get_function_configuration(FunctionName="shop-dev-gate")
    assert gate["Handler"] == "app.gate"

    events = boto3.client("events")
    assert events.describe_rule(Name="shop-dev-tick")["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(events.describe_rule(Name="shop-dev-ec2")["EventPattern"]) == {
        "source": ["aws.ec2"]
    }
    (target,) = events.list_targets_by_rule(Rule="shop-dev-tick")["Targets"]
    assert target["Arn"].endswith(":function:shop-dev-tick")

    notification = boto3.client("s3").get_bucket_notification_configuration(Bucket="uploads")
    assert [q["Id"] for q in notification["QueueConfigurations"]] == ["audit"]  # kept
    (ours,) = notification["LambdaFunctionConfigurations"]
    assert ours["LambdaFunctionArn"].endswith(":function:shop-dev-uploaded")
    assert ours["Filter"]["Key"]["FilterRules"] == [
        {"Name": "prefix", "Value": "in/"},
        {"Name": "suffix", "Value": ".csv"},
    ]

    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    (sub,) = boto3.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("lambda", f"{work['FunctionArn'][:-4]}alert")

    (mapping,) = lam.list_event_source_mappings(FunctionName="shop-dev-work")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
    assert mapping["BatchSize"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_redeploys_change_only_what_changed(aws: str, tmp_path: Path) -> None:
    make_event_sources()
    project = write_project(tmp_path)
    deploy(project, "dev", sleep=no_sleep)

    unchanged = CallLog()
    result = deploy(project, "dev", on_call=unchanged, sleep=no_sleep)
    assert unchanged.writes == [] and result.actions == ()
    assert unchanged.calls  # it did read

    (project / "app.py").write_text(EVENTS_APP + "\n# a code change\n")
    code_change = CallLog()
    deploy(project, "dev", on_call=code_change, sleep=no_sleep)
    assert code_change.writes == ["UpdateFunctionCode"] * 7

    without_tick = EVENTS_APP.replace(
        "@app.schedule(Rate(5, unit=Rate.MINUTES))\ndef tick(event):\n    pass\n", ""
    )
    (project / "app.py").write_text(without_tick)
    removal = CallLog()
    deploy(project, "dev", on_call=removal, sleep=no_sleep)
    assert {"RemoveTargets", "DeleteRule", "DeleteFunction"} <= set(removal.writes)
    assert removal.writes.count("DeleteFunction") == 1
    names = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert "shop-dev-tick" not in names and len(names) == 6
    assert [r["Name"] for r in boto3.client("events").list_rules()["Rules"]] == ["shop-dev-ec2"]
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert not any("tick" in key for key in record["resources"])


def test_config_change_updates_configuration_only(aws: str, tmp_path: Path) -> None:
    source = 'from microframework import App\napp = App("cfg")\n\n@app.lambda_function()\ndef job(event, context):\n    return 1\n'
    config = {"version": "1.0", "app_name": "cfg", "stages": {"dev": {}}}
    project = write_project(tmp_path, source, config)
    deploy(project, "dev", sleep=no_sleep)
    config["stages"]["dev"] = {"lambda_timeout": 120, "tags": {"team": "data"}}
    write_project(tmp_path, source, config)
    log = CallLog()
    deploy(project, "dev", on_call=log, sleep=no_sleep)
    assert log.writes == ["UpdateFunctionConfiguration", "TagResource"]
    fn = boto3.client("lambda").get_function(FunctionName="cfg-dev-job")
    assert fn["Configuration"]["Timeout"] == 120 and fn["Tags"]["team"] == "data"


def test_sample_app_through_the_cli_with_json(aws: str, tmp_path: Path) -> None:
    project = tmp_path / "hello"
    shutil.copytree(SAMPLES / "hello", project, ignore=shutil.ignore_patterns(".fw", "__pycache__"))
    shutil.copytree(
        SAMPLES / "hello" / ".fw",
        project / ".fw",
        ignore=shutil.ignore_patterns("deployed", "deployments", "cache"),
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["--project-dir", str(project), "deploy", "--json"], obj={})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    (api,) = boto3.client("apigateway").get_rest_apis()["items"]
    assert summary["url"] == f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/api/"
    assert "Creating function hello-dev" in summary["actions"]
    assert set(summary["resources"]) == {
        "role:hello-dev",
        "function:hello-dev",
        "rest_api:hello-dev",
    }
    assert "Creating IAM role hello-dev" in result.stderr  # progress goes to stderr

    url = runner.invoke(cli, ["--project-dir", str(project), "url"], obj={})
    assert url.stdout.strip() == summary["url"]


def test_dry_run_prints_the_plan_and_writes_nothing(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path)
    make_event_sources()
    log = CallLog()
    lines: list[str] = []
    result = deploy(project, "dev", dry_run=True, on_call=log, report=lines.append)
    assert log.writes == []
    assert "Would: Creating IAM role shop-dev" in lines
    assert "Would: Creating REST API shop-dev" in lines
    assert result.url is None and not (project / ".fw" / "deployed" / "dev.json").exists()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        pytest.param("--profile", "nope", "Error: AWS profile 'nope' not found", id="profile"),
        pytest.param("--region", "xx-nowhere-1", "Error: unknown AWS region", id="region"),
    ],
)
def test_bad_profile_or_region_is_one_line(
    aws: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    value: str,
    message: str,
) -> None:
    project = write_project(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-dir", str(project), "deploy", flag, value])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err and err.count("\n") == 1


TWO_JOBS = """\
from microframework import App
app = App("cfg")


@app.lambda_function()
def job(event, context):
    return 1


@app.lambda_function()
def other(event, context):
    return 2
"""


def test_removed_handler_takes_its_log_group_along(aws: str, tmp_path: Path) -> None:
    config = {"version": "1.0", "app_name": "cfg", "stages": {"dev": {}}}
    config["stages"]["dev"]["lambda_functions"] = {"job": {"log_retention_in_days": 14}}
    project = write_project(tmp_path, TWO_JOBS, config)
    deploy(project, "dev", sleep=no_sleep)
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/cfg-dev-other")  # as Lambda would
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/cfg-dev-job")["logGroups"]
    assert group["retentionInDays"] == 14
    without_job = "@app.lambda_function()\ndef job(event, context):\n    return 1\n"
    (project / "app.py").write_text(TWO_JOBS.replace(without_job, ""))
    log = CallLog()
    deploy(project, "dev", on_call=log, sleep=no_sleep)
    assert log.writes == ["UpdateFunctionCode", "DeleteFunction", "DeleteLogGroup"]
    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert names == ["/aws/lambda/cfg-dev-other"]


def test_endpoint_type_change_applies_to_the_deployed_api(aws: str, tmp_path: Path) -> None:
    source = 'from microframework import App\napp = App("ep")\n\n@app.route("/")\ndef i():\n    return {}\n'
    config: dict[str, Any] = {"version": "1.0", "app_name": "ep", "stages": {"dev": {}}}
    project = write_project(tmp_path, source, config)
    deploy(project, "dev", sleep=no_sleep)
    apigw = boto3.client("apigateway")
    (api,) = apigw.get_rest_apis()["items"]
    assert api["endpointConfiguration"]["types"] == ["EDGE"]
    config["stages"]["dev"]["api_gateway_endpoint_type"] = "REGIONAL"
    write_project(tmp_path, source, config)
    log = CallLog()
    result = deploy(project, "dev", on_call=log, sleep=no_sleep)
    assert log.writes == ["UpdateRestApi", "PutRestApi", "CreateDeployment"]
    assert (
        result.actions[0] == "Changing the endpoint type of REST API ep-dev from EDGE to REGIONAL"
    )
    types = apigw.get_rest_api(restApiId=api["id"])["endpointConfiguration"]["types"]
    assert types == ["REGIONAL"]
    again = CallLog()
    deploy(project, "dev", on_call=again, sleep=no_sleep)
    assert again.writes == []


LAYERED = """\
from microframework import App
app = App("lay")


@app.route("/")
def index():
    return {}


@app.lambda_function()
def job(event, context):
    return 1
"""


def test_automatic_layer_publishes_updates_and_deletes_versions(aws: str, tmp_path: Path) -> None:
    config = {"version": "1.0", "app_name": "lay", "automatic_layer": True, "stages": {"dev": {}}}
    project = write_project(tmp_path, LAYERED, config)
    make_wheel(project / "wheels", "tinydep", "1.0")
    write_requirements(project, "tinydep==1.0")  # --no-index --find-links wheels: offline
    deploy(project, "dev", sleep=no_sleep)
    lam = boto3.client("lambda")
    layer = "lay-dev-managed-layer"
    (v1,) = lam.list_layer_versions(LayerName=layer)["LayerVersions"]
    for name in ("lay-dev", "lay-dev-job"):
        layers = lam.get_function_configuration(FunctionName=name)["Layers"]
        assert [x["Arn"] for x in layers] == [v1["LayerVersionArn"]]

    unchanged = CallLog()
    assert deploy(project, "dev", on_call=unchanged, sleep=no_sleep).actions == ()
    assert unchanged.writes == []

    make_wheel(project / "wheels", "tinydep", "2.0")
    write_requirements(project, "tinydep==2.0")
    changed = CallLog()
    deploy(project, "dev", on_call=changed, sleep=no_sleep)
    assert changed.writes == ["PublishLayerVersion"] + ["UpdateFunctionConfiguration"] * 2
    v2 = lam.list_layer_versions(LayerName=layer)["LayerVersions"][0]
    assert v2["Version"] == 2
    for name in ("lay-dev", "lay-dev-job"):
        layers = lam.get_function_configuration(FunctionName=name)["Layers"]
        assert [x["Arn"] for x in layers] == [v2["LayerVersionArn"]]

    # Same pure-Python zip, but the version must be published for the new architecture.
    config["architecture"] = "arm64"
    write_project(tmp_path, LAYERED, config)
    arm = CallLog()
    deploy(project, "dev", on_call=arm, sleep=no_sleep)
    assert arm.writes.count("PublishLayerVersion") == 1
    v3 = lam.list_layer_versions(LayerName=layer)["LayerVersions"][0]
    assert (v3["Version"], v3["CompatibleArchitectures"]) == (3, ["arm64"])

    lines: list[str] = []
    delete(project, "dev", report=lines.append)
    assert "Deleting layer lay-dev-managed-layer (versions 1, 2, 3)" in lines
    assert lam.list_layer_versions(LayerName=layer)["LayerVersions"] == []


def test_deploying_a_stage_to_another_region_is_refused(aws: str, tmp_path: Path) -> None:
    source = 'from microframework import App\napp = App("reg")\n\n@app.lambda_function()\ndef job(event, context):\n    return 1\n'
    config = {"version": "1.0", "app_name": "reg", "stages": {"dev": {}}}
    project = write_project(tmp_path, source, config)
    deploy(project, "dev", sleep=no_sleep)
    log = CallLog()
    # Otherwise the plan would forget the us-east-1 functions and wiring, which nothing deletes.
    with pytest.raises(DeployError) as info:
        deploy(project, "dev", region="eu-west-1", on_call=log, sleep=no_sleep)
    assert str(info.value) == (
        "stage 'dev' is deployed in region 'us-east-1', not 'eu-west-1'; deploy it with"
        " --region us-east-1, or run 'fw delete --stage dev' first to move it"
    )
    assert log.writes == []
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert record["region"] == "us-east-1" and "function:reg-dev-job" in record["resources"]


def test_app_reading_its_stage_environment_at_import_deploys(aws: str, tmp_path: Path) -> None:
    source = (
        'import os\nfrom microframework import App\napp = App("envy")\n'
        'TABLE = os.environ["TABLE_NAME"]\n'
        'assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"\n'
        '\n@app.route("/")\ndef index():\n    return {}\n'
    )
    config = {
        "version": "1.0",
        "app_name": "envy",
        "environment_variables": {"TABLE_NAME": "items"},
        "stages": {"dev": {}},
    }
    project = write_project(tmp_path, source, config)
    # Imported as Lambda imports it: with the stage's variables and the function's region.
    deploy(project, "dev", region="eu-west-1", sleep=no_sleep)
    lam = boto3.client("lambda", region_name="eu-west-1")
    env = lam.get_function_configuration(FunctionName="envy-dev")["Environment"]["Variables"]
    assert env == {"TABLE_NAME": "items"}
    assert "TABLE_NAME" not in os.environ and os.environ["AWS_REGION"] == "us-east-1"
