"""The executor's handlers for what invokes the functions: the REST API, invoke permissions,
EventBridge rules, S3 notifications, SNS subscriptions and event source mappings.

Split from ``executor`` along the AWS services they call; the executor's table includes
``TRIGGER_HANDLERS``. Each handler records a resource the moment it exists, as there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from deployer.deploy.aws import GONE, error_code, ignore_gone
from deployer.deploy.instructions import (
    AddPermission,
    CreateMapping,
    CreateRestApi,
    DeleteMapping,
    DeleteRestApi,
    DeleteRule,
    DeployRestApi,
    PutRestApi,
    PutRule,
    PutS3Notification,
    RemovePermission,
    RemoveS3Notification,
    Subscribe,
    Unsubscribe,
    UpdateEndpointType,
    UpdateMapping,
)
from deployer.deploy.models import API_ID, S3Notification
from deployer.deploy.planner import s3_filter_rules

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor

__all__ = ["TRIGGER_HANDLERS"]


# --- REST API ---------------------------------------------------------------------------


def _create_rest_api(ex: Executor, step: CreateRestApi) -> None:
    api = step.api
    result = ex.client("apigateway").create_rest_api(
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
    ex.client("apigateway").update_rest_api(
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
    api_id = ex.resolve(API_ID)
    ex.client("apigateway").put_rest_api(
        restApiId=api_id,
        mode="overwrite",
        failOnWarnings=False,
        body=json.dumps(step.api.document, sort_keys=True).encode(),
    )


def _deploy_rest_api(ex: Executor, step: DeployRestApi) -> None:
    api = step.api
    api_id = ex.resolve(API_ID)
    # The fingerprint rides in the deployment's description: the next deploy reads it from the
    # stage to know whether the stage serves the current document.
    ex.client("apigateway").create_deployment(
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
    ignore_gone(lambda: ex.client("apigateway").delete_rest_api(restApiId=step.api_id))
    ex.state.remove(step.key)


# --- permissions ------------------------------------------------------------------------


def _add_permission(ex: Executor, step: AddPermission) -> None:
    p = step.permission
    kwargs: dict[str, Any] = {
        "FunctionName": p.function_name,
        "StatementId": p.statement_id,
        "Action": "lambda:InvokeFunction",
        "Principal": p.principal,
        "SourceArn": ex.resolve(p.source_arn),
    }
    if p.source_account:
        kwargs["SourceAccount"] = p.source_account
    ex.client("lambda").add_permission(**kwargs)


def _remove_permission(ex: Executor, step: RemovePermission) -> None:
    ignore_gone(
        lambda: ex.client("lambda").remove_permission(
            FunctionName=step.function_name, StatementId=step.statement_id
        )
    )


# --- EventBridge ------------------------------------------------------------------------


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
    ex.state.put(rule.key, {"kind": "rule", "name": rule.name})
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
    s3 = ex.client("s3")
    # A bucket has one notification configuration: read it now (not at plan time, another
    # instruction may have just changed it) and replace only our entry.
    config = _bucket_configuration(s3, n.bucket)
    others = [c for c in config.get("LambdaFunctionConfigurations", []) if c.get("Id") != n.id]
    config["LambdaFunctionConfigurations"] = [*others, _s3_entry(n)]
    s3.put_bucket_notification_configuration(Bucket=n.bucket, NotificationConfiguration=config)
    ex.state.put(n.key, {"kind": "s3_notification", "bucket": n.bucket, "id": n.id})


def _remove_s3_notification(ex: Executor, step: RemoveS3Notification) -> None:
    s3 = ex.client("s3")
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
    result = ex.client("sns").subscribe(
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
    ignore_gone(lambda: ex.client("sns").unsubscribe(SubscriptionArn=step.subscription_arn))
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
    client = ex.client("lambda")
    # Lambda checks the role's access to the source now, so a policy just put may not be seen.
    result = ex.with_role_retry(
        lambda: client.create_event_source_mapping(
            EventSourceArn=m.source_arn, FunctionName=m.function_name, Enabled=True, **kwargs
        ),
        m.function_name,
        m.source_arn,
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
    ex.client("lambda").update_event_source_mapping(UUID=step.uuid, **_mapping_settings(step))


def _delete_mapping(ex: Executor, step: DeleteMapping) -> None:
    ignore_gone(lambda: ex.client("lambda").delete_event_source_mapping(UUID=step.uuid))
    ex.state.remove(step.key)


_Handler = Callable[["Executor", Any], None]
TRIGGER_HANDLERS: Mapping[type, _Handler] = {
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
}
