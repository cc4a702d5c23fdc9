"""The planner against a fake remote state: pure, no AWS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from deployer.deploy import instructions as ins
from deployer.deploy import planner as p
from deployer.deploy.desired import statement_ids
from deployer.deploy.kinds.base import CodeArtifact, ForgetResource, RecordResource
from deployer.deploy.kinds.event_source_mapping import (
    CreateMapping,
    EventSourceMapping,
    RemoteMapping,
    RemoteQueue,
    UpdateMapping,
)
from deployer.deploy.kinds.function import (
    FunctionSettings,
    LambdaFunction,
    RemoteFunction,
    TagFunction,
)
from deployer.deploy.kinds.layer import MANAGED_LAYER, LambdaLayer, RemoteLayer
from deployer.deploy.kinds.log_group import DeleteLogGroup, LogGroupEntry, RemoteLogGroup
from deployer.deploy.kinds.permission import AddPermission, Permission, RemoteStatement
from deployer.deploy.kinds.rest_api import API_ID, RemoteApi, RestApi, UpdateEndpointType
from deployer.deploy.kinds.role import ManagedRole, RemoteRole
from deployer.deploy.kinds.rule import EventRule, RemoteRule
from deployer.deploy.kinds.s3_notification import S3Notification
from deployer.deploy.kinds.sns_subscription import RemoteSubscription, SNSSubscription
from deployer.deploy.models import DesiredState
from deployer.deploy.state import Record
from deployer.errors import DeployError

ACCOUNT = "123456789012"
FN_PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


@attrs.define
class FakeRemote:
    """What AWS holds, as plain dicts; answers the planner's read-only questions."""

    roles: dict[str, RemoteRole] = attrs.field(factory=dict)
    functions: dict[str, RemoteFunction] = attrs.field(factory=dict)
    permissions: dict[str, dict[str, RemoteStatement]] = attrs.field(factory=dict)
    layers: dict[str, RemoteLayer] = attrs.field(factory=dict)
    apis: dict[str, RemoteApi] = attrs.field(factory=dict)
    rules: dict[str, RemoteRule] = attrs.field(factory=dict)
    buckets: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    topics: dict[str, list[RemoteSubscription]] = attrs.field(factory=dict)
    mappings: dict[str, list[RemoteMapping]] = attrs.field(factory=dict)
    log_groups: dict[str, RemoteLogGroup] = attrs.field(factory=dict)
    queues: dict[str, RemoteQueue] = attrs.field(factory=dict)
    missing_sources: set[str] = attrs.field(factory=set)  # buckets, topics, queues, streams

    def role(self, name: str) -> RemoteRole | None:
        return self.roles.get(name)

    def function(self, name: str) -> RemoteFunction | None:
        return self.functions.get(name)

    def function_permissions(self, name: str) -> Mapping[str, RemoteStatement]:
        return self.permissions.get(name, {})

    def log_group(self, name: str) -> RemoteLogGroup | None:
        return self.log_groups.get(name)

    def layer(self, name: str) -> RemoteLayer | None:
        return self.layers.get(name)

    def rest_api(
        self, api_id: str | None, name: str | None, stage: str, deployment: str
    ) -> RemoteApi | None:
        if api_id in self.apis:
            return self.apis[api_id]
        matches = [a for a in self.apis.values() if name and a.name == name]
        return matches[0] if len(matches) == 1 else None

    def rule(self, name: str) -> RemoteRule | None:
        return self.rules.get(name)

    def s3_notifications(self, bucket: str) -> tuple[Mapping[str, Any], ...] | None:
        return tuple(self.buckets[bucket]) if bucket in self.buckets else None

    def sns_subscriptions(self, topic_arn: str) -> tuple[RemoteSubscription, ...] | None:
        return tuple(self.topics[topic_arn]) if topic_arn in self.topics else None

    def event_source_mappings(self, function_name: str) -> tuple[RemoteMapping, ...]:
        return tuple(self.mappings.get(function_name, ()))

    def queue(self, arn: str) -> RemoteQueue | None:
        return self.queues.get(arn)

    def source_exists(self, name: str) -> bool:
        return name not in self.missing_sources

    def ask(self, read: str, *args: Any) -> Any:
        """The planner's one question method: each kind's read names one of the answers above."""
        exists = ("bucket_exists", "topic_exists", "queue_exists")
        exists += ("kinesis_stream_exists", "dynamodb_stream_exists")
        method = "source_exists" if read in exists else read
        return getattr(self, method)(*args)


def _function(logical: str, sha: str = "sha-1", **settings: Any) -> LambdaFunction:
    name = "app-dev" if logical == "api_handler" else f"app-dev-{logical}"
    base = {
        "handler": "app.app",
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/app-dev",
        "runtime": "python3.12",
        "memory_size": 128,
        "timeout": 60,
    }
    return LambdaFunction(
        logical_name=logical,
        function_name=name,
        arn=FN_PREFIX + name,
        code=CodeArtifact(Path("deployment.zip"), sha, 10),
        architecture="x86_64",
        settings=FunctionSettings(**{**base, **settings}),
        tags={"fw:deployment": "app/dev"},
    )


def desired_state() -> DesiredState:
    """A REST handler plus a scheduled, an S3, an SNS and an SQS handler."""
    api_fn, tick, upload, note, work = (
        _function("api_handler"),
        _function("tick", handler="app.tick"),
        _function("upload", handler="app.upload"),
        _function("note", handler="app.note"),
        _function("work", handler="app.work"),
    )
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"
    return DesiredState(
        app_name="app",
        stage="dev",
        region="us-east-1",
        account_id=ACCOUNT,
        roles=(
            ManagedRole(
                "app-dev",
                f"arn:aws:iam::{ACCOUNT}:role/app-dev",
                "app-dev",
                {"Version": "2012-10-17", "Statement": []},
            ),
        ),
        functions=(api_fn, tick, upload, note, work),
        rest_api=RestApi("app-dev", {"openapi": "3.0.1"}, "fp-1", "api", "EDGE"),
        permissions=(
            Permission(
                api_fn.function_name,
                "fw-invoke",
                "apigateway.amazonaws.com",
                f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/*",
            ),
            Permission(
                tick.function_name,
                "fw-invoke",
                "events.amazonaws.com",
                f"arn:aws:events:us-east-1:{ACCOUNT}:rule/app-dev-tick",
            ),
            Permission(
                upload.function_name,
                "fw-invoke",
                "s3.amazonaws.com",
                "arn:aws:s3:::bucket",
                ACCOUNT,
            ),
            Permission(note.function_name, "fw-invoke", "sns.amazonaws.com", topic),
        ),
        wired={
            "rule": (
                EventRule(
                    "app-dev-tick", tick.function_name, tick.arn, "rate(5 minutes)", None, ""
                ),
            ),
            "s3_notification": (
                S3Notification(
                    "app-dev-upload",
                    "bucket",
                    upload.function_name,
                    upload.arn,
                    ("s3:ObjectCreated:*",),
                ),
            ),
            "sns_subscription": (SNSSubscription(topic, note.function_name, note.arn),),
            "event_source_mapping": (
                EventSourceMapping(
                    "sqs",
                    f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
                    work.function_name,
                    5,
                    0,
                    None,
                    ("ReportBatchItemFailures",),
                ),
            ),
        },
    )


def deployed(desired: DesiredState, api_id: str = "abc123") -> tuple[FakeRemote, Record]:
    """A remote state and record exactly as a successful deploy of ``desired`` leaves them."""
    remote = FakeRemote()
    resources: dict[str, dict[str, Any]] = {}
    for role in desired.roles:
        remote.roles[role.name] = RemoteRole(
            role.arn, dict(role.trust_policy), {role.policy_name: dict(role.policy_document)}
        )
        resources[role.key] = {"kind": "role", "name": role.name, "arn": role.arn}
    for fn in desired.functions:
        remote.functions[fn.function_name] = RemoteFunction(
            fn.function_name, fn.arn, fn.code.code_sha256, fn.architecture, fn.settings,
            fn.reserved_concurrency, dict(fn.tags),
        )  # fmt: skip
        resources[fn.key] = {"kind": "function", "name": fn.function_name, "arn": fn.arn}
    api = desired.rest_api
    if api is not None:
        remote.apis[api_id] = RemoteApi(
            api_id, api.name, api.fingerprint, made_by_fw=True, deployment="app/dev"
        )
        resources[api.key] = {"kind": "rest_api", "name": api.name, "id": api_id,
                              "stage": api.stage_name, "fingerprint": api.fingerprint}  # fmt: skip
    for perm in desired.permissions:
        source = perm.source_arn.replace(API_ID, api_id)
        remote.permissions.setdefault(perm.function_name, {})[perm.statement_id] = RemoteStatement(
            perm.statement_id, perm.principal, source, perm.source_account
        )
    for rule in desired.rules:
        remote.rules[rule.name] = RemoteRule(
            rule.name, rule.schedule_expression, rule.event_pattern, rule.description,
            (rule.function_arn,),
        )  # fmt: skip
        resources[rule.key] = {"kind": "rule", "name": rule.name}
    for n in desired.s3_notifications:
        remote.buckets.setdefault(n.bucket, []).append(
            {"Id": n.id, "LambdaFunctionArn": n.function_arn, "Events": list(n.events)}
        )
        resources[n.key] = {"kind": "s3_notification", "bucket": n.bucket, "id": n.id}
    for s in desired.sns_subscriptions:
        remote.topics.setdefault(s.topic_arn, []).append(
            RemoteSubscription(f"{s.topic_arn}:sub-1", s.function_arn)
        )
        resources[s.key] = {"kind": "sns_subscription", "topic_arn": s.topic_arn,
                            "subscription_arn": f"{s.topic_arn}:sub-1"}  # fmt: skip
    for m in desired.mappings:
        remote.mappings.setdefault(m.function_name, []).append(
            RemoteMapping("uuid-1", m.source_arn, m.batch_size,
                          m.maximum_batching_window_in_seconds, m.function_response_types,
                          m.starting_position)
        )  # fmt: skip
        resources[m.key] = {"kind": "event_source_mapping", "uuid": "uuid-1",
                            "source_arn": m.source_arn, "function_name": m.function_name}  # fmt: skip
    return remote, Record("app", "dev", "us-east-1", resources)


def kinds(plan: ins.Plan) -> list[str]:
    return [type(i).__name__ for i in plan]


def test_create_all_in_dependency_order() -> None:
    plan = p.plan(desired_state(), FakeRemote(), Record("app", "dev"))
    names = kinds(plan)
    assert names[0] == "CreateRole"
    assert names.count("CreateFunction") == 5
    assert names.index("CreateRestApi") > max(
        i for i, n in enumerate(names) if n == "CreateFunction"
    )
    assert names[names.index("CreateRestApi") :][:3] == [
        "CreateRestApi",
        "PutRestApi",
        "DeployRestApi",
    ]
    # S3 checks the invoke permission when the notification is put, so permissions come first.
    assert max(i for i, n in enumerate(names) if n == "AddPermission") < names.index(
        "PutS3Notification"
    )
    assert names[-3:] == ["PutS3Notification", "Subscribe", "CreateMapping"]
    api_permission = next(i for i in plan if isinstance(i, AddPermission))
    assert API_ID in api_permission.permission.source_arn  # resolved by the executor


def test_no_changes_gives_an_empty_plan() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    assert p.plan(desired, remote, record).instructions == ()


def test_code_change_updates_code_only() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    changed = attrs.evolve(
        desired,
        functions=tuple(
            attrs.evolve(f, code=attrs.evolve(f.code, code_sha256="sha-2"))
            for f in desired.functions
        ),
    )
    plan = p.plan(changed, remote, record)
    assert kinds(plan) == ["UpdateFunctionCode"] * 5
    assert plan.messages()[0] == "Updating code of function app-dev"


def test_config_change_updates_configuration_only() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    api_fn = desired.functions[0]
    bigger = attrs.evolve(api_fn, settings=attrs.evolve(api_fn.settings, memory_size=512))
    plan = p.plan(attrs.evolve(desired, functions=(bigger, *desired.functions[1:])), remote, record)
    assert kinds(plan) == ["UpdateFunctionConfiguration"]
    assert plan.messages() == ["Updating configuration of function app-dev (memory_size)"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"reserved_concurrency": 5}, ["PutFunctionConcurrency"], id="concurrency"),
        pytest.param({"tags": {"team": "a"}}, ["TagFunction"], id="tags"),
        pytest.param({"architecture": "arm64"}, ["UpdateFunctionCode"], id="architecture"),
        pytest.param({"log_retention_in_days": 7}, ["PutLogRetention"], id="log-retention"),
    ],
)
def test_other_function_changes(change: dict[str, Any], expected: list[str]) -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    fn = attrs.evolve(desired.functions[0], **change)
    plan = p.plan(attrs.evolve(desired, functions=(fn, *desired.functions[1:])), remote, record)
    assert kinds(plan) == expected


def test_tag_change_removes_stale_keys() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    fn = desired.functions[0]
    remote.functions[fn.function_name] = attrs.evolve(
        remote.functions[fn.function_name], tags={**fn.tags, "old": "x", "aws:cfn": "kept"}
    )
    (step,) = p.plan(desired, remote, record)
    assert isinstance(step, TagFunction)
    assert step.set_tags == {} and step.remove_keys == ("old",)


def test_removed_handler_deletes_wiring_then_function() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    smaller = attrs.evolve(
        desired,
        functions=tuple(f for f in desired.functions if f.logical_name != "tick"),
        permissions=tuple(x for x in desired.permissions if x.function_name != "app-dev-tick"),
    ).with_wired("rule", ())
    plan = p.plan(smaller, remote, record)
    assert kinds(plan) == ["DeleteRule", "DeleteFunction"]
    assert plan.messages() == [
        "Deleting EventBridge rule app-dev-tick",
        "Deleting function app-dev-tick",
    ]


def test_removal_of_everything_orders_roles_last() -> None:
    remote, record = deployed(desired_state())
    plan = p.plan_delete(record, remote)
    names = kinds(plan)
    # Reverse dependency order: what invokes a function first, then functions, roles last.
    assert (
        names.index("DeleteRestApi") < names.index("DeleteFunction") and names[-1] == "DeleteRole"
    )
    assert names.index("Unsubscribe") < names.index("DeleteFunction")
    assert names.index("DeleteMapping") < names.index("DeleteFunction")


def test_delete_forgets_what_is_already_gone() -> None:
    remote, record = deployed(desired_state())
    del remote.functions["app-dev-tick"]
    remote.rules.clear()
    plan = p.plan_delete(record, remote)
    assert ForgetResource("rule:app-dev-tick") in plan.instructions
    assert ForgetResource("function:app-dev-tick") in plan.instructions
    assert all(not isinstance(i, ins.LOCAL_ONLY) for i in plan.aws_changes)


def test_existing_resources_missing_from_record_are_adopted_not_recreated() -> None:
    desired = desired_state()
    remote, _ = deployed(desired)
    plan = p.plan(desired, remote, Record("app", "dev"))
    assert plan.aws_changes == ()
    assert all(isinstance(i, RecordResource) for i in plan)
    assert "rest_api:app-dev" in {i.key for i in plan if isinstance(i, RecordResource)}


def test_api_change_puts_and_redeploys_without_touching_functions() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    changed = attrs.evolve(desired, rest_api=attrs.evolve(desired.rest_api, fingerprint="fp-2"))
    assert kinds(p.plan(changed, remote, record)) == ["PutRestApi", "DeployRestApi"]


def test_permission_for_a_new_source_replaces_the_statement() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    remote.permissions["app-dev"]["fw-invoke"] = RemoteStatement(
        "fw-invoke", "apigateway.amazonaws.com", "arn:aws:execute-api:us-east-1:1:old/*"
    )
    plan = p.plan(desired, remote, record)
    assert kinds(plan) == ["RemovePermission", "AddPermission"]
    assert plan.instructions[1].permission.source_arn.endswith(":abc123/*")


def test_changed_wiring_settings_update_in_place() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    changed = desired.with_wired(
        "event_source_mapping", (attrs.evolve(desired.mappings[0], batch_size=10),)
    ).with_wired("rule", (attrs.evolve(desired.rules[0], schedule_expression="rate(1 hour)"),))
    plan = p.plan(changed, remote, record)
    assert kinds(plan) == ["PutRule", "UpdateMapping"]
    assert plan.instructions[1].uuid == "uuid-1"


def test_changed_stream_starting_position_recreates_the_mapping() -> None:
    # Lambda cannot update a mapping's StartingPosition, so the mapping is made again.
    stream = EventSourceMapping("kinesis", "arn:aws:kinesis:us-east-1:1:stream/s", "app-dev-work",
                                100, starting_position="LATEST")  # fmt: skip
    desired = desired_state().with_wired("event_source_mapping", (stream,))
    remote, record = deployed(desired)
    moved = attrs.evolve(stream, starting_position="TRIM_HORIZON")
    plan = p.plan(desired.with_wired("event_source_mapping", (moved,)), remote, record)
    assert plan.messages() == [
        "Deleting event source mapping arn:aws:kinesis:us-east-1:1:stream/s (uuid-1)",
        "Creating kinesis event source mapping arn:aws:kinesis:us-east-1:1:stream/s -> app-dev-work",
    ]


def test_s3_entry_of_other_owners_is_not_ours_to_remove() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    remote.buckets["bucket"].append({"Id": "someone-else", "QueueArn": "arn:aws:sqs:x"})
    assert p.plan(desired, remote, record).instructions == ()


def test_managed_layer_published_before_functions_that_use_it() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    layer = LambdaLayer(
        "app-dev-managed-layer", CodeArtifact(Path("l.zip"), "l-1", 1), "python3.12", "x86_64"
    )
    fn = desired.functions[0]
    with_layer = attrs.evolve(fn, settings=attrs.evolve(fn.settings, layers=(MANAGED_LAYER,)))
    changed = attrs.evolve(desired, layer=layer, functions=(with_layer, *desired.functions[1:]))
    assert kinds(p.plan(changed, remote, record)) == ["PublishLayer", "UpdateFunctionConfiguration"]
    # Once published with the same hash, the placeholder resolves to the latest version.
    arn = "arn:aws:lambda:us-east-1:1:layer:app-dev-managed-layer:1"
    remote.layers[layer.name] = RemoteLayer(arn, "l-1")
    remote.functions[fn.function_name] = attrs.evolve(
        remote.functions[fn.function_name], settings=attrs.evolve(fn.settings, layers=(arn,))
    )
    assert kinds(p.plan(changed, remote, record)) == ["RecordResource"]


def test_policy_documents_compare_as_iam_normalizes_them() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    role = desired.roles[0]
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
    new_role = attrs.evolve(
        role, policy_document={"Version": "2012-10-17", "Statement": [statement]}
    )
    normalized = {"Statement": [{"Resource": "*", "Action": "s3:GetObject", "Effect": "Allow"}],
                  "Version": "2012-10-17"}  # fmt: skip
    remote.roles[role.name] = attrs.evolve(
        remote.roles[role.name], policies={role.name: normalized}
    )
    assert p.plan(attrs.evolve(desired, roles=(new_role,)), remote, record).instructions == ()


def test_log_group_with_retention_is_adopted_into_the_record() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    fn = attrs.evolve(desired.functions[1], log_retention_in_days=14)
    remote.log_groups[fn.log_group] = RemoteLogGroup(fn.log_group, 14)
    changed = attrs.evolve(desired, functions=(desired.functions[0], fn, *desired.functions[2:]))
    plan = p.plan(changed, remote, record)
    assert plan.instructions == (
        RecordResource(
            "log_group:/aws/lambda/app-dev-tick", LogGroupEntry("/aws/lambda/app-dev-tick")
        ),
    )


def test_removed_handler_deletes_its_log_group_after_the_function() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    remote.log_groups["/aws/lambda/app-dev-tick"] = RemoteLogGroup("/aws/lambda/app-dev-tick", 7)
    remote.log_groups["/aws/lambda/app-dev"] = RemoteLogGroup("/aws/lambda/app-dev", None)
    smaller = attrs.evolve(
        desired,
        functions=tuple(f for f in desired.functions if f.logical_name != "tick"),
        permissions=tuple(x for x in desired.permissions if x.function_name != "app-dev-tick"),
    ).with_wired("rule", ())
    plan = p.plan(smaller, remote, record)
    assert plan.messages() == [
        "Deleting EventBridge rule app-dev-tick",
        "Deleting function app-dev-tick",
        "Deleting log group /aws/lambda/app-dev-tick",
    ]


def test_dropping_retention_keeps_the_recorded_log_group() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    group = "/aws/lambda/app-dev"
    remote.log_groups[group] = RemoteLogGroup(group, 7)
    resources = {**record.resources, f"log_group:{group}": {"kind": "log_group", "name": group}}
    assert p.plan(desired, remote, attrs.evolve(record, resources=resources)).instructions == ()


def test_delete_removes_recorded_and_lambda_made_log_groups() -> None:
    remote, record = deployed(desired_state())
    # Recorded by fw but deleted by hand; made by Lambda on first invocation, never recorded.
    gone, lambda_made = "/aws/lambda/app-dev-tick", "/aws/lambda/app-dev-work"
    resources = {**record.resources, f"log_group:{gone}": {"kind": "log_group", "name": gone}}
    remote.log_groups[lambda_made] = RemoteLogGroup(lambda_made, None)
    remote.log_groups["/aws/lambda/other-app"] = RemoteLogGroup("/aws/lambda/other-app", None)
    plan = p.plan_delete(attrs.evolve(record, resources=resources), remote)
    groups = [i for i in plan if isinstance(i, (DeleteLogGroup, ForgetResource))]
    assert groups == [
        ForgetResource(f"log_group:{gone}"),
        DeleteLogGroup(f"log_group:{lambda_made}", lambda_made),
    ]
    names = kinds(plan)
    assert names.index("DeleteLogGroup") > max(
        i for i, n in enumerate(names) if n == "DeleteFunction"
    )


@pytest.mark.parametrize(("old", "new"), [("EDGE", "REGIONAL"), ("REGIONAL", "PRIVATE")])
def test_endpoint_type_change_updates_the_api_then_redeploys(old: str, new: str) -> None:
    desired = desired_state()
    desired = attrs.evolve(desired, rest_api=attrs.evolve(desired.rest_api, endpoint_type=old))
    remote, record = deployed(desired)
    remote.apis["abc123"] = attrs.evolve(remote.apis["abc123"], endpoint_type=old)
    api = attrs.evolve(desired.rest_api, endpoint_type=new, fingerprint="fp-2")
    plan = p.plan(attrs.evolve(desired, rest_api=api), remote, record)
    assert kinds(plan) == ["UpdateEndpointType", "PutRestApi", "DeployRestApi"]
    assert plan.instructions[0] == UpdateEndpointType(api, "abc123", old)
    assert plan.messages()[0] == (
        f"Changing the endpoint type of REST API app-dev from {old} to {new}"
    )


@pytest.mark.parametrize(
    "published",
    [
        pytest.param({"runtimes": ("python3.11",)}, id="runtime"),
        pytest.param({"architectures": ("arm64",)}, id="architecture"),
        pytest.param({"code_sha256": "l-0"}, id="content"),
    ],
)
def test_layer_is_republished_when_its_version_does_not_fit(published: dict[str, Any]) -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    layer = LambdaLayer(
        "app-dev-managed-layer", CodeArtifact(Path("l.zip"), "l-1", 1), "python3.12", "x86_64"
    )
    arn = "arn:aws:lambda:us-east-1:1:layer:app-dev-managed-layer:1"
    fits = RemoteLayer(arn, "l-1", ("python3.12",), ("x86_64",))
    remote.layers[layer.name] = fits
    entry = {"kind": "layer", "name": layer.name, "version_arn": arn}
    record = attrs.evolve(record, resources={**record.resources, layer.key: entry})
    with_layer = attrs.evolve(desired, layer=layer)
    assert p.plan(with_layer, remote, record).instructions == ()
    remote.layers[layer.name] = attrs.evolve(fits, **published)
    assert kinds(p.plan(with_layer, remote, record)) == ["PublishLayer"]


QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"


@pytest.mark.parametrize(
    ("visibility_timeout", "refused"),
    [(30, True), (60, False), (360, False)],
    ids=["shorter-than-the-function", "equal", "six-times"],
)
def test_queue_hiding_messages_for_less_than_the_function_runs_is_refused(
    visibility_timeout: int, refused: bool
) -> None:
    # "Creating and configuring an Amazon SQS event source mapping": the function's timeout
    # (60 s here) must not exceed the queue's visibility timeout, or Lambda refuses the mapping.
    remote = FakeRemote(queues={QUEUE_ARN: RemoteQueue(QUEUE_ARN, visibility_timeout)})
    if not refused:
        assert any(
            isinstance(s, CreateMapping)
            for s in p.plan(desired_state(), remote, Record("app", "dev"))
        )
        return
    with pytest.raises(DeployError) as info:
        p.plan(desired_state(), remote, Record("app", "dev"))
    assert "timeout of 60 s" in str(info.value) and "(30 s)" in str(info.value)


def test_a_mapping_left_as_it_is_is_not_checked_against_its_queue() -> None:
    # Lambda checks the visibility timeout when a mapping is created or updated, not when the
    # function's timeout changes later: a deployed mapping that stays is not refused.
    remote, record = deployed(desired_state())
    remote.queues[QUEUE_ARN] = RemoteQueue(QUEUE_ARN, 30)
    plan = p.plan(desired_state(), remote, record)
    assert not any(isinstance(s, (CreateMapping, UpdateMapping)) for s in plan)


def test_a_queue_fw_cannot_read_is_left_to_lambda() -> None:
    # remote.queue answers None for a queue it may not read (another account's): no refusal.
    assert any(
        isinstance(s, CreateMapping)
        for s in p.plan(desired_state(), FakeRemote(), Record("app", "dev"))
    )


def test_sqs_queues_are_read_with_the_other_remote_state() -> None:
    assert ("queue", (QUEUE_ARN,)) in p.reads_for(desired_state(), Record("app", "dev"))


def test_a_role_policy_over_iams_size_limit_is_refused_before_any_write() -> None:
    desired = desired_state()
    (role, *others) = desired.roles
    big = {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::b/" + "k" * 10_300],
    }
    document = {**role.policy_document, "Statement": [*role.policy_document["Statement"], big]}
    desired = attrs.evolve(desired, roles=(attrs.evolve(role, policy_document=document), *others))
    with pytest.raises(
        DeployError, match=r"the policy of role app-dev is 10\d{3} characters, over IAM's 10240"
    ):
        p.plan(desired, FakeRemote(), Record("app", "dev"))


def test_the_size_check_counts_the_roles_other_inline_policies() -> None:
    # "IAM and AWS STS quotas": 10,240 characters for all of a role's inline policies together,
    # so two policies each under the quota are refused when their sum is over it.
    from deployer.deploy.kinds.role_policy import websocket_policy
    from deployer.policy.triggers import ArnScope

    desired = desired_state()
    (role, *others) = desired.roles
    filler = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/"]}
    size = len(json.dumps(role.policy_document, separators=(",", ":")))
    grant = websocket_policy(role.name, "api", ArnScope("aws", "us-east-1", "123456789012"))
    grant_size = len(json.dumps(grant.document, separators=(",", ":")))
    filler["Resource"] = ["arn:aws:s3:::b/" + "k" * (10_240 - size - grant_size)]
    document = {**role.policy_document, "Statement": [*role.policy_document["Statement"], filler]}
    alone = attrs.evolve(desired, roles=(attrs.evolve(role, policy_document=document), *others))
    assert len(json.dumps(document, separators=(",", ":"))) < 10_240
    p.plan(alone, FakeRemote(), Record("app", "dev"))
    with pytest.raises(DeployError, match=r"the policy of role app-dev is 10\d{3} characters"):
        p.plan(attrs.evolve(alone, role_policies=(grant,)), FakeRemote(), Record("app", "dev"))


def test_two_invokers_of_one_function_are_added_once_then_left_alone() -> None:
    """A function two services invoke gets one statement per invoker (the first keeps
    ``fw-invoke``, so stages deployed before keep theirs): planned once, then nothing."""
    desired = desired_state()
    tick = desired.functions[1]
    rule_source = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/app-dev-tick"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:other"
    two = statement_ids([
        Permission(tick.function_name, "fw-invoke", "events.amazonaws.com", rule_source),
        Permission(tick.function_name, "fw-invoke", "sns.amazonaws.com", topic),
    ])  # fmt: skip
    assert [perm.statement_id for perm in two][0] == "fw-invoke"
    assert two[1].statement_id.startswith("fw-invoke-") and two == statement_ids(list(two))
    others = [perm for perm in desired.permissions if perm.function_name != tick.function_name]
    desired = attrs.evolve(desired, permissions=(*others, *two))
    remote, record = deployed(desired)
    del remote.permissions[tick.function_name]
    plan = p.plan(desired, remote, record)
    assert kinds(plan) == ["AddPermission", "AddPermission"]
    assert {step.permission.statement_id for step in plan} == {t.statement_id for t in two}
    remote, record = deployed(desired)
    assert list(p.plan(desired, remote, record)) == []


def test_an_untagged_api_kept_from_the_record_is_tagged_once() -> None:
    desired = desired_state()
    remote, record = deployed(desired)
    remote.apis["abc123"] = attrs.evolve(remote.apis["abc123"], deployment=None)
    plan = p.plan(desired, remote, record)
    assert plan.messages() == ["Tagging REST API app-dev (abc123) as app/dev's"]
    remote.apis["abc123"] = attrs.evolve(remote.apis["abc123"], deployment="app/dev")
    assert list(p.plan(desired, remote, record)) == []
