"""Compare the desired state with AWS and the record, and list what to change: a pure function.

``plan(desired, remote, record)`` asks ``remote`` (read-only) what exists and returns a
:class:`Plan`: an immutable, ordered tuple of instructions (defined in ``instructions``), each a
frozen record that says what to do and carries its own message. Nothing here calls AWS directly,
so the tests answer ``remote`` from a dict. Order is dependency order: roles and the layer before
the functions that use them, functions before the API and wiring that invoke them, permissions
before S3 notifications (S3 checks the permission when the notification is put), and removals
last (planned in ``removals``), wiring before functions before roles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

# The instruction types are re-exported: ``planner`` is where callers get a plan and its parts.
from deployer.deploy.instructions import (
    AddPermission,
    CreateFunction,
    CreateMapping,
    CreateRestApi,
    CreateRole,
    DeleteMapping,
    DeployRestApi,
    Instruction,
    Plan,
    PublishLayer,
    PutFunctionConcurrency,
    PutLogRetention,
    PutRestApi,
    PutRolePolicy,
    PutRule,
    PutS3Notification,
    RecordResource,
    RemovePermission,
    Subscribe,
    TagFunction,
    UpdateAssumeRolePolicy,
    UpdateEndpointType,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
    UpdateMapping,
)
from deployer.deploy.models import (
    API_ID,
    MANAGED_LAYER,
    DesiredState,
    EventRule,
    EventSourceMapping,
    FunctionSettings,
    LambdaFunction,
    LambdaLayer,
    ManagedRole,
    Permission,
    RestApi,
    S3Notification,
    SNSSubscription,
    log_group_key,
)
from deployer.deploy.remote import RemoteFunction, RemoteState
from deployer.deploy.removals import plan_removals, removal_reads
from deployer.deploy.sources import check_sources, source_reads
from deployer.deploy.state import Record
from deployer.errors import DeployError

__all__ = ["plan", "plan_delete", "reads_for", "s3_filter_rules"]

# Statement ids fw owns on its functions' resource policies; others are left alone.
_OWN_SID_PREFIX = "fw-"


# --- planning -------------------------------------------------------------------------------


def resolve_layers(layers: tuple[str, ...], layer_arn: str | None) -> tuple[str, ...]:
    """Substitute the managed layer's version ARN where known; keep the placeholder otherwise."""
    if layer_arn is None:
        return layers
    return tuple(layer_arn if a == MANAGED_LAYER else a for a in layers)


def plan(desired: DesiredState, remote: RemoteState, record: Record) -> Plan:
    """The instructions that make AWS match ``desired``, given what ``remote`` reports.

    A plan AWS would refuse halfway is refused here, before anything is written.
    """
    _check_policy_sizes(desired)
    check_sources(desired, remote)
    steps: list[Instruction] = []
    for role in desired.roles:
        steps += _plan_role(role, remote, record)
    layer_arn = None
    if desired.layer is not None:
        layer_steps, layer_arn = _plan_layer(desired.layer, remote, record)
        steps += layer_steps
    existing: dict[str, RemoteFunction | None] = {}
    for function in desired.functions:
        remote_fn = remote.function(function.function_name)
        existing[function.function_name] = remote_fn
        steps += _plan_function(function, remote_fn, remote, record, layer_arn)
    api_id = None
    if desired.rest_api is not None:
        api_steps, api_id = _plan_rest_api(desired.rest_api, remote, record)
        steps += api_steps
    steps += _plan_permissions(desired, existing, remote, api_id)
    for rule in desired.rules:
        steps += _plan_rule(rule, remote, record)
    steps += _plan_s3(desired.s3_notifications, remote, record)
    for subscription in desired.sns_subscriptions:
        steps += _plan_subscription(subscription, remote, record)
    mapping_steps: list[Instruction] = []
    for mapping in desired.mappings:
        exists = existing.get(mapping.function_name) is not None
        mapping_steps += _plan_mapping(mapping, remote, record, exists)
    _check_queues(desired, remote, mapping_steps)
    steps += mapping_steps
    steps += plan_removals(record, remote, keep=desired.keys())
    return Plan(tuple(steps))


def plan_delete(record: Record, remote: RemoteState) -> Plan:
    """The instructions that remove everything ``record`` holds, skipping what is gone."""
    return Plan(tuple(plan_removals(record, remote, keep=frozenset())))


def reads_for(desired: DesiredState | None, record: Record) -> list[tuple[str, tuple[Any, ...]]]:
    """The ``(RemoteState method, args)`` questions ``plan`` will ask, so they can be prefetched
    concurrently. Only a speed-up: a question missing here is simply asked when needed."""
    questions: list[tuple[str, tuple[Any, ...]]] = []
    keep: frozenset[str] = frozenset()
    if desired is not None:
        keep = desired.keys()
        questions += [("role", (r.name,)) for r in desired.roles]
        if desired.layer is not None:
            questions.append(("layer", (desired.layer.name,)))
        for f in desired.functions:
            questions += [
                ("function", (f.function_name,)),
                ("function_permissions", (f.function_name,)),
            ]
            if f.log_retention_in_days is not None:
                questions.append(("log_group", (f.log_group,)))
        if desired.rest_api is not None:
            api = desired.rest_api
            questions.append(("rest_api", (record.rest_api_id(), api.name, api.stage_name)))
        questions += [("rule", (r.name,)) for r in desired.rules]
        questions += [("s3_notifications", (n.bucket,)) for n in desired.s3_notifications]
        questions += [("sns_subscriptions", (s.topic_arn,)) for s in desired.sns_subscriptions]
        questions += [("event_source_mappings", (m.function_name,)) for m in desired.mappings]
        questions += [
            ("queue", (m.source_arn,)) for m in desired.mappings if m.source_kind == "sqs"
        ]
        questions += source_reads(desired)
    questions += removal_reads(record, keep)
    return questions


# "IAM and AWS STS quotas": a role's inline policies hold at most 10,240 characters in total;
# IAM does not count white space.
MAX_ROLE_POLICY_CHARS = 10_240


def _check_policy_sizes(desired: DesiredState) -> None:
    """Refuse a role policy IAM would refuse, before the deploy writes anything."""
    import json

    for role in desired.roles:
        size = len(json.dumps(role.policy_document, separators=(",", ":")))
        if size > MAX_ROLE_POLICY_CHARS:
            raise DeployError(
                f"the policy of role {role.name} is {size} characters, over IAM's"
                f" {MAX_ROLE_POLICY_CHARS} for a role's inline policies; give some functions"
                " their own role (a different iam_policy_file or autogen_policy per function"
                " in lambda_functions), or set manage_iam_role to false with an iam_role_arn"
            )


def _check_queues(
    desired: DesiredState, remote: RemoteState, mapping_steps: list[Instruction]
) -> None:
    """Refuse a mapping the plan writes whose function outlasts its queue's visibility timeout.

    "Creating and configuring an Amazon SQS event source mapping" (Lambda): the function's
    timeout must be less than or equal to the queue's visibility timeout, and Lambda checks it
    when it creates or updates the mapping (not when the function's timeout changes later), so
    a mapping left as it is is not checked; the page advises six times the function timeout.
    """
    timeouts = {f.function_name: f.settings.timeout for f in desired.functions}
    written = [s.mapping for s in mapping_steps if isinstance(s, (CreateMapping, UpdateMapping))]
    for mapping in written:
        if mapping.source_kind != "sqs":
            continue
        queue = remote.queue(mapping.source_arn)
        timeout = timeouts.get(mapping.function_name)
        if queue is None or timeout is None or timeout <= queue.visibility_timeout:
            continue
        raise DeployError(
            f"function {mapping.function_name} has a timeout of {timeout} s, longer than the"
            f" visibility timeout of its queue {mapping.source_arn} ({queue.visibility_timeout} s),"
            " and Lambda refuses such a mapping; set lambda_timeout to at most"
            f" {queue.visibility_timeout} or raise the queue's VisibilityTimeout (AWS advises six"
            " times the function timeout)"
        )


def _record_if_missing(record: Record, key: str, entry: Mapping[str, Any]) -> list[Instruction]:
    recorded = record.get(key)
    if recorded is not None and all(recorded.get(k) == v for k, v in entry.items()):
        return []
    return [RecordResource(key, dict(entry))]


def _same_document(a: Any, b: Any) -> bool:
    # IAM normalizes documents (a one-item Action list may come back as a string, and key order
    # changes), so compare canonical forms rather than raw JSON.
    return _canonical_policy(a) == _canonical_policy(b)


def _canonical_policy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical_policy(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        items = [_canonical_policy(v) for v in value]
        if len(items) == 1 and not isinstance(items[0], (dict, list)):
            return items[0]
        return items
    return value


def _plan_role(role: ManagedRole, remote: RemoteState, record: Record) -> list[Instruction]:
    found = remote.role(role.name)
    if found is None:
        return [CreateRole(role)]
    steps: list[Instruction] = _record_if_missing(
        record, role.key, {"kind": "role", "name": role.name, "arn": found.arn}
    )
    if found.trust_policy is None or not _same_document(found.trust_policy, role.trust_policy):
        steps.append(UpdateAssumeRolePolicy(role))
    current = found.policies.get(role.policy_name)
    if current is None or not _same_document(current, role.policy_document):
        steps.append(PutRolePolicy(role))
    return steps


def _plan_layer(
    layer: LambdaLayer, remote: RemoteState, record: Record
) -> tuple[list[Instruction], str | None]:
    found = remote.layer(layer.name)
    # Pure-Python requirements give the same zip for every runtime and architecture, but the
    # version's compatible runtime/architecture must still follow the stage's settings.
    if (
        found is None
        or found.code_sha256 != layer.code.code_sha256
        or (found.runtimes and layer.runtime not in found.runtimes)
        or (found.architectures and layer.architecture not in found.architectures)
    ):
        return [PublishLayer(layer)], None
    entry = {"kind": "layer", "name": layer.name, "version_arn": found.version_arn}
    return _record_if_missing(record, layer.key, entry), found.version_arn


def _settings_diff(desired: FunctionSettings, actual: FunctionSettings) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in attrs.fields(FunctionSettings)
        if getattr(desired, field.name) != getattr(actual, field.name)
    )


def _plan_function(
    function: LambdaFunction,
    found: RemoteFunction | None,
    remote: RemoteState,
    record: Record,
    layer_arn: str | None,
) -> list[Instruction]:
    settings = attrs.evolve(
        function.settings, layers=resolve_layers(function.settings.layers, layer_arn)
    )
    function = attrs.evolve(function, settings=settings)
    if found is None:
        steps: list[Instruction] = [CreateFunction(function)]
        if function.reserved_concurrency is not None:
            steps.append(
                PutFunctionConcurrency(function.function_name, function.reserved_concurrency)
            )
        if function.log_retention_in_days is not None:
            steps.append(PutLogRetention(function.function_name, function.log_retention_in_days))
        return steps
    steps = _record_if_missing(
        record, function.key, {"kind": "function", "name": function.function_name, "arn": found.arn}
    )
    if (
        found.code_sha256 != function.code.code_sha256
        or found.architecture != function.architecture
    ):
        steps.append(UpdateFunctionCode(function))
    changed = _settings_diff(settings, found.settings)
    if changed:
        steps.append(UpdateFunctionConfiguration(function, changed))
    if found.reserved_concurrency != function.reserved_concurrency:
        steps.append(PutFunctionConcurrency(function.function_name, function.reserved_concurrency))
    to_set = {k: v for k, v in function.tags.items() if found.tags.get(k) != v}
    to_remove = tuple(
        sorted(k for k in found.tags if k not in function.tags and not k.startswith("aws:"))
    )
    if to_set or to_remove:
        steps.append(TagFunction(function.function_name, found.arn, to_set, to_remove))
    days = function.log_retention_in_days
    if days is not None:
        group = remote.log_group(function.log_group)
        if group is None or group.retention_in_days != days:
            steps.append(PutLogRetention(function.function_name, days))
        else:
            entry = {"kind": "log_group", "name": group.name}
            steps += _record_if_missing(record, log_group_key(group.name), entry)
    return steps


def _plan_rest_api(
    api: RestApi, remote: RemoteState, record: Record
) -> tuple[list[Instruction], str | None]:
    found = remote.rest_api(record.rest_api_id(), api.name, api.stage_name)
    if found is None:
        return [CreateRestApi(api), PutRestApi(api), DeployRestApi(api)], None
    recorded = record.get(api.key) or {}
    steps: list[Instruction] = []
    if recorded.get("id") != found.id or recorded.get("stage") != api.stage_name:
        entry = {
            "kind": "rest_api",
            "name": api.name,
            "id": found.id,
            "stage": api.stage_name,
            "fingerprint": found.deployed_fingerprint,
        }
        steps.append(RecordResource(api.key, entry))
    # The endpoint type lives on the API, outside the document, so it is changed on its own.
    # (It is also part of the fingerprint, so the stage is redeployed as well: harmless.)
    if found.endpoint_type is not None and found.endpoint_type != api.endpoint_type:
        steps.append(UpdateEndpointType(api, found.id, found.endpoint_type))
    # The stage's deployment carries the fingerprint of the document it was made from; if a
    # deploy stopped between PutRestApi and CreateDeployment, they differ and both run again.
    if found.deployed_fingerprint != api.fingerprint:
        steps += [PutRestApi(api), DeployRestApi(api)]
    return steps, found.id


def _plan_permissions(
    desired: DesiredState,
    existing: Mapping[str, RemoteFunction | None],
    remote: RemoteState,
    api_id: str | None,
) -> list[Instruction]:
    wanted: dict[str, list[Permission]] = {}
    for permission in desired.permissions:
        wanted.setdefault(permission.function_name, []).append(permission)
    steps: list[Instruction] = []
    for function in desired.functions:
        name = function.function_name
        statements = remote.function_permissions(name) if existing.get(name) else {}
        permissions = wanted.get(name, [])
        for permission in permissions:
            source = (
                permission.source_arn.replace(API_ID, api_id) if api_id else permission.source_arn
            )
            current = statements.get(permission.statement_id)
            if (
                current is not None
                and API_ID not in source
                and current.principal == permission.principal
                and current.source_arn == source
                and current.source_account == permission.source_account
            ):
                continue
            if current is not None:
                steps.append(RemovePermission(name, permission.statement_id))
            steps.append(AddPermission(attrs.evolve(permission, source_arn=source)))
        own = {p.statement_id for p in permissions}
        for sid in sorted(statements):
            if sid.startswith(_OWN_SID_PREFIX) and sid not in own:
                steps.append(RemovePermission(name, sid))
    return steps


def _same_pattern(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b


def _plan_rule(rule: EventRule, remote: RemoteState, record: Record) -> list[Instruction]:
    found = remote.rule(rule.name)
    if (
        found is None
        or found.schedule_expression != rule.schedule_expression
        or not _same_pattern(found.event_pattern, rule.event_pattern)
        or found.description != rule.description
        or found.target_arns != (rule.function_arn,)
    ):
        return [PutRule(rule)]
    return _record_if_missing(record, rule.key, {"kind": "rule", "name": rule.name})


def s3_filter_rules(notification: S3Notification) -> list[dict[str, str]]:
    """The notification's key filter; rule names lowercase (S3 accepts both, moto only these)."""
    rules = []
    if notification.prefix:
        rules.append({"Name": "prefix", "Value": notification.prefix})
    if notification.suffix:
        rules.append({"Name": "suffix", "Value": notification.suffix})
    return rules


def _same_s3(entry: Mapping[str, Any], notification: S3Notification) -> bool:
    rules = (entry.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
    actual = sorted((r["Name"].lower(), r["Value"]) for r in rules)
    expected = sorted((r["Name"], r["Value"]) for r in s3_filter_rules(notification))
    return (
        entry.get("LambdaFunctionArn") == notification.function_arn
        and tuple(sorted(entry.get("Events", []))) == notification.events
        and actual == expected
    )


def _plan_s3(
    notifications: tuple[S3Notification, ...], remote: RemoteState, record: Record
) -> list[Instruction]:
    steps: list[Instruction] = []
    by_bucket: dict[str, tuple[Mapping[str, Any], ...] | None] = {}
    for notification in notifications:
        if notification.bucket not in by_bucket:
            by_bucket[notification.bucket] = remote.s3_notifications(notification.bucket)
        entries = {e.get("Id"): e for e in by_bucket[notification.bucket] or ()}
        entry = entries.get(notification.id)
        if entry is None or not _same_s3(entry, notification):
            steps.append(PutS3Notification(notification))
            continue
        record_entry = {
            "kind": "s3_notification",
            "bucket": notification.bucket,
            "id": notification.id,
        }
        steps += _record_if_missing(record, notification.key, record_entry)
    return steps


def _plan_subscription(
    subscription: SNSSubscription, remote: RemoteState, record: Record
) -> list[Instruction]:
    for found in remote.sns_subscriptions(subscription.topic_arn) or ():
        if found.endpoint == subscription.function_arn and found.protocol == "lambda":
            entry = {
                "kind": "sns_subscription",
                "topic_arn": subscription.topic_arn,
                "subscription_arn": found.arn,
            }
            return _record_if_missing(record, subscription.key, entry)
    return [Subscribe(subscription)]


def _plan_mapping(
    mapping: EventSourceMapping, remote: RemoteState, record: Record, function_exists: bool
) -> list[Instruction]:
    found_all = remote.event_source_mappings(mapping.function_name) if function_exists else ()
    for found in found_all:
        if found.source_arn != mapping.source_arn:
            continue
        if mapping.starting_position and found.starting_position != mapping.starting_position:
            # UpdateEventSourceMapping cannot change where a stream is read from.
            delete = DeleteMapping(mapping.key, found.uuid, mapping.source_arn)
            return [delete, CreateMapping(mapping)]
        steps = _record_if_missing(
            record,
            mapping.key,
            {
                "kind": "event_source_mapping",
                "uuid": found.uuid,
                "source_arn": mapping.source_arn,
                "function_name": mapping.function_name,
            },
        )
        if (
            found.batch_size != mapping.batch_size
            or found.maximum_batching_window_in_seconds
            != mapping.maximum_batching_window_in_seconds
            or tuple(sorted(found.function_response_types))
            != tuple(sorted(mapping.function_response_types))
        ):
            steps.append(UpdateMapping(found.uuid, mapping))
        return steps
    return [CreateMapping(mapping)]
