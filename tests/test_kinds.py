"""The contract the kinds keep with the planner, the executor and a concurrent runner."""

from __future__ import annotations

import attrs
import pytest

from deployer.deploy import kinds
from deployer.deploy.instructions import Plan
from deployer.deploy.kinds.base import Entry, Step


def _instruction_types(module: object) -> set[type]:
    return {
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Step)
        and attrs.has(value)
        and value.__module__ == getattr(module, "__name__", "")
    }


def test_every_instruction_names_its_kind_and_has_a_handler() -> None:
    table = kinds.handlers()
    for kind in kinds.KINDS:
        types = _instruction_types(kind)
        assert types, kind.NAME
        assert {t.kind for t in types} == {kind.NAME}
        assert types <= set(table)
        assert kind.ENTRY.kind == kind.NAME and issubclass(kind.ENTRY, Entry)


def test_each_kind_comes_after_the_kinds_it_needs_first() -> None:
    order = [kind.NAME for kind in kinds.KINDS]
    assert len(set(order)) == len(order)
    for index, kind in enumerate(kinds.KINDS):
        assert set(kind.AFTER) <= set(order[:index]), kind.NAME


def test_reads_are_named_once_across_the_kinds() -> None:
    names = [name for kind in kinds.KINDS for name in kind.READS]
    assert len(names) == len(set(names)) == len(kinds.reads_table())


def test_every_planned_step_has_a_lane() -> None:
    from test_planner import FakeRemote, deployed, desired_state

    from deployer.deploy import planner
    from deployer.deploy.state import Record

    created = planner.plan(desired_state(), FakeRemote(), Record("app", "dev"))
    remote, record = deployed(desired_state())
    removed = planner.plan_delete(record, remote)
    steps = [*created, *removed]
    assert created.removal_steps == () and removed.removal_steps == removed.instructions
    assert steps and all(step.kind and ":" in step.lane for step in steps)
    # One function's changes share its lane, so a concurrent runner keeps their order.
    lanes = {step.lane for step in created if step.kind == "function"}
    assert lanes == {f"function:{f.function_name}" for f in desired_state().functions}


def test_a_plan_says_where_its_removals_start() -> None:
    from test_planner import deployed, desired_state

    from deployer.deploy import planner

    desired = desired_state()
    remote, record = deployed(desired)
    smaller = attrs.evolve(desired, functions=desired.functions[:-1]).with_wired(
        "event_source_mapping", ()
    )
    plan = planner.plan(smaller, remote, record)
    assert [type(s).__name__ for s in plan.removal_steps] == ["DeleteMapping", "DeleteFunction"]
    assert plan.updates + plan.removal_steps == plan.instructions


# What waits for what in AWS, written from AWS's rules rather than read from the kinds' AFTER:
# (kind, kind it needs). A concurrent runner must keep the plan's order of any two such steps.
NEEDS = {
    ("function", "role"),  # CreateFunction assumes the role
    ("function", "layer"),  # a function names the layer's version ARN
    # "Configuring CloudWatch log groups": Lambda makes /aws/lambda/<name> when the function runs,
    # so the group goes once the function has; retention is set on the group fw made.
    ("function", "log_group"),
    ("rest_api", "function"),  # the document's integrations name the functions
    ("websocket_api", "function"),  # the routes' integrations name the functions
    ("permission", "function"),
    ("permission", "rest_api"),  # a grant's source ARN names the API's id
    ("permission", "websocket_api"),
    ("role_policy", "role"),  # PutRolePolicy needs the role
    ("role_policy", "websocket_api"),  # the @connections grant names the API's id
    ("rule", "function"),  # the rule's target is the function
    ("s3_notification", "function"),
    ("s3_notification", "permission"),  # S3 checks the invoke grant when the notification is put
    ("sns_subscription", "function"),
    ("sns_subscription", "permission"),
    ("event_source_mapping", "function"),
    ("event_source_mapping", "role"),  # Lambda checks the role can read the queue or stream
}


def _every_kind_plans() -> dict[str, object]:
    """Create, update and delete plans of an app with every kind (layer, log retention and a
    WebSocket API added to the planner tests' app)."""
    from pathlib import Path

    from test_planner import ACCOUNT, FakeRemote, deployed, desired_state

    from deployer.deploy import planner
    from deployer.deploy.kinds.base import CodeArtifact
    from deployer.deploy.kinds.layer import MANAGED_LAYER, LambdaLayer, RemoteLayer
    from deployer.deploy.kinds.log_group import RemoteLogGroup
    from deployer.deploy.kinds.permission import Permission
    from deployer.deploy.kinds.role_policy import websocket_policy
    from deployer.deploy.kinds.websocket_api import (
        WEBSOCKET_API_ID,
        RemoteWebsocketApi,
        WebsocketRoute,
        build,
    )
    from deployer.deploy.state import Record
    from deployer.policy.triggers import ArnScope

    class Remote(FakeRemote):
        websocket: RemoteWebsocketApi | None = None

        def websocket_api(self, *args: object) -> RemoteWebsocketApi | None:
            return self.websocket

    base = desired_state()
    layer = LambdaLayer("app-dev-managed-layer", CodeArtifact(Path("l.zip"), "l-1", 1), "py", "x")
    functions = tuple(
        attrs.evolve(
            f,
            log_retention_in_days=7,
            settings=attrs.evolve(f.settings, layers=(MANAGED_LAYER,)),
        )
        for f in base.functions
    )
    connect = functions[0]
    route = WebsocketRoute("$connect", connect.function_name, f"uri:{connect.arn}")
    grant = Permission(
        connect.function_name,
        "fw-ws",
        "apigateway.amazonaws.com",
        f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{WEBSOCKET_API_ID}/*",
    )
    desired = attrs.evolve(
        base,
        layer=layer,
        functions=functions,
        websocket_api=build("app", "dev", "api", (route,), {}),
        permissions=(*base.permissions, grant),
        role_policies=(
            websocket_policy(base.roles[0].name, "api", ArnScope("aws", "us-east-1", ACCOUNT)),
        ),
    )
    created = planner.plan(desired, Remote(), Record("app", "dev"))
    old, record = deployed(base)
    remote = Remote(**attrs.asdict(old, recurse=False))
    role = attrs.evolve(desired.roles[0], policy_document={"Version": "2012-10-17"})
    changed = attrs.evolve(
        desired,
        roles=(role,),
        functions=tuple(
            attrs.evolve(f, code=attrs.evolve(f.code, code_sha256="2")) for f in functions
        ),
        rest_api=attrs.evolve(desired.rest_api, fingerprint="fp-2"),
    )
    updated = planner.plan(changed, remote, record)
    resources = {k: v.to_json() for k, v in record.resources.items()}
    resources[layer.key] = {"kind": "layer", "name": layer.name, "version_arn": "arn:layer:1"}
    remote.layers[layer.name] = RemoteLayer("arn:layer:1", "l-1", versions=(1,))
    for f in functions:
        group = f"/aws/lambda/{f.function_name}"
        resources[f"log_group:{group}"] = {"kind": "log_group", "name": group}
        remote.log_groups[group] = RemoteLogGroup(group, 7)
    api = desired.websocket_api
    resources[api.key] = {"kind": "websocket_api", "name": api.name, "id": "ws1", "stage": "api"}
    remote.websocket = RemoteWebsocketApi("ws1", True, None, {}, (), True)
    (policy,) = desired.role_policies
    resources[policy.key] = {
        "kind": "role_policy", "role_name": policy.role_name, "policy_name": policy.policy_name,
    }  # fmt: skip
    role_name = desired.roles[0].name
    remote.roles[role_name] = attrs.evolve(
        remote.roles[role_name],
        policies={**remote.roles[role_name].policies, policy.policy_name: policy.document},
    )
    full = Record("app", "dev", "us-east-1", resources)
    deleted = planner.plan_delete(full, remote)
    # The same record once everything is gone from AWS (a manual cleanup, or a second delete).
    forgotten = planner.plan_delete(full, Remote())
    return {
        "create": created,
        "update": updated,
        "delete": deleted,
        "forget": forgotten,
        "record": full,
    }


@pytest.mark.parametrize("which", ["create", "update", "delete"])
def test_the_kinds_after_orders_every_pair_of_dependent_steps(which: str) -> None:
    from deployer.deploy import pool

    plan = _every_kind_plans()[which]
    assert isinstance(plan, Plan)
    steps = plan.instructions
    removals = {id(step) for step in plan.removal_steps}
    needs = pool.dependencies(
        steps,
        after={kind.NAME: kind.AFTER for kind in kinds.KINDS},
        is_removal=lambda step: id(step) in removals,
    )
    before: list[set[int]] = []  # every step that finishes first, directly or not
    for index in range(len(steps)):
        before.append(set().union(*(before[n] | {n} for n in needs[index])))
    touched = {step.kind for step in steps} - {"record"}
    assert len(touched) == {"create": 12, "update": 8, "delete": 11}[which], touched
    unordered = [
        (steps[i].message, steps[j].message)
        for j in range(len(steps))
        for i in range(j)
        if (steps[j].kind, steps[i].kind) in NEEDS or (steps[i].kind, steps[j].kind) in NEEDS
        if i not in before[j]
    ]
    assert unordered == []


def test_every_kind_deletes_what_aws_has_and_forgets_what_it_has_not() -> None:
    from deployer.deploy.kinds.base import ForgetResource, RecordResource
    from deployer.deploy.state import Record

    plans = _every_kind_plans()
    record, deleted, forgotten = plans["record"], plans["delete"], plans["forget"]
    assert isinstance(record, Record)
    assert isinstance(deleted, Plan) and isinstance(forgotten, Plan)
    assert not any(isinstance(s, ForgetResource | RecordResource) for s in deleted)
    assert {s.kind for s in deleted} == {e.kind for e in record.resources.values()}
    assert all(isinstance(s, ForgetResource) for s in forgotten)
    assert sorted(s.key for s in forgotten) == sorted(record.resources)
