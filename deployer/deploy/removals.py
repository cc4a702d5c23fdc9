"""Plan the removal of what the record holds and the desired state no longer has.

``plan`` ends with these removals (a handler dropped from the app) and ``plan_delete`` is nothing
but them (``keep`` empty). Each recorded resource is deleted if AWS still has it and forgotten
otherwise, so a second ``fw delete`` or a manual cleanup is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployer.deploy.instructions import (
    DeleteFunction,
    DeleteLayer,
    DeleteLogGroup,
    DeleteMapping,
    DeleteRestApi,
    DeleteRole,
    DeleteRule,
    ForgetResource,
    Instruction,
    RemoveS3Notification,
    Unsubscribe,
)
from deployer.deploy.models import log_group_key, log_group_name
from deployer.deploy.remote import RemoteState
from deployer.deploy.state import Record

__all__ = ["plan_removals", "removal_reads"]


# Removal order: what invokes a function goes before the function, functions before their log
# groups (a live function could write to a group again), and roles last.
_REMOVAL_ORDER = (
    "rest_api", "rule", "s3_notification", "sns_subscription", "event_source_mapping",
    "function", "log_group", "layer", "role",
)  # fmt: skip


def plan_removals(
    record: Record, remote: RemoteState, *, keep: frozenset[str]
) -> list[Instruction]:
    """What removes every recorded resource whose key is not in ``keep``, in a safe order."""
    steps: list[Instruction] = []
    for kind in _REMOVAL_ORDER:
        if kind == "log_group":
            steps += _log_group_removals(record, remote, keep)
            continue
        for key, entry in sorted(record.of_kind(kind).items()):
            if key not in keep:
                steps.append(_removal(kind, key, entry, remote))
    return steps


def _log_group_removals(
    record: Record, remote: RemoteState, keep: frozenset[str]
) -> list[Instruction]:
    """Delete the log groups of the functions being removed, and any recorded group not kept.

    fw records the groups it creates to set retention, but Lambda itself creates
    ``/aws/lambda/<function>`` on a function's first invocation. ``fw delete`` promises to remove
    the whole stage, and a group whose function is gone is only an orphan that still bills for
    storage, so the group of every function fw deletes goes too, recorded or not (each with its
    own message line). Chalice and SAM leave such groups behind; we think that is the surprise.
    Groups of functions fw never deployed are never touched.
    """
    groups = {
        entry["name"]: key for key, entry in record.of_kind("log_group").items() if key not in keep
    }
    for key, entry in record.of_kind("function").items():
        if key not in keep:
            name = log_group_name(entry["name"])
            groups.setdefault(name, log_group_key(name))
    steps: list[Instruction] = []
    for name, key in sorted(groups.items()):
        if remote.log_group(name) is not None:
            steps.append(DeleteLogGroup(key, name))
        elif record.get(key) is not None:
            steps.append(ForgetResource(key))
    return steps


def _removal(kind: str, key: str, entry: Mapping[str, Any], remote: RemoteState) -> Instruction:
    gone = ForgetResource(key)
    if kind == "rest_api":
        found = remote.rest_api(entry["id"], None, entry.get("stage", ""))
        return DeleteRestApi(key, entry["id"], entry["name"]) if found else gone
    if kind == "rule":
        return DeleteRule(key, entry["name"]) if remote.rule(entry["name"]) else gone
    if kind == "s3_notification":
        ids = {e.get("Id") for e in remote.s3_notifications(entry["bucket"]) or ()}
        return (
            RemoveS3Notification(key, entry["bucket"], entry["id"]) if entry["id"] in ids else gone
        )
    if kind == "sns_subscription":
        arns = {s.arn for s in remote.sns_subscriptions(entry["topic_arn"]) or ()}
        arn = entry["subscription_arn"]
        return Unsubscribe(key, arn) if arn in arns else gone
    if kind == "event_source_mapping":
        uuids = {m.uuid for m in remote.event_source_mappings(entry["function_name"])}
        return (
            DeleteMapping(key, entry["uuid"], entry["source_arn"])
            if entry["uuid"] in uuids
            else gone
        )
    if kind == "function":
        return DeleteFunction(key, entry["name"]) if remote.function(entry["name"]) else gone
    if kind == "layer":
        layer = remote.layer(entry["name"])
        return DeleteLayer(key, entry["name"], layer.versions) if layer else gone
    if kind == "role":
        return DeleteRole(key, entry["name"]) if remote.role(entry["name"]) else gone
    raise AssertionError(f"unknown record kind {kind!r}")  # pragma: no cover


def removal_reads(record: Record, keep: frozenset[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """The ``(RemoteState method, args)`` questions :func:`plan_removals` will ask."""
    questions: list[tuple[str, tuple[Any, ...]]] = []
    for key, entry in record.resources.items():
        if key in keep:
            continue
        kind = entry.get("kind")
        if kind == "rest_api":
            questions.append(("rest_api", (entry["id"], None, entry.get("stage", ""))))
        elif kind in ("rule", "function", "layer", "role"):
            questions.append((kind, (entry["name"],)))
            if kind == "function":
                questions.append(("log_group", (log_group_name(entry["name"]),)))
        elif kind == "log_group":
            questions.append(("log_group", (entry["name"],)))
        elif kind == "s3_notification":
            questions.append(("s3_notifications", (entry["bucket"],)))
        elif kind == "sns_subscription":
            questions.append(("sns_subscriptions", (entry["topic_arn"],)))
        elif kind == "event_source_mapping":
            questions.append(("event_source_mappings", (entry["function_name"],)))
    return questions
