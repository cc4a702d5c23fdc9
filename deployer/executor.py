"""Carry out a plan with boto3, recording every resource the moment it exists.

The only module of the deployer with side effects on AWS. Each instruction type has one handler
in ``_HANDLERS`` (an explicit table, so a new instruction without a handler fails loudly). A
failed call ends the run with a DeployError naming the resource, the call and AWS's message;
everything done before it is already in the record, so the next deploy resumes from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import botocore.exceptions

from .aws import AwsContext, error_message
from .errors import DeployError
from .instructions import (
    AddPermission,
    CreateFunction,
    CreateMapping,
    CreateRestApi,
    CreateRole,
    DeleteFunction,
    DeleteLayer,
    DeleteLogGroup,
    DeleteMapping,
    DeleteRestApi,
    DeleteRole,
    DeleteRule,
    DeployRestApi,
    ForgetResource,
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
    RemoveS3Notification,
    Subscribe,
    TagFunction,
    Unsubscribe,
    UpdateAssumeRolePolicy,
    UpdateEndpointType,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
    UpdateMapping,
)
from .models import API_ID, MANAGED_LAYER, LambdaFunction, S3Notification, log_group_key
from .planner import s3_filter_rules
from .remote import error_code
from .state import StateFile

__all__ = ["ROLE_RETRY_DELAYS", "Executor", "display_plan"]

# A new IAM role takes a few seconds to reach Lambda; until then CreateFunction fails with
# InvalidParameterValueException "The role defined for the function cannot be assumed by
# Lambda". Retry on this schedule (about 40 s in all), then give up.
ROLE_RETRY_DELAYS: tuple[float, ...] = (1, 2, 3, 5, 8, 10, 10)
# Lambda refuses a configuration update while a code update (or creation) is in progress;
# poll LastUpdateStatus/State on this schedule before the next change.
READY_POLL_DELAYS: tuple[float, ...] = (0.5, 1, 1, 2, 2, 3, 5, 5, 10, 10, 10, 10)
_ROLE_NOT_READY = "cannot be assumed by lambda"
# Deleting something already gone counts as done (a second fw delete, a manual cleanup).
_GONE = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NotFound",
})  # fmt: skip


def display_plan(plan: Plan, report: Callable[[str], None]) -> None:
    """The dry-run executor: report each instruction's message and call nothing."""
    if not plan.instructions:
        report("No changes.")
    for instruction in plan:
        report(f"Would: {instruction.message}")


@attrs.define
class Executor:
    """Applies plans for one stage: ``aws`` to call, ``state`` to record into."""

    aws: AwsContext
    state: StateFile
    report: Callable[[str], None] = lambda message: None
    sleep: Callable[[float], None] = time.sleep
    role_retry_delays: tuple[float, ...] = ROLE_RETRY_DELAYS
    ready_poll_delays: tuple[float, ...] = READY_POLL_DELAYS
    # Functions changed during this run, so the next change waits until they are ready.
    _touched: set[str] = attrs.field(factory=set, init=False)

    def execute(self, plan: Plan) -> list[str]:
        """Apply every instruction in order; return the messages of those applied."""
        done = []
        for instruction in plan:
            self.report(instruction.message)
            handler = _HANDLERS[type(instruction)]
            try:
                handler(self, instruction)
            except botocore.exceptions.ClientError as err:
                raise DeployError(
                    f"{_lower_first(instruction.message)} failed"
                    f" ({err.operation_name}): {error_message(err)}"
                ) from err
            except botocore.exceptions.BotoCoreError as err:
                raise DeployError(f"{_lower_first(instruction.message)} failed: {err}") from err
            done.append(instruction.message)
        return done

    # --- helpers ------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        return self.aws.client(service)

    def _resolve(self, value: str) -> str:
        """Substitute ids that only exist once created (the API id, the layer version)."""
        record = self.state.record
        if API_ID in value:
            api_id = record.rest_api_id()
            if api_id is None:
                raise DeployError("internal error: the REST API id is not recorded yet")
            value = value.replace(API_ID, api_id)
        if MANAGED_LAYER in value:
            layers = record.of_kind("layer")
            if not layers:
                raise DeployError("internal error: the managed layer is not recorded yet")
            value = value.replace(MANAGED_LAYER, next(iter(layers.values()))["version_arn"])
        return value

    def _with_role_retry(self, call: Callable[[], Any]) -> Any:
        for delay in (*self.role_retry_delays, None):
            try:
                return call()
            except botocore.exceptions.ClientError as err:
                not_ready = (
                    error_code(err) == "InvalidParameterValueException"
                    and _ROLE_NOT_READY in error_message(err).lower()
                )
                if not not_ready or delay is None:
                    raise
                self.report(f"  the new IAM role is not usable by Lambda yet; retrying in {delay}s")
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_ready(self, function_name: str) -> None:
        """Wait until Lambda accepts another change to a function this run just changed."""
        if function_name not in self._touched:
            return
        client = self._client("lambda")
        for delay in (*self.ready_poll_delays, None):
            config = client.get_function_configuration(FunctionName=function_name)
            busy = (
                config.get("State") == "Pending" or config.get("LastUpdateStatus") == "InProgress"
            )
            if not busy:
                return
            if delay is None:
                raise DeployError(
                    f"function {function_name} is still being updated by Lambda"
                    f" (State {config.get('State')}, LastUpdateStatus"
                    f" {config.get('LastUpdateStatus')}); run the deploy again shortly"
                )
            self.sleep(delay)

    def _function_settings(self, function: LambdaFunction) -> dict[str, Any]:
        s = function.settings
        return {
            "Role": s.role_arn,
            "Handler": s.handler,
            "Runtime": s.runtime,
            "MemorySize": s.memory_size,
            "Timeout": s.timeout,
            "Environment": {"Variables": dict(s.environment)},
            "Layers": [self._resolve(layer) for layer in s.layers],
            "VpcConfig": {
                "SubnetIds": sorted(s.subnet_ids),
                "SecurityGroupIds": sorted(s.security_group_ids),
            },
            "TracingConfig": {"Mode": "Active" if s.xray else "PassThrough"},
        }


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _ignore_gone(call: Callable[[], Any]) -> None:
    try:
        call()
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in _GONE:
            raise


def _read_zip(function: LambdaFunction) -> bytes:
    try:
        return function.code.path.read_bytes()
    except OSError as err:
        raise DeployError(
            f"cannot read the deployment package {str(function.code.path)!r}: {err}"
        ) from err


# --- roles ------------------------------------------------------------------------------


def _create_role(ex: Executor, step: CreateRole) -> None:
    import json

    iam = ex._client("iam")
    role = step.role
    try:
        arn = iam.create_role(
            RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy)
        )["Role"]["Arn"]
    except botocore.exceptions.ClientError as err:
        # Created by an earlier run that stopped before recording it: adopt it.
        if error_code(err) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=role.name)["Role"]["Arn"]
    ex.state.put(role.key, {"kind": "role", "name": role.name, "arn": arn})
    _put_role_policy(ex, PutRolePolicy(role))


def _put_role_policy(ex: Executor, step: PutRolePolicy) -> None:
    import json

    role = step.role
    ex._client("iam").put_role_policy(
        RoleName=role.name,
        PolicyName=role.policy_name,
        PolicyDocument=json.dumps(role.policy_document),
    )


def _update_trust(ex: Executor, step: UpdateAssumeRolePolicy) -> None:
    import json

    ex._client("iam").update_assume_role_policy(
        RoleName=step.role.name, PolicyDocument=json.dumps(step.role.trust_policy)
    )


def _delete_role(ex: Executor, step: DeleteRole) -> None:
    iam = ex._client("iam")
    try:
        names = iam.list_role_policies(RoleName=step.name)["PolicyNames"]
        for name in names:
            _ignore_gone(lambda n=name: iam.delete_role_policy(RoleName=step.name, PolicyName=n))
        _ignore_gone(lambda: iam.delete_role(RoleName=step.name))
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in _GONE:
            raise
    ex.state.remove(step.key)


# --- layer ------------------------------------------------------------------------------


def _publish_layer(ex: Executor, step: PublishLayer) -> None:
    layer = step.layer
    try:
        content = layer.code.path.read_bytes()
    except OSError as err:
        raise DeployError(f"cannot read the layer package {str(layer.code.path)!r}: {err}") from err
    result = ex._client("lambda").publish_layer_version(
        LayerName=layer.name,
        Content={"ZipFile": content},
        CompatibleRuntimes=[layer.runtime],
        CompatibleArchitectures=[layer.architecture],
    )
    ex.state.put(
        layer.key,
        {"kind": "layer", "name": layer.name, "version_arn": result["LayerVersionArn"]},
    )


def _delete_layer(ex: Executor, step: DeleteLayer) -> None:
    client = ex._client("lambda")
    for version in step.versions:
        # DeleteLayerVersion succeeds for a version already deleted; _ignore_gone is for safety.
        _ignore_gone(
            lambda v=version: client.delete_layer_version(LayerName=step.name, VersionNumber=v)
        )
    ex.state.remove(step.key)


# --- functions --------------------------------------------------------------------------


def _create_function(ex: Executor, step: CreateFunction) -> None:
    function = step.function
    client = ex._client("lambda")
    settings = ex._function_settings(function)
    if not function.settings.subnet_ids:
        del settings["VpcConfig"]
    zip_bytes = _read_zip(function)
    result = ex._with_role_retry(
        lambda: client.create_function(
            FunctionName=function.function_name,
            Code={"ZipFile": zip_bytes},
            Architectures=[function.architecture],
            Tags=dict(function.tags),
            **settings,
        )
    )
    ex._touched.add(function.function_name)
    ex.state.put(
        function.key,
        {"kind": "function", "name": function.function_name, "arn": result["FunctionArn"]},
    )


def _update_code(ex: Executor, step: UpdateFunctionCode) -> None:
    function = step.function
    ex._wait_ready(function.function_name)
    ex._client("lambda").update_function_code(
        FunctionName=function.function_name,
        ZipFile=_read_zip(function),
        Architectures=[function.architecture],
    )
    ex._touched.add(function.function_name)


def _update_configuration(ex: Executor, step: UpdateFunctionConfiguration) -> None:
    function = step.function
    ex._wait_ready(function.function_name)
    client = ex._client("lambda")
    settings = ex._function_settings(function)
    ex._with_role_retry(
        lambda: client.update_function_configuration(
            FunctionName=function.function_name, **settings
        )
    )
    ex._touched.add(function.function_name)


def _put_concurrency(ex: Executor, step: PutFunctionConcurrency) -> None:
    client = ex._client("lambda")
    if step.reserved is None:
        client.delete_function_concurrency(FunctionName=step.function_name)
    else:
        client.put_function_concurrency(
            FunctionName=step.function_name, ReservedConcurrentExecutions=step.reserved
        )


def _tag_function(ex: Executor, step: TagFunction) -> None:
    client = ex._client("lambda")
    if step.set_tags:
        client.tag_resource(Resource=step.arn, Tags=dict(step.set_tags))
    if step.remove_keys:
        client.untag_resource(Resource=step.arn, TagKeys=list(step.remove_keys))


def _put_log_retention(ex: Executor, step: PutLogRetention) -> None:
    logs = ex._client("logs")
    group = step.group
    try:
        # Lambda creates the group on the first invocation; create it now to set retention.
        logs.create_log_group(logGroupName=group)
    except botocore.exceptions.ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
    ex.state.put(log_group_key(group), {"kind": "log_group", "name": group})
    logs.put_retention_policy(logGroupName=group, retentionInDays=step.days)


def _delete_log_group(ex: Executor, step: DeleteLogGroup) -> None:
    _ignore_gone(lambda: ex._client("logs").delete_log_group(logGroupName=step.name))
    ex.state.remove(step.key)


def _delete_function(ex: Executor, step: DeleteFunction) -> None:
    _ignore_gone(lambda: ex._client("lambda").delete_function(FunctionName=step.name))
    ex.state.remove(step.key)


# --- REST API ---------------------------------------------------------------------------


def _create_rest_api(ex: Executor, step: CreateRestApi) -> None:
    api = step.api
    result = ex._client("apigateway").create_rest_api(
        name=api.name,
        description=f"fw app {api.name}",
        endpointConfiguration={"types": [api.endpoint_type]},
    )
    ex.state.put(
        api.key,
        {
            "kind": "rest_api",
            "name": api.name,
            "id": result["id"],
            "stage": api.stage_name,
            "fingerprint": None,
        },
    )


def _update_endpoint_type(ex: Executor, step: UpdateEndpointType) -> None:
    ex._client("apigateway").update_rest_api(
        restApiId=step.api_id,
        patchOperations=[
            {
                "op": "replace",
                "path": f"/endpointConfiguration/types/{step.old}",
                "value": step.api.endpoint_type,
            }
        ],
    )


def _put_rest_api(ex: Executor, step: PutRestApi) -> None:
    import json

    api_id = ex._resolve(API_ID)
    ex._client("apigateway").put_rest_api(
        restApiId=api_id,
        mode="overwrite",
        failOnWarnings=False,
        body=json.dumps(step.api.document, sort_keys=True).encode(),
    )


def _deploy_rest_api(ex: Executor, step: DeployRestApi) -> None:
    api = step.api
    api_id = ex._resolve(API_ID)
    # The fingerprint rides in the deployment's description: the next deploy reads it from the
    # stage to know whether the stage serves the current document.
    ex._client("apigateway").create_deployment(
        restApiId=api_id, stageName=api.stage_name, description=api.fingerprint
    )
    entry = dict(ex.state.record.get(api.key) or {})
    entry.update(
        {
            "kind": "rest_api",
            "name": api.name,
            "id": api_id,
            "stage": api.stage_name,
            "fingerprint": api.fingerprint,
        }
    )
    ex.state.put(api.key, entry)


def _delete_rest_api(ex: Executor, step: DeleteRestApi) -> None:
    _ignore_gone(lambda: ex._client("apigateway").delete_rest_api(restApiId=step.api_id))
    ex.state.remove(step.key)


# --- permissions ------------------------------------------------------------------------


def _add_permission(ex: Executor, step: AddPermission) -> None:
    p = step.permission
    kwargs: dict[str, Any] = {
        "FunctionName": p.function_name,
        "StatementId": p.statement_id,
        "Action": "lambda:InvokeFunction",
        "Principal": p.principal,
        "SourceArn": ex._resolve(p.source_arn),
    }
    if p.source_account:
        kwargs["SourceAccount"] = p.source_account
    ex._client("lambda").add_permission(**kwargs)


def _remove_permission(ex: Executor, step: RemovePermission) -> None:
    _ignore_gone(
        lambda: ex._client("lambda").remove_permission(
            FunctionName=step.function_name, StatementId=step.statement_id
        )
    )


# --- EventBridge ------------------------------------------------------------------------


def _put_rule(ex: Executor, step: PutRule) -> None:
    rule = step.rule
    events = ex._client("events")
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
    ex.state.put(rule.key, {"kind": "rule", "name": rule.name})
    events.put_targets(Rule=rule.name, Targets=[{"Id": "1", "Arn": rule.function_arn}])


def _delete_rule(ex: Executor, step: DeleteRule) -> None:
    events = ex._client("events")
    try:
        targets = events.list_targets_by_rule(Rule=step.name).get("Targets", [])
        if targets:
            events.remove_targets(Rule=step.name, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=step.name)
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in _GONE:
            raise
    ex.state.remove(step.key)


# --- S3 ---------------------------------------------------------------------------------


def _bucket_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    return current


def _s3_entry(notification: S3Notification) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": notification.id,
        "LambdaFunctionArn": notification.function_arn,
        "Events": list(notification.events),
    }
    rules = s3_filter_rules(notification)
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": rules}}
    return entry


def _put_s3_notification(ex: Executor, step: PutS3Notification) -> None:
    n = step.notification
    s3 = ex._client("s3")
    # A bucket has one notification configuration: read it now (not at plan time, another
    # instruction may have just changed it) and replace only our entry.
    config = _bucket_configuration(s3, n.bucket)
    others = [c for c in config.get("LambdaFunctionConfigurations", []) if c.get("Id") != n.id]
    config["LambdaFunctionConfigurations"] = [*others, _s3_entry(n)]
    s3.put_bucket_notification_configuration(Bucket=n.bucket, NotificationConfiguration=config)
    ex.state.put(n.key, {"kind": "s3_notification", "bucket": n.bucket, "id": n.id})


def _remove_s3_notification(ex: Executor, step: RemoveS3Notification) -> None:
    s3 = ex._client("s3")
    try:
        config = _bucket_configuration(s3, step.bucket)
    except botocore.exceptions.ClientError as err:
        if error_code(err) != "NoSuchBucket":
            raise
    else:
        entries = config.get("LambdaFunctionConfigurations", [])
        kept = [c for c in entries if c.get("Id") != step.id]
        if len(kept) != len(entries):
            config["LambdaFunctionConfigurations"] = kept
            s3.put_bucket_notification_configuration(
                Bucket=step.bucket, NotificationConfiguration=config
            )
    ex.state.remove(step.key)


# --- SNS, event source mappings -----------------------------------------------------------


def _subscribe(ex: Executor, step: Subscribe) -> None:
    s = step.subscription
    result = ex._client("sns").subscribe(
        TopicArn=s.topic_arn, Protocol="lambda", Endpoint=s.function_arn, ReturnSubscriptionArn=True
    )
    ex.state.put(
        s.key,
        {
            "kind": "sns_subscription",
            "topic_arn": s.topic_arn,
            "subscription_arn": result["SubscriptionArn"],
        },
    )


def _unsubscribe(ex: Executor, step: Unsubscribe) -> None:
    _ignore_gone(lambda: ex._client("sns").unsubscribe(SubscriptionArn=step.subscription_arn))
    ex.state.remove(step.key)


def _mapping_settings(step: CreateMapping | UpdateMapping) -> dict[str, Any]:
    m = step.mapping
    settings: dict[str, Any] = {
        "BatchSize": m.batch_size,
        "MaximumBatchingWindowInSeconds": m.maximum_batching_window_in_seconds,
        "FunctionResponseTypes": list(m.function_response_types),
    }
    return settings


def _create_mapping(ex: Executor, step: CreateMapping) -> None:
    m = step.mapping
    kwargs = _mapping_settings(step)
    if m.starting_position:
        kwargs["StartingPosition"] = m.starting_position
    result = ex._client("lambda").create_event_source_mapping(
        EventSourceArn=m.source_arn, FunctionName=m.function_name, Enabled=True, **kwargs
    )
    ex.state.put(
        m.key,
        {
            "kind": "event_source_mapping",
            "uuid": result["UUID"],
            "source_arn": m.source_arn,
            "function_name": m.function_name,
        },
    )


def _update_mapping(ex: Executor, step: UpdateMapping) -> None:
    ex._client("lambda").update_event_source_mapping(UUID=step.uuid, **_mapping_settings(step))


def _delete_mapping(ex: Executor, step: DeleteMapping) -> None:
    _ignore_gone(lambda: ex._client("lambda").delete_event_source_mapping(UUID=step.uuid))
    ex.state.remove(step.key)


# --- record bookkeeping -------------------------------------------------------------------


def _record(ex: Executor, step: RecordResource) -> None:
    ex.state.put(step.key, step.entry)


def _forget(ex: Executor, step: ForgetResource) -> None:
    ex.state.remove(step.key)


_HANDLERS: Mapping[type, Callable[[Executor, Any], None]] = {
    CreateRole: _create_role,
    PutRolePolicy: _put_role_policy,
    UpdateAssumeRolePolicy: _update_trust,
    DeleteRole: _delete_role,
    PublishLayer: _publish_layer,
    DeleteLayer: _delete_layer,
    CreateFunction: _create_function,
    UpdateFunctionCode: _update_code,
    UpdateFunctionConfiguration: _update_configuration,
    PutFunctionConcurrency: _put_concurrency,
    TagFunction: _tag_function,
    PutLogRetention: _put_log_retention,
    DeleteLogGroup: _delete_log_group,
    DeleteFunction: _delete_function,
    CreateRestApi: _create_rest_api,
    UpdateEndpointType: _update_endpoint_type,
    PutRestApi: _put_rest_api,
    DeployRestApi: _deploy_rest_api,
    DeleteRestApi: _delete_rest_api,
    AddPermission: _add_permission,
    RemovePermission: _remove_permission,
    PutRule: _put_rule,
    DeleteRule: _delete_rule,
    PutS3Notification: _put_s3_notification,
    RemoveS3Notification: _remove_s3_notification,
    Subscribe: _subscribe,
    Unsubscribe: _unsubscribe,
    CreateMapping: _create_mapping,
    UpdateMapping: _update_mapping,
    DeleteMapping: _delete_mapping,
    RecordResource: _record,
    ForgetResource: _forget,
}

_unhandled = set(Instruction.__args__) - set(_HANDLERS)  # type: ignore[attr-defined]
assert not _unhandled, f"instructions without an executor handler: {_unhandled}"
