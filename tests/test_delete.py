"""``fw delete`` against moto: everything in the record goes, in order; twice is harmless."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from click.testing import CliRunner

from cli.main import cli
from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import delete, deploy

# Six times fw's default 60 s function timeout, as Lambda advises for an SQS trigger (a
# queue's default 30 s is refused: see deployer/deploy/planner.py).
VISIBLE = {"VisibilityTimeout": "360"}

APP = """\
from microframework import App, Rate

app = App("gone")


@app.route("/")
def index():
    return {}


@app.schedule(Rate(1, unit=Rate.DAYS))
def daily(event):
    pass


@app.on_sqs_message(queue="q")
def consume(event):
    pass
"""


def write_project(root: Path, stage: dict[str, Any] | None = None) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    config = {"version": "1.0", "app_name": "gone", "stages": {"dev": stage or {}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(APP)
    return root


def deployed_project(root: Path, stage: dict[str, Any] | None = None) -> Path:
    boto3.client("sqs").create_queue(QueueName="q", Attributes=VISIBLE)
    project = write_project(root, stage)
    deploy(project, "dev", sleep=lambda seconds: None)
    return project


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


def test_delete_removes_everything_in_dependency_order(aws: str, tmp_path: Path) -> None:
    project = deployed_project(tmp_path)
    writes = Writes()
    lines: list[str] = []
    delete(project, "dev", on_call=writes, report=lines.append)
    assert writes.names.index("DeleteRestApi") < writes.names.index("DeleteFunction")
    assert writes.names.index("DeleteEventSourceMapping") < writes.names.index("DeleteFunction")
    assert writes.names[-1] == "DeleteRole"
    assert lines[0] == "Reading what stage 'dev' has in AWS (us-east-1)"
    # Reverse dependency order: the triggers and the API before the functions they invoke.
    first_function = next(i for i, line in enumerate(lines) if line.startswith("Deleting function"))
    assert any(line.startswith("Deleting REST API gone-dev") for line in lines[1:first_function])
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("apigateway").get_rest_apis()["items"] == []
    assert boto3.client("events").list_rules()["Rules"] == []
    assert not (project / ".fw" / "deployed" / "dev.json").exists()


def test_delete_twice_is_fine(aws: str, tmp_path: Path) -> None:
    project = deployed_project(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["--project-dir", str(project), "delete"], obj={})
    assert first.exit_code == 0 and "Deleted stage 'dev'." in first.stdout
    writes = Writes()
    lines: list[str] = []
    result = delete(project, "dev", on_call=writes, report=lines.append)
    assert result.actions == () and writes.names == []
    assert lines == ["Nothing recorded for stage 'dev'; nothing to delete."]


def test_already_gone_resources_are_skipped(aws: str, tmp_path: Path) -> None:
    project = deployed_project(tmp_path)
    boto3.client("lambda").delete_function(FunctionName="gone-dev-daily")
    events = boto3.client("events")
    events.remove_targets(Rule="gone-dev-daily", Ids=["1"])
    events.delete_rule(Name="gone-dev-daily")
    result = delete(project, "dev")
    assert "Forgetting rule:gone-dev-daily (already gone)" in result.actions
    assert "Forgetting function:gone-dev-daily (already gone)" in result.actions
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_delete_dry_run_changes_nothing(aws: str, tmp_path: Path) -> None:
    project = deployed_project(tmp_path)
    writes = Writes()
    result = delete(project, "dev", dry_run=True, on_call=writes)
    assert writes.names == [] and "Deleting IAM role gone-dev" in result.actions
    assert (project / ".fw" / "deployed" / "dev.json").exists()
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 3


def log_groups() -> dict[str, int | None]:
    groups = boto3.client("logs").describe_log_groups()["logGroups"]
    return {g["logGroupName"]: g.get("retentionInDays") for g in groups}


def test_delete_removes_the_log_groups_of_the_functions_it_deletes(
    aws: str, tmp_path: Path
) -> None:
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/someone-else")
    project = deployed_project(
        tmp_path, {"lambda_functions": {"daily": {"log_retention_in_days": 7}}}
    )
    assert log_groups() == {"/aws/lambda/gone-dev-daily": 7, "/aws/lambda/someone-else": None}
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert record["resources"]["log_group:/aws/lambda/gone-dev-daily"] == {
        "kind": "log_group",
        "name": "/aws/lambda/gone-dev-daily",
    }
    # Lambda makes the group of a function fw gave no retention on its first invocation.
    logs.create_log_group(logGroupName="/aws/lambda/gone-dev")
    lines: list[str] = []
    delete(project, "dev", report=lines.append)
    assert "Deleting log group /aws/lambda/gone-dev-daily" in lines
    assert "Deleting log group /aws/lambda/gone-dev" in lines
    assert lines.index("Deleting log group /aws/lambda/gone-dev") > lines.index(
        "Deleting function gone-dev-consume"
    )
    assert log_groups() == {"/aws/lambda/someone-else": None}
