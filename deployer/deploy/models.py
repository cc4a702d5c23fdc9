"""What a stage should look like in AWS: one frozen record per resource, built by ``desired``.

Every value is concrete except two that only exist once something is created: the REST API's id
and the managed layer's version ARN. Those appear as the placeholders ``API_ID`` and
``MANAGED_LAYER`` inside strings; the planner substitutes them when the resource already exists,
and the executor does when it has just created it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "API_ID",
    "MANAGED_LAYER",
    "CodeArtifact",
    "DesiredState",
    "EventRule",
    "EventSourceMapping",
    "FunctionSettings",
    "LambdaFunction",
    "LambdaLayer",
    "ManagedRole",
    "Permission",
    "RestApi",
    "S3Notification",
    "SNSSubscription",
    "api_url",
    "log_group_key",
    "log_group_name",
]

API_ID = "{fw:api_id}"
MANAGED_LAYER = "{fw:managed_layer}"

LAMBDA_TRUST_POLICY: Mapping[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def api_url(api_id: str, region: str, stage: str) -> str:
    """The invoke URL of a REST API stage."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/"


def log_group_name(function_name: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


def log_group_key(group_name: str) -> str:
    """The record key of a log group fw manages."""
    return f"log_group:{group_name}"


@attrs.frozen
class CodeArtifact:
    """A zip on disk and the hash Lambda reports for it (``CodeSha256``)."""

    path: Path
    code_sha256: str
    size: int


@attrs.frozen
class ManagedRole:
    """An IAM role fw creates for its functions, with one inline policy."""

    name: str
    arn: str
    policy_name: str
    policy_document: Mapping[str, Any]
    trust_policy: Mapping[str, Any] = LAMBDA_TRUST_POLICY

    @property
    def key(self) -> str:
        return f"role:{self.name}"


@attrs.frozen
class LambdaLayer:
    """The managed layer holding the requirements when ``automatic_layer`` is set."""

    name: str
    code: CodeArtifact
    runtime: str
    architecture: str

    @property
    def key(self) -> str:
        return f"layer:{self.name}"


@attrs.frozen
class FunctionSettings:
    """The part of a function ``UpdateFunctionConfiguration`` sets; compared as a whole."""

    handler: str
    role_arn: str
    runtime: str
    memory_size: int
    timeout: int
    environment: Mapping[str, str] = attrs.field(factory=dict)
    layers: tuple[str, ...] = ()
    subnet_ids: frozenset[str] = frozenset()
    security_group_ids: frozenset[str] = frozenset()
    xray: bool = False


@attrs.frozen
class LambdaFunction:
    """One Lambda function: the REST handler, an event handler or a built-in authorizer."""

    logical_name: str  # "api_handler" or the handler's name in the app
    function_name: str
    arn: str
    code: CodeArtifact
    architecture: str
    settings: FunctionSettings
    reserved_concurrency: int | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    log_retention_in_days: int | None = None

    @property
    def key(self) -> str:
        return f"function:{self.function_name}"

    @property
    def log_group(self) -> str:
        return log_group_name(self.function_name)


@attrs.frozen
class RestApi:
    """The REST API: one OpenAPI document, deployed to one stage."""

    name: str
    document: Mapping[str, Any]
    fingerprint: str  # of the document and the endpoint type
    stage_name: str
    endpoint_type: str

    @property
    def key(self) -> str:
        return f"rest_api:{self.name}"


@attrs.frozen
class Permission:
    """A ``lambda:InvokeFunction`` grant to one service, scoped to one source ARN.

    Each fw function has one trigger, so one statement id per function is enough; a changed
    source replaces the statement.
    """

    function_name: str
    statement_id: str
    principal: str  # "apigateway.amazonaws.com", "events.amazonaws.com", ...
    source_arn: str  # may contain API_ID
    source_account: str | None = None  # S3 bucket ARNs carry no account, so AWS advises one


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
class S3Notification:
    """One entry of a bucket's ``LambdaFunctionConfigurations``; other entries are kept."""

    id: str
    bucket: str
    function_name: str
    function_arn: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None

    @property
    def key(self) -> str:
        return f"s3:{self.bucket}/{self.id}"


@attrs.frozen
class SNSSubscription:
    """A Lambda subscription of one topic."""

    topic_arn: str
    function_name: str
    function_arn: str

    @property
    def key(self) -> str:
        return f"sns:{self.function_name}:{self.topic_arn}"


@attrs.frozen
class EventSourceMapping:
    """An SQS, Kinesis or DynamoDB stream mapping; Lambda polls the source."""

    source_kind: str  # "sqs", "kinesis", "dynamodb"
    source_arn: str
    function_name: str
    batch_size: int
    maximum_batching_window_in_seconds: int = 0
    starting_position: str | None = None  # streams only
    function_response_types: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"mapping:{self.function_name}:{self.source_arn}"


@attrs.frozen
class DesiredState:
    """Every resource one stage of one app should have."""

    app_name: str
    stage: str
    region: str
    account_id: str
    roles: tuple[ManagedRole, ...] = ()
    layer: LambdaLayer | None = None
    functions: tuple[LambdaFunction, ...] = ()
    rest_api: RestApi | None = None
    permissions: tuple[Permission, ...] = ()
    rules: tuple[EventRule, ...] = ()
    s3_notifications: tuple[S3Notification, ...] = ()
    sns_subscriptions: tuple[SNSSubscription, ...] = ()
    mappings: tuple[EventSourceMapping, ...] = ()

    def keys(self) -> frozenset[str]:
        """The record keys of every resource, to tell which recorded ones were removed."""
        resources: list[Any] = [
            *self.roles,
            *self.functions,
            *self.rules,
            *self.s3_notifications,
            *self.sns_subscriptions,
            *self.mappings,
        ]
        if self.layer is not None:
            resources.append(self.layer)
        if self.rest_api is not None:
            resources.append(self.rest_api)
        # A function's log group is kept for as long as the function is, with or without a
        # retention setting: dropping the setting must not delete the logs.
        groups = [log_group_key(f.log_group) for f in self.functions]
        return frozenset([*(r.key for r in resources), *groups])
