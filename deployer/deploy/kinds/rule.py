"""EventBridge rules (a schedule or an event pattern), each targeting one function."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import GONE, error_code
from deployer.deploy.kinds.base import (
    Entry,
    Handler,
    Invoker,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    Wired,
    WiringContext,
    delete_or_forget,
    dropped,
    record_if_missing,
)

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.kinds.function import LambdaFunction
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "rule"
AFTER: tuple[str, ...] = ("function",)


@attrs.frozen
class EventRule:
    """An EventBridge rule (schedule or pattern) targeting one function."""

    name: str
    function_name: str
    function_arn: str
    schedule_expression: str | None = None
    event_pattern: str | None = None  # canonical JSON
    description: str = ""

    @property
    def key(self) -> str:
        return f"rule:{self.name}"


@attrs.frozen
class RuleEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str


ENTRY = RuleEntry


@attrs.frozen
class RemoteRule:
    name: str
    schedule_expression: str | None
    event_pattern: str | None
    description: str
    target_arns: tuple[str, ...]


@attrs.frozen
class PutRule(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Putting EventBridge rule {self.rule.name}"
    rule: EventRule

    @property
    def lane(self) -> str:
        return self.rule.key


@attrs.frozen
class DeleteRule(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Deleting EventBridge rule {self.name}"
    key: str
    name: str


def _read_rule(reader: Reader, name: str) -> RemoteRule | None:
    events = reader.client("events")
    found = reader.read(f"rule {name!r}", lambda: events.describe_rule(Name=name))
    if found is None:
        return None
    targets = reader.read(f"rule {name!r}", lambda: events.list_targets_by_rule(Rule=name))
    return RemoteRule(
        name=name,
        schedule_expression=found.get("ScheduleExpression"),
        event_pattern=found.get("EventPattern"),
        description=found.get("Description") or "",
        target_arns=tuple(t["Arn"] for t in (targets or {}).get("Targets", [])),
    )


READS = {"rule": Read("events", _read_rule)}


# --- wiring ---------------------------------------------------------------------------------

# The event sources (``microframework.sources`` record kinds) whose handlers a rule invokes.
WIRES: tuple[str, ...] = ("schedule", "cloudwatch")


def wire(source: Any, function: LambdaFunction, ctx: WiringContext) -> Wired:
    """One rule per handler, named for its function, and EventBridge's invoke permission."""
    scheduled = source.kind == "schedule"
    rule = EventRule(
        name=function.function_name,
        function_name=function.function_name,
        function_arn=function.arn,
        schedule_expression=source.schedule_expression if scheduled else None,
        event_pattern=None if scheduled else canonical_json(source.event_pattern),
        description=(source.description or "") if scheduled else "",
    )
    invoker = Invoker("events.amazonaws.com", ctx.arn("events", f"rule/{rule.name}"))
    return Wired((rule,), (invoker,))


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces, so equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def models(desired: DesiredState) -> tuple[EventRule, ...]:
    return desired.rules


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("rule", (r.name,)) for r in desired.rules]


def _same_pattern(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    for rule in desired.rules:
        found: RemoteRule | None = remote.ask("rule", rule.name)
        if (
            found is None
            or found.schedule_expression != rule.schedule_expression
            or not _same_pattern(found.event_pattern, rule.event_pattern)
            or found.description != rule.description
            or found.target_arns != (rule.function_arn,)
        ):
            steps.append(PutRule(rule))
        else:
            steps += record_if_missing(record, rule.key, RuleEntry(rule.name))
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("rule", (e.name,)) for e in dropped(record, RuleEntry, keep).values()]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return delete_or_forget(
        record,
        RuleEntry,
        keep,
        lambda key, e: DeleteRule(key, e.name) if remote.ask("rule", e.name) else None,
    )


def _put_rule(ex: Executor, step: PutRule) -> None:
    rule = step.rule
    events = ex.client("events")
    kwargs: dict[str, Any] = {
        "Name": rule.name,
        "Description": rule.description,
        "State": "ENABLED",
    }
    if rule.schedule_expression:
        kwargs["ScheduleExpression"] = rule.schedule_expression
    if rule.event_pattern:
        kwargs["EventPattern"] = rule.event_pattern
    events.put_rule(**kwargs)
    ex.state.put(rule.key, RuleEntry(rule.name))
    events.put_targets(Rule=rule.name, Targets=[{"Id": "1", "Arn": rule.function_arn}])


def _delete_rule(ex: Executor, step: DeleteRule) -> None:
    events = ex.client("events")
    try:
        targets = events.list_targets_by_rule(Rule=step.name).get("Targets", [])
        if targets:
            events.remove_targets(Rule=step.name, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=step.name)
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in GONE:
            raise
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {PutRule: _put_rule, DeleteRule: _delete_rule}


# --- SAM --------------------------------------------------------------------------------------

# EventBridge caps a rule's description at 512 characters.
_MAX_RULE_DESCRIPTION = 512


def template(t: Template) -> None:
    for function in t.wired_by(WIRES):
        source = function.source
        if source.kind == "schedule":
            properties: dict[str, Any] = {"Schedule": source.schedule_expression}
            if source.description:
                properties["Description"] = source.description[:_MAX_RULE_DESCRIPTION]
            t.add_event(function, "Schedule", {"Type": "Schedule", "Properties": properties})
        elif source.kind == "cloudwatch":
            event = {"Type": "EventBridgeRule", "Properties": {"Pattern": source.event_pattern}}
            t.add_event(function, "Rule", event)
