"""A new event source with a new AWS resource is its runtime declaration plus one trigger kind:
this file adds both for CloudWatch Logs subscriptions ("a log group's matching lines invoke the
function"), and fw deploys it, redeploys with no write, refuses a missing log group, packages
it and deletes it. The deployer itself is not edited: the kind says which sources it wires
(``WIRES``), what one handler makes (``wire``), and how a missing log group is named and made.

The runtime half is written into the project (``toy_logs.py``, imported by ``app.py``), as it
would sit in ``microframework/sources.py``: the package check imports the app in a fresh
interpreter that only has the package.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
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
    Invoker,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    TriggerSource,
    Wired,
    WiringContext,
    dropped,
    exists,
    record_if_missing,
)
from deployer.deploy.run import delete, deploy
from deployer.errors import DeployError
from microframework.sources import SOURCES

# --- the runtime half: what microframework/sources.py and events.py would hold ----------------

TOY_SOURCE = """\
from microframework.events import BaseLambdaEvent
from microframework.sources import SOURCES, EventSource, _Record


class LogLinesEvent(BaseLambdaEvent):
    SOURCE = "CloudWatch Logs"

    def _extract_attributes(self, event_dict):
        self.data = event_dict["awslogs"]["data"]


class LogSubscriptionConfig(_Record):
    kind = "log_lines"
    __slots__ = ("name", "handler_string", "log_group", "pattern")


SOURCES.setdefault(
    "on_log_lines",
    EventSource("on_log_lines", LogSubscriptionConfig, LogLinesEvent, "log_lines"),
)
"""

APP = """\
import toy_logs  # noqa: F401  (declares @app.on_log_lines)
from microframework import App

app = App("logs")


@app.on_log_lines(log_group="orders", pattern="ERROR")
def errors(event):
    return event.data
"""

# --- the deploy half: what deployer/deploy/kinds/log_subscription.py would hold ---------------

NAME = "log_subscription"


@attrs.frozen
class LogSubscription:
    log_group: str
    pattern: str
    function_name: str
    function_arn: str

    @property
    def key(self) -> str:
        return f"{NAME}:{self.log_group}:{self.function_name}"


@attrs.frozen
class LogSubscriptionEntry(Entry):
    kind: ClassVar[str] = NAME
    log_group: str
    name: str


@attrs.frozen
class PutSubscriptionFilter(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Subscribing function {self.sub.function_name} to {self.sub.log_group}"
    sub: LogSubscription

    @property
    def lane(self) -> str:
        return self.sub.key


@attrs.frozen
class DeleteSubscriptionFilter(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Unsubscribing {self.name} from {self.log_group}"
    key: str
    log_group: str
    name: str


def _wire(source: Any, function: Any, ctx: WiringContext) -> Wired:
    sub = LogSubscription(source.log_group, source.pattern, function.function_name, function.arn)
    # "AWS::Logs::SubscriptionFilter" (a Lambda destination): CloudWatch Logs invokes the
    # function from the log group's ARN, which Lambda's resource policy must allow.
    group = ctx.arn("logs", f"log-group:{source.log_group}:*")
    return Wired((sub,), (Invoker("logs.amazonaws.com", group, ctx.account_id),))


def _read_filter(reader: Reader, log_group: str, name: str) -> dict[str, Any] | None:
    logs = reader.client("logs")
    found = reader.read(
        f"log group {log_group!r} subscriptions",
        lambda: logs.describe_subscription_filters(logGroupName=log_group, filterNamePrefix=name),
    )
    return next((f for f in (found or {}).get("subscriptionFilters", []) if
                 f["filterName"] == name), None)  # fmt: skip


def _group_exists(reader: Reader, log_group: str) -> bool:
    logs = reader.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    return exists(reader, log_group, lambda: _only(groups, log_group), frozenset({"Missing"}))


def _only(groups: list[dict[str, Any]], name: str) -> None:
    import botocore.exceptions

    if not any(g["logGroupName"] == name for g in groups):
        raise botocore.exceptions.ClientError({"Error": {"Code": "Missing"}}, "DescribeLogGroups")


def _models(desired: Any) -> tuple[LogSubscription, ...]:
    return tuple(desired.wired.get(NAME, ()))


def _plan(desired: Any, remote: RemoteState, record: Any, refs: References) -> list[Step]:
    steps: list[Step] = []
    for sub in _models(desired):
        found = remote.ask("log_filter", sub.log_group, sub.function_name)
        if found and (found["filterPattern"], found["destinationArn"]) == (
            sub.pattern,
            sub.function_arn,
        ):
            entry = LogSubscriptionEntry(sub.log_group, sub.function_name)
            steps += record_if_missing(record, sub.key, entry)
        else:
            steps.append(PutSubscriptionFilter(sub))
    return steps


def _removals(record: Any, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return [
        DeleteSubscriptionFilter(key, e.log_group, e.name)
        if remote.ask("log_filter", e.log_group, e.name)
        else ForgetResource(key)
        for key, e in dropped(record, LogSubscriptionEntry, keep).items()
    ]


def _put(ex: Any, step: PutSubscriptionFilter) -> None:
    sub = step.sub
    ex.client("logs").put_subscription_filter(
        logGroupName=sub.log_group,
        filterName=sub.function_name,
        filterPattern=sub.pattern,
        destinationArn=sub.function_arn,
    )
    ex.state.put(sub.key, LogSubscriptionEntry(sub.log_group, sub.function_name))


def _delete(ex: Any, step: DeleteSubscriptionFilter) -> None:
    ex.client("logs").delete_subscription_filter(logGroupName=step.log_group, filterName=step.name)
    ex.state.remove(step.key)


def _template(t: Any) -> None:
    # SAM's "CloudWatchLogs" event makes the subscription filter and the invoke permission.
    for function in t.wired_by(log_subscription.WIRES):
        properties = {"LogGroupName": function.source.log_group,
                      "FilterPattern": function.source.pattern}  # fmt: skip
        t.add_event(function, "Logs", {"Type": "CloudWatchLogs", "Properties": properties})


log_subscription = types.SimpleNamespace(
    NAME=NAME,
    AFTER=("function", "permission"),
    ENTRY=LogSubscriptionEntry,
    READS={
        "log_filter": Read("logs", _read_filter),
        "log_group_exists": Read("logs", _group_exists),
    },  # fmt: skip
    HANDLERS={PutSubscriptionFilter: _put, DeleteSubscriptionFilter: _delete},
    WIRES=("log_lines",),
    wire=_wire,
    models=_models,
    reads=lambda desired, record: [
        ("log_filter", (s.log_group, s.function_name)) for s in _models(desired)
    ],
    plan=_plan,
    removal_reads=lambda record, keep: [
        ("log_filter", (e.log_group, e.name))
        for e in dropped(record, LogSubscriptionEntry, keep).values()
    ],
    removals=_removals,
    template=_template,
    trigger_sources=lambda desired: [
        TriggerSource(
            "logs", s.log_group, s.function_name, question=("log_group_exists", (s.log_group,))
        )  # fmt: skip
        for s in _models(desired)
    ],
    describe_source=lambda source: f"CloudWatch Logs log group {source.name!r}",
    source_command=lambda source, region: (
        f"aws logs create-log-group --log-group-name {source.name} --region {region}"
    ),
)

# --- the test -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(kinds, "KINDS", [*kinds.KINDS, log_subscription])
    # The app declares the source when imported in this process: gone again after the test.
    _absent_until_teardown(monkeypatch, SOURCES, "on_log_lines")
    _absent_until_teardown(monkeypatch, sys.modules, "toy_logs")
    (tmp_path / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "logs"}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    (tmp_path / "toy_logs.py").write_text(TOY_SOURCE)
    (tmp_path / "app.py").write_text(APP)
    yield tmp_path


def _absent_until_teardown(monkeypatch: pytest.MonkeyPatch, mapping: Any, key: str) -> None:
    """``mapping[key]`` is absent now, and whatever the test puts there is removed after it."""
    monkeypatch.setitem(mapping, key, None)
    monkeypatch.delitem(mapping, key)


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


def filters() -> list[tuple[str, str, str]]:
    found = boto3.client("logs").describe_subscription_filters(logGroupName="orders")
    return [
        (f["filterName"], f["filterPattern"], f["destinationArn"].rsplit(":", 1)[1])
        for f in found["subscriptionFilters"]
    ]


def test_a_new_event_source_and_its_trigger_kind_deploy_redeploy_and_delete(
    aws: str, project: Path
) -> None:
    with pytest.raises(DeployError) as missing:
        deploy(project, "dev", sleep=lambda s: None)
    assert str(missing.value).splitlines()[-1] == (
        "  CloudWatch Logs log group 'orders' (logs-dev-errors):"
        " aws logs create-log-group --log-group-name orders --region us-east-1"
    )
    assert boto3.client("lambda").list_functions()["Functions"] == []  # refused before any write

    boto3.client("logs").create_log_group(logGroupName="orders")
    result = deploy(project, "dev", sleep=lambda s: None)
    assert "Subscribing function logs-dev-errors to orders" in result.actions
    assert filters() == [("logs-dev-errors", "ERROR", "logs-dev-errors")]
    policy = json.loads(boto3.client("lambda").get_policy(FunctionName="logs-dev-errors")["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:orders:*"
    )
    assert result.resources["log_subscription:orders:logs-dev-errors"] == {
        "kind": "log_subscription",
        "log_group": "orders",
        "name": "logs-dev-errors",
    }

    writes = Writes()
    again = deploy(project, "dev", on_call=writes, sleep=lambda s: None)
    assert (writes.names, again.actions) == ([], ())

    deleted = delete(project, "dev")
    assert "Unsubscribing logs-dev-errors from orders" in deleted.actions
    assert filters() == []
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_the_new_trigger_kind_writes_its_sam_event(project: Path) -> None:
    from deployer.package.build import Artifact, PackageResult
    from deployer.package.sam import build_template
    from deployer.project.app_loader import load_stage_app
    from deployer.project.config import load_config

    config = load_config(project, "dev")
    app = load_stage_app(project, config, region="us-east-1")
    package = PackageResult(Artifact(project / "deployment.zip", "0" * 64, "A", 1, 1), None, False)
    resources = build_template(app, config, policy=None, package=package)["Resources"]
    assert resources["Errors"]["Properties"]["Events"] == {
        "Logs": {
            "Type": "CloudWatchLogs",
            "Properties": {"LogGroupName": "orders", "FilterPattern": "ERROR"},
        }
    }
