"""The CloudWatch Logs group of each function: its retention, and its removal with the function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import error_code, ignore_gone
from deployer.deploy.kinds.base import (
    Entry,
    ForgetResource,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    dropped,
    record_if_missing,
)
from deployer.deploy.kinds.function import FunctionEntry, log_group_name

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "log_group"
# Retention can be set before Lambda has the function (the group is created then). The function
# kind names this one in its AFTER, so removals, in reverse, delete a function before its group
# (a live one could write to it again), under a concurrent runner as well.
AFTER: tuple[str, ...] = ()


def log_group_key(group_name: str) -> str:
    """The record key of a log group fw manages."""
    return f"log_group:{group_name}"


@attrs.frozen
class LogGroup:
    """A function's log group; kept for as long as the function is, with or without a
    retention setting: dropping the setting must not delete the logs."""

    function_name: str
    retention_in_days: int | None = None

    @property
    def name(self) -> str:
        return log_group_name(self.function_name)

    @property
    def key(self) -> str:
        return log_group_key(self.name)


@attrs.frozen
class LogGroupEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str


ENTRY = LogGroupEntry


@attrs.frozen
class RemoteLogGroup:
    name: str
    retention_in_days: int | None  # None: never expire


@attrs.frozen
class PutLogRetention(Step):
    """Create the function's log group if Lambda has not yet, and set its retention."""

    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = (
        "Setting log retention of function {self.function_name} to {self.days} days"
    )
    function_name: str
    days: int

    @property
    def group(self) -> str:
        return log_group_name(self.function_name)

    @property
    def lane(self) -> str:
        return log_group_key(self.group)


@attrs.frozen
class DeleteLogGroup(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Deleting log group {self.name}"
    key: str
    name: str


def _read_log_group(reader: Reader, name: str) -> RemoteLogGroup | None:
    logs = reader.client("logs")
    # A prefix query: "/aws/lambda/app-dev" also matches "/aws/lambda/app-dev-job", so the
    # exact name is picked out (one page is enough, names sort with the exact one first).
    found = reader.read(
        f"log group {name!r}", lambda: logs.describe_log_groups(logGroupNamePrefix=name)
    )
    for entry in (found or {}).get("logGroups", []):
        if entry["logGroupName"] == name:
            return RemoteLogGroup(name, entry.get("retentionInDays"))
    return None


READS = {"log_group": Read("logs", _read_log_group)}


def models(desired: DesiredState) -> tuple[LogGroup, ...]:
    return tuple(LogGroup(f.function_name, f.log_retention_in_days) for f in desired.functions)


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("log_group", (g.name,)) for g in models(desired) if g.retention_in_days is not None]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    for group in models(desired):
        days = group.retention_in_days
        if days is None:
            continue
        found: RemoteLogGroup | None = remote.ask("log_group", group.name)
        if found is None or found.retention_in_days != days:
            steps.append(PutLogRetention(group.function_name, days))
        else:
            steps += record_if_missing(record, group.key, LogGroupEntry(group.name))
    return steps


def _doomed(record: Record, keep: frozenset[str]) -> dict[str, str]:
    """Group name -> record key: the recorded groups not kept, and the group of every function
    being removed.

    fw records the groups it creates to set retention, but Lambda itself creates
    ``/aws/lambda/<function>`` on a function's first invocation. ``fw delete`` promises to remove
    the whole stage, and a group whose function is gone is only an orphan that still bills for
    storage, so the group of every function fw deletes goes too, recorded or not (each with its
    own message line). Chalice and SAM leave such groups behind; we think that is the surprise.
    Groups of functions fw never deployed are never touched.
    """
    groups = {e.name: key for key, e in dropped(record, LogGroupEntry, keep).items()}
    for entry in dropped(record, FunctionEntry, keep).values():
        name = log_group_name(entry.name)
        groups.setdefault(name, log_group_key(name))
    return dict(sorted(groups.items()))


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("log_group", (name,)) for name in _doomed(record, keep)]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    steps: list[Step] = []
    for name, key in _doomed(record, keep).items():
        if remote.ask("log_group", name) is not None:
            steps.append(DeleteLogGroup(key, name))
        elif record.get(key) is not None:
            steps.append(ForgetResource(key))
    return steps


def _put_log_retention(ex: Executor, step: PutLogRetention) -> None:
    logs = ex.client("logs")
    group = step.group
    try:
        # Lambda creates the group on the first invocation; create it now to set retention.
        logs.create_log_group(logGroupName=group)
    except botocore.exceptions.ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
    ex.state.put(log_group_key(group), LogGroupEntry(group))
    logs.put_retention_policy(logGroupName=group, retentionInDays=step.days)


def _delete_log_group(ex: Executor, step: DeleteLogGroup) -> None:
    ignore_gone(lambda: ex.client("logs").delete_log_group(logGroupName=step.name))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    PutLogRetention: _put_log_retention,
    DeleteLogGroup: _delete_log_group,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    # Lambda creates /aws/lambda/<name> on first log line with no expiry; declaring it first is
    # the only way to give it a retention (and to delete it with the stack).
    for function in t.functions:
        days = t.settings(function).log_retention_in_days
        if days is None:
            continue
        t.resources[f"{function.logical_id}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function.logical_id}}}"},
                "RetentionInDays": days,
            },
        }
