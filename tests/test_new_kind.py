"""A new resource kind is one module plus one line in ``kinds.KINDS``: this test adds a
CloudWatch alarm per function from here alone (a module-like object put in the list), and fw
deploys it, redeploys it with no write, packages it and deletes it."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import boto3
import pytest

from deployer.deploy import kinds
from deployer.deploy.aws import is_write_operation
from deployer.deploy.kinds.base import (
    Entry,
    ForgetResource,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    dropped,
    record_if_missing,
)
from deployer.deploy.run import delete, deploy

# --- the kind: what its module would hold ---------------------------------------------------


@attrs.frozen
class Alarm:
    """Alarm when a function reports any error in a 5-minute period."""

    function_name: str

    @property
    def name(self) -> str:
        return f"{self.function_name}-errors"

    @property
    def key(self) -> str:
        return f"alarm:{self.name}"


@attrs.frozen
class AlarmEntry(Entry):
    kind: ClassVar[str] = "alarm"
    name: str


@attrs.frozen
class PutAlarm(Step):
    kind: ClassVar[str] = "alarm"
    MESSAGE: ClassVar[str] = "Putting alarm {self.alarm.name}"
    alarm: Alarm

    @property
    def lane(self) -> str:
        return self.alarm.key


@attrs.frozen
class DeleteAlarm(Step):
    kind: ClassVar[str] = "alarm"
    MESSAGE: ClassVar[str] = "Deleting alarm {self.name}"
    key: str
    name: str


def _read_alarm(reader: Reader, name: str) -> Mapping[str, Any] | None:
    cloudwatch = reader.client("cloudwatch")
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return found[0] if found else None


def _models(desired: Any) -> tuple[Alarm, ...]:
    return tuple(Alarm(f.function_name) for f in desired.functions)


def _plan(desired: Any, remote: RemoteState, record: Any, refs: References) -> list[Step]:
    steps: list[Step] = []
    for alarm in _models(desired):
        found = remote.ask("alarm", alarm.name)
        if found is None or found.get("Threshold") != 1.0:
            steps.append(PutAlarm(alarm))
        else:
            steps += record_if_missing(record, alarm.key, AlarmEntry(alarm.name))
    return steps


def _removals(record: Any, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return [
        DeleteAlarm(key, e.name) if remote.ask("alarm", e.name) else ForgetResource(key)
        for key, e in dropped(record, AlarmEntry, keep).items()
    ]


def _put_alarm(ex: Any, step: PutAlarm) -> None:
    ex.client("cloudwatch").put_metric_alarm(
        AlarmName=step.alarm.name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": step.alarm.function_name}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    ex.state.put(step.alarm.key, AlarmEntry(step.alarm.name))


def _delete_alarm(ex: Any, step: DeleteAlarm) -> None:
    ex.client("cloudwatch").delete_alarms(AlarmNames=[step.name])
    ex.state.remove(step.key)


def _template(t: Any) -> None:
    for function in t.functions:
        t.resources[f"{function.logical_id}Errors"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            },
        }


alarm = types.SimpleNamespace(
    NAME="alarm",
    AFTER=("function",),
    ENTRY=AlarmEntry,
    READS={"alarm": Read("cloudwatch", _read_alarm)},
    HANDLERS={PutAlarm: _put_alarm, DeleteAlarm: _delete_alarm},
    models=_models,
    reads=lambda desired, record: [("alarm", (a.name,)) for a in _models(desired)],
    plan=_plan,
    removal_reads=lambda record, keep: [
        ("alarm", (e.name,)) for e in dropped(record, AlarmEntry, keep).values()
    ],
    removals=_removals,
    template=_template,
)

# --- the test -------------------------------------------------------------------------------

APP = """\
from microframework import App

app = App("watch")


@app.route("/")
def index():
    return {}


@app.lambda_function()
def job(event, context):
    return 1
"""


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


@pytest.fixture
def with_alarms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kinds, "KINDS", [*kinds.KINDS, alarm])


def alarm_names() -> list[str]:
    return sorted(
        a["AlarmName"] for a in boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    )


def test_a_kind_added_to_the_list_deploys_redeploys_and_deletes(
    aws: str, tmp_path: Path, with_alarms: None
) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "watch"})
    )
    (tmp_path / "app.py").write_text(APP)

    result = deploy(tmp_path, "dev", sleep=lambda s: None)
    assert alarm_names() == ["watch-dev-errors", "watch-dev-job-errors"]
    assert "Putting alarm watch-dev-job-errors" in result.actions
    assert result.resources["alarm:watch-dev-errors"] == {
        "kind": "alarm",
        "name": "watch-dev-errors",
    }

    writes = Writes()
    again = deploy(tmp_path, "dev", on_call=writes, sleep=lambda s: None)
    assert (writes.names, again.actions) == ([], ())

    deleted = delete(tmp_path, "dev")
    assert "Deleting alarm watch-dev-errors" in deleted.actions
    assert alarm_names() == []


def test_the_new_kind_writes_its_sam_fragment(tmp_path: Path, with_alarms: None) -> None:
    from deployer.package.build import Artifact, PackageResult
    from deployer.package.sam import build_template
    from deployer.project.app_loader import load_stage_app
    from deployer.project.config import load_config

    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "watch"})
    )
    (tmp_path / "app.py").write_text(APP)
    config = load_config(tmp_path, "dev")
    app = load_stage_app(tmp_path, config, region="us-east-1")
    package = PackageResult(Artifact(tmp_path / "deployment.zip", "0" * 64, "A", 1, 1), None, False)
    resources = build_template(app, config, policy=None, package=package)["Resources"]
    assert resources["JobErrors"]["Properties"]["Dimensions"][0]["Value"] == {"Ref": "Job"}


def _alarm_url(record: Any, region: str, steps: Any = ()) -> str | None:
    entries = sorted(dropped(record, AlarmEntry, frozenset()).values(), key=lambda e: e.name)
    if not entries:
        return None
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home#alarmsV2:alarm/{entries[0].name}"
    )


def test_a_kind_with_a_url_hook_is_printed_by_deploy_and_url(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    with_url = types.SimpleNamespace(
        **vars(alarm), URL_FIELD="alarm_url", URL_LABEL="Errors alarm", url=_alarm_url
    )
    monkeypatch.setattr(kinds, "KINDS", [*kinds.KINDS, with_url])
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "watch"})
    )
    (tmp_path / "app.py").write_text(APP)
    fw = ["--project-dir", str(tmp_path)]
    deployed = CliRunner().invoke(cli, [*fw, "deploy"], obj={})
    assert deployed.exit_code == 0, deployed.output
    console = "https://us-east-1.console.aws.amazon.com/cloudwatch/home#alarmsV2:alarm/"
    lines = deployed.stdout.splitlines()
    assert lines[0].startswith("Rest API URL: https://")
    assert lines[1:] == [f"Errors alarm: {console}watch-dev-errors"]
    as_json = json.loads(CliRunner().invoke(cli, [*fw, "deploy", "--json"], obj={}).stdout)
    assert as_json["alarm_url"] == f"{console}watch-dev-errors"
    assert as_json["url"].startswith("https://") and as_json["websocket_url"] is None
    urls = CliRunner().invoke(cli, [*fw, "url"], obj={}).stdout.splitlines()
    assert urls == [as_json["url"], f"{console}watch-dev-errors"]
