"""What a stage has in AWS now, read through boto3: the planner's only view of the world.

``RemoteState`` is a read-only protocol so the planner's tests can answer it from a dict; the
boto3 implementation makes only Get/List/Describe calls. "Does not exist" is ``None`` (or an
empty result), never an exception; any other failure is a DeployError naming the call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import AwsContext, error_code, error_message
from deployer.deploy.models import FunctionSettings
from deployer.errors import DeployError

__all__ = [
    "BotoRemoteState",
    "RemoteApi",
    "RemoteFunction",
    "RemoteLayer",
    "RemoteLogGroup",
    "RemoteMapping",
    "RemoteQueue",
    "RemoteRole",
    "RemoteRule",
    "RemoteState",
    "RemoteStatement",
    "RemoteSubscription",
]

_T = TypeVar("_T")


@attrs.frozen
class RemoteRole:
    arn: str
    trust_policy: Mapping[str, Any] | None
    policies: Mapping[str, Mapping[str, Any]]  # inline policy name -> document


@attrs.frozen
class RemoteFunction:
    name: str
    arn: str
    code_sha256: str
    architecture: str
    settings: FunctionSettings
    reserved_concurrency: int | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    state: str = "Active"
    last_update_status: str = "Successful"


@attrs.frozen
class RemoteStatement:
    sid: str
    principal: str | None
    source_arn: str | None
    source_account: str | None = None


@attrs.frozen
class RemoteLogGroup:
    name: str
    retention_in_days: int | None  # None: never expire


@attrs.frozen
class RemoteLayer:
    version_arn: str
    code_sha256: str
    # What the version was published for; empty when unknown (then not compared).
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()  # every version under the name, oldest first


@attrs.frozen
class RemoteApi:
    id: str
    name: str
    deployed_fingerprint: str | None  # of the deployment the stage points at, None: no stage
    endpoint_type: str | None = None  # EDGE, REGIONAL or PRIVATE; None: not reported


@attrs.frozen
class RemoteRule:
    name: str
    schedule_expression: str | None
    event_pattern: str | None
    description: str
    target_arns: tuple[str, ...]


@attrs.frozen
class RemoteSubscription:
    arn: str
    endpoint: str
    protocol: str = "lambda"


@attrs.frozen
class RemoteMapping:
    uuid: str
    source_arn: str
    batch_size: int
    maximum_batching_window_in_seconds: int
    function_response_types: tuple[str, ...] = ()
    starting_position: str | None = None  # streams only


@attrs.frozen
class RemoteQueue:
    arn: str
    visibility_timeout: int  # seconds


class RemoteState(Protocol):
    """Read-only questions the planner asks; ``None`` means "does not exist"."""

    def role(self, name: str) -> RemoteRole | None: ...
    def function(self, name: str) -> RemoteFunction | None: ...
    def function_permissions(self, name: str) -> Mapping[str, RemoteStatement]: ...
    def log_group(self, name: str) -> RemoteLogGroup | None: ...
    def layer(self, name: str) -> RemoteLayer | None: ...
    def rest_api(self, api_id: str | None, name: str | None, stage: str) -> RemoteApi | None: ...
    def rule(self, name: str) -> RemoteRule | None: ...
    def s3_notifications(self, bucket: str) -> tuple[Mapping[str, Any], ...] | None: ...
    def sns_subscriptions(self, topic_arn: str) -> tuple[RemoteSubscription, ...] | None: ...
    def event_source_mappings(self, function_name: str) -> tuple[RemoteMapping, ...]: ...
    def queue(self, arn: str) -> RemoteQueue | None: ...
    def source_exists(self, kind: str, name: str) -> bool: ...


# Error codes that mean "not there" for the reads below.
_MISSING = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NoSuchBucket",
    "NotFound", "NoSuchKey", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
})  # fmt: skip
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError"})


class BotoRemoteState:
    """:class:`RemoteState` over boto3 clients; every method makes only read calls."""

    def __init__(self, aws: AwsContext) -> None:
        self._aws = aws

    def _read(self, what: str, call: Callable[[], _T]) -> _T | None:
        try:
            return call()
        except botocore.exceptions.ClientError as err:
            if error_code(err) in _MISSING:
                return None
            raise DeployError(
                f"reading {what} failed ({err.operation_name}): {error_message(err)}"
            ) from err
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(f"reading {what} failed: {error_message(err)}") from err

    def role(self, name: str) -> RemoteRole | None:
        iam = self._aws.client("iam")
        found = self._read(f"IAM role {name!r}", lambda: iam.get_role(RoleName=name))
        if found is None:
            return None
        trust = found["Role"].get("AssumeRolePolicyDocument")
        names = self._read(
            f"IAM role {name!r}", lambda: iam.list_role_policies(RoleName=name)["PolicyNames"]
        )
        policies = {}
        for policy_name in names or ():
            doc = self._read(
                f"IAM role {name!r}",
                functools.partial(iam.get_role_policy, RoleName=name, PolicyName=policy_name),
            )
            if doc is not None:
                policies[policy_name] = _json(doc["PolicyDocument"])
        return RemoteRole(found["Role"]["Arn"], _json(trust) if trust else None, policies)

    def function(self, name: str) -> RemoteFunction | None:
        client = self._aws.client("lambda")
        found = self._read(f"function {name!r}", lambda: client.get_function(FunctionName=name))
        if found is None:
            return None
        config = found["Configuration"]
        vpc = config.get("VpcConfig") or {}
        settings = FunctionSettings(
            handler=config.get("Handler", ""),
            role_arn=config.get("Role", ""),
            runtime=config.get("Runtime", ""),
            memory_size=config.get("MemorySize", 128),
            timeout=config.get("Timeout", 3),
            environment=dict((config.get("Environment") or {}).get("Variables") or {}),
            layers=tuple(layer["Arn"] for layer in config.get("Layers") or ()),
            subnet_ids=frozenset(vpc.get("SubnetIds") or ()),
            security_group_ids=frozenset(vpc.get("SecurityGroupIds") or ()),
            xray=(config.get("TracingConfig") or {}).get("Mode") == "Active",
        )
        concurrency = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
        return RemoteFunction(
            name=name,
            arn=config["FunctionArn"],
            code_sha256=config.get("CodeSha256", ""),
            architecture=(config.get("Architectures") or ["x86_64"])[0],
            settings=settings,
            reserved_concurrency=concurrency,
            tags=dict(found.get("Tags") or {}),
            state=config.get("State") or "Active",
            last_update_status=config.get("LastUpdateStatus") or "Successful",
        )

    def function_permissions(self, name: str) -> Mapping[str, RemoteStatement]:
        client = self._aws.client("lambda")
        found = self._read(
            f"function {name!r} policy", lambda: client.get_policy(FunctionName=name)
        )
        if found is None:
            return {}
        statements = {}
        for statement in _json(found["Policy"]).get("Statement", []):
            principal = statement.get("Principal")
            if isinstance(principal, dict):
                principal = principal.get("Service") or principal.get("AWS")
            condition = statement.get("Condition") or {}
            source = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
            account = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
            sid = statement.get("Sid", "")
            statements[sid] = RemoteStatement(sid, principal, source, account)
        return statements

    def log_group(self, name: str) -> RemoteLogGroup | None:
        logs = self._aws.client("logs")
        # A prefix query: "/aws/lambda/app-dev" also matches "/aws/lambda/app-dev-job", so the
        # exact name is picked out (one page is enough, names sort with the exact one first).
        found = self._read(
            f"log group {name!r}", lambda: logs.describe_log_groups(logGroupNamePrefix=name)
        )
        for entry in (found or {}).get("logGroups", []):
            if entry["logGroupName"] == name:
                return RemoteLogGroup(name, entry.get("retentionInDays"))
        return None

    def layer(self, name: str) -> RemoteLayer | None:
        client = self._aws.client("lambda")
        # Every version, not just the latest: fw delete removes all those published under fw's
        # name (one page of 50 holds them unless a stage was redeployed that many times).
        versions = self._read(
            f"layer {name!r}",
            lambda: _all_pages(client, "list_layer_versions", "LayerVersions", LayerName=name),
        )
        if not versions:
            return None
        latest = max(versions, key=lambda v: v["Version"])
        detail = self._read(
            f"layer {name!r}",
            lambda: client.get_layer_version(LayerName=name, VersionNumber=latest["Version"]),
        )
        if detail is None:
            return None
        return RemoteLayer(
            latest["LayerVersionArn"],
            detail["Content"].get("CodeSha256", ""),
            runtimes=tuple(detail.get("CompatibleRuntimes") or ()),
            architectures=tuple(detail.get("CompatibleArchitectures") or ()),
            versions=tuple(sorted(v["Version"] for v in versions)),
        )

    def rest_api(self, api_id: str | None, name: str | None, stage: str) -> RemoteApi | None:
        client = self._aws.client("apigateway")
        found = None
        if api_id:
            found = self._read(
                f"REST API {api_id!r}", lambda: client.get_rest_api(restApiId=api_id)
            )
        if found is None and name:
            # No usable id on record (a deploy interrupted right after CreateRestApi, or a lost
            # record): adopt the API by name, but only if exactly one has it.
            matches = self._read(
                f"REST API {name!r}",
                lambda: [
                    item
                    for item in _all_pages(client, "get_rest_apis", "items")
                    if item.get("name") == name
                ],
            )
            found = matches[0] if matches and len(matches) == 1 else None
        if found is None:
            return None
        rest_id = found["id"]
        stage_info = self._read(
            f"REST API {rest_id!r} stage {stage!r}",
            lambda: client.get_stage(restApiId=rest_id, stageName=stage),
        )
        fingerprint = None
        if stage_info and stage_info.get("deploymentId"):
            deployment = self._read(
                f"REST API {rest_id!r} deployment",
                lambda: client.get_deployment(
                    restApiId=rest_id, deploymentId=stage_info["deploymentId"]
                ),
            )
            fingerprint = (deployment or {}).get("description") or None
        types = (found.get("endpointConfiguration") or {}).get("types") or [None]
        return RemoteApi(rest_id, found.get("name", ""), fingerprint, types[0])

    def rule(self, name: str) -> RemoteRule | None:
        events = self._aws.client("events")
        found = self._read(f"rule {name!r}", lambda: events.describe_rule(Name=name))
        if found is None:
            return None
        targets = self._read(f"rule {name!r}", lambda: events.list_targets_by_rule(Rule=name))
        return RemoteRule(
            name=name,
            schedule_expression=found.get("ScheduleExpression"),
            event_pattern=found.get("EventPattern"),
            description=found.get("Description") or "",
            target_arns=tuple(t["Arn"] for t in (targets or {}).get("Targets", [])),
        )

    def s3_notifications(self, bucket: str) -> tuple[Mapping[str, Any], ...] | None:
        s3 = self._aws.client("s3")
        found = self._read(
            f"bucket {bucket!r} notifications",
            lambda: s3.get_bucket_notification_configuration(Bucket=bucket),
        )
        if found is None:
            return None
        return tuple(found.get("LambdaFunctionConfigurations", []))

    def sns_subscriptions(self, topic_arn: str) -> tuple[RemoteSubscription, ...] | None:
        sns = self._aws.client("sns")
        subs = self._read(
            f"topic {topic_arn!r} subscriptions",
            lambda: _all_pages(
                sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic_arn
            ),
        )
        if subs is None:
            return None
        return tuple(
            RemoteSubscription(s["SubscriptionArn"], s.get("Endpoint", ""), s.get("Protocol", ""))
            for s in subs
        )

    def event_source_mappings(self, function_name: str) -> tuple[RemoteMapping, ...]:
        client = self._aws.client("lambda")
        items = self._read(
            f"event source mappings of {function_name!r}",
            lambda: _all_pages(
                client,
                "list_event_source_mappings",
                "EventSourceMappings",
                FunctionName=function_name,
            ),
        )
        return tuple(
            RemoteMapping(
                uuid=item["UUID"],
                source_arn=item.get("EventSourceArn", ""),
                batch_size=item.get("BatchSize") or 0,
                maximum_batching_window_in_seconds=item.get("MaximumBatchingWindowInSeconds") or 0,
                function_response_types=tuple(item.get("FunctionResponseTypes") or ()),
                starting_position=item.get("StartingPosition"),
            )
            for item in items or ()
        )

    def queue(self, arn: str) -> RemoteQueue | None:
        # arn:<partition>:sqs:<region>:<account>:<name>; the URL is asked for, not built, as
        # its host differs between partitions and endpoints.
        parts = arn.split(":")
        if len(parts) != 6:
            return None
        account, name = parts[4], parts[5]
        sqs = self._aws.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
        except botocore.exceptions.ClientError as err:
            # Only a check ahead of Lambda's own: a queue fw may not read (another account's,
            # or a deploy role without SQS reads) is not checked, and Lambda still refuses a
            # bad mapping with its own message.
            if error_code(err) in _MISSING or error_code(err) in _DENIED:
                return None
            raise DeployError(
                f"reading queue {arn!r} failed ({err.operation_name}): {error_message(err)}"
            ) from err
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(f"reading queue {arn!r} failed: {error_message(err)}") from err
        return RemoteQueue(arn, int(attributes.get("VisibilityTimeout", 30)))

    def source_exists(self, kind: str, name: str) -> bool:
        """False only when AWS says a trigger's bucket, topic, queue or stream does not exist.

        One fw may not read (AccessDenied, another account's), or in another region than the
        clients', counts as existing: AWS judges it when the trigger is wired.
        """
        parts = name.split(":", 5)
        if kind != "s3" and (len(parts) != 6 or parts[3] != self._aws.region):
            return True
        client = self._aws.client(_SOURCE_SERVICE[kind])
        resource = parts[5] if len(parts) == 6 else name
        calls: dict[str, Callable[[], Any]] = {
            "s3": lambda: client.head_bucket(Bucket=name),
            "sns": lambda: client.get_topic_attributes(TopicArn=name),
            "sqs": lambda: client.get_queue_url(
                QueueName=resource, QueueOwnerAWSAccountId=parts[4]
            ),
            "kinesis": lambda: client.describe_stream_summary(
                StreamName=resource.removeprefix("stream/")
            ),
            "dynamodb": lambda: client.describe_stream(StreamArn=name),
        }
        try:
            calls[kind]()
        except botocore.exceptions.ClientError as err:
            # HeadBucket has no body, so its "not found" is the bare status code.
            missing = _MISSING | {"404"} if kind == "s3" else _MISSING
            return error_code(err) not in missing
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(f"reading {kind} source {name!r} failed: {err}") from err
        return True


def _json(value: Any) -> Any:
    # IAM returns policy documents URL-decoded into dicts by boto3, Lambda returns a string.
    if isinstance(value, str):
        from urllib.parse import unquote

        try:
            return json.loads(value)
        except ValueError:
            return json.loads(unquote(value))
    return value


# The service each read uses. Clients are created before any thread starts, because creating
# boto3 clients is not thread-safe (using them is), and only for services a question needs:
# loading a service model is most of a no-op deploy's local time.
_SERVICE_OF = {
    "role": "iam",
    "function": "lambda",
    "function_permissions": "lambda",
    "log_group": "logs",
    "layer": "lambda",
    "rest_api": "apigateway",
    "rule": "events",
    "s3_notifications": "s3",
    "sns_subscriptions": "sns",
    "event_source_mappings": "lambda",
    "queue": "sqs",
}
# source_exists reads the service of the trigger's kind.
_SOURCE_SERVICE = {
    "s3": "s3",
    "sns": "sns",
    "sqs": "sqs",
    "kinesis": "kinesis",
    "dynamodb": "dynamodbstreams",
}


def _service(method: str, args: tuple[Any, ...]) -> str:
    return _SOURCE_SERVICE[args[0]] if method == "source_exists" else _SERVICE_OF[method]


class PrefetchedRemoteState:
    """A :class:`RemoteState` whose answers were read concurrently, up front.

    The planner asks dozens of independent questions; against AWS each is a round trip of tens
    of milliseconds, so asking them from a thread pool makes a no-op deploy several times
    faster. Questions not prefetched fall through to the wrapped state.
    """

    def __init__(self, inner: BotoRemoteState) -> None:
        self._inner = inner
        self._answers: dict[tuple[str, tuple[Any, ...]], Any] = {}

    def prefetch(self, questions: list[tuple[str, tuple[Any, ...]]], *, workers: int = 8) -> None:
        """Answer ``(method name, args)`` questions concurrently and keep the answers."""
        from concurrent.futures import ThreadPoolExecutor

        unique = list(dict.fromkeys(questions))
        for service in dict.fromkeys(_service(method, args) for method, args in unique):
            self._inner._aws.client(service)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {q: pool.submit(self._table()[q[0]], *q[1]) for q in unique}
            for question, future in futures.items():
                self._answers[question] = future.result()

    def _table(self) -> dict[str, Callable[..., Any]]:
        inner = self._inner
        return {
            "role": inner.role,
            "function": inner.function,
            "function_permissions": inner.function_permissions,
            "log_group": inner.log_group,
            "layer": inner.layer,
            "rest_api": inner.rest_api,
            "rule": inner.rule,
            "s3_notifications": inner.s3_notifications,
            "sns_subscriptions": inner.sns_subscriptions,
            "event_source_mappings": inner.event_source_mappings,
            "queue": inner.queue,
            "source_exists": inner.source_exists,
        }

    def _ask(self, method: str, *args: Any) -> Any:
        key = (method, args)
        if key not in self._answers:
            self._answers[key] = self._table()[method](*args)
        return self._answers[key]

    def role(self, name: str) -> RemoteRole | None:
        return self._ask("role", name)

    def function(self, name: str) -> RemoteFunction | None:
        return self._ask("function", name)

    def function_permissions(self, name: str) -> Mapping[str, RemoteStatement]:
        return self._ask("function_permissions", name)

    def log_group(self, name: str) -> RemoteLogGroup | None:
        return self._ask("log_group", name)

    def layer(self, name: str) -> RemoteLayer | None:
        return self._ask("layer", name)

    def rest_api(self, api_id: str | None, name: str | None, stage: str) -> RemoteApi | None:
        return self._ask("rest_api", api_id, name, stage)

    def rule(self, name: str) -> RemoteRule | None:
        return self._ask("rule", name)

    def s3_notifications(self, bucket: str) -> tuple[Mapping[str, Any], ...] | None:
        return self._ask("s3_notifications", bucket)

    def sns_subscriptions(self, topic_arn: str) -> tuple[RemoteSubscription, ...] | None:
        return self._ask("sns_subscriptions", topic_arn)

    def event_source_mappings(self, function_name: str) -> tuple[RemoteMapping, ...]:
        return self._ask("event_source_mappings", function_name)

    def queue(self, arn: str) -> RemoteQueue | None:
        return self._ask("queue", arn)

    def source_exists(self, kind: str, name: str) -> bool:
        return self._ask("source_exists", kind, name)


def _all_pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` across all pages of a paginated read."""
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]
