"""The plan's vocabulary: one frozen instruction type per AWS change, and the :class:`Plan`.

The planner decides which instructions to emit; the executor has one handler per type; the
dry run prints their messages. Keeping the types apart from the decisions lets each side be read
(and grow) on its own. Every instruction carries its own message, formatted from its fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import attrs

from deployer.deploy.models import (
    EventRule,
    EventSourceMapping,
    LambdaFunction,
    LambdaLayer,
    ManagedRole,
    Permission,
    RestApi,
    S3Notification,
    SNSSubscription,
    log_group_name,
)

__all__ = [
    "LOCAL_ONLY",
    "AddPermission",
    "CreateFunction",
    "CreateMapping",
    "CreateRestApi",
    "CreateRole",
    "DeleteFunction",
    "DeleteLayer",
    "DeleteLogGroup",
    "DeleteMapping",
    "DeleteRestApi",
    "DeleteRole",
    "DeleteRule",
    "DeployRestApi",
    "ForgetResource",
    "Instruction",
    "Plan",
    "PublishLayer",
    "PutFunctionConcurrency",
    "PutLogRetention",
    "PutRestApi",
    "PutRolePolicy",
    "PutRule",
    "PutS3Notification",
    "RecordResource",
    "RemovePermission",
    "RemoveS3Notification",
    "Subscribe",
    "TagFunction",
    "Unsubscribe",
    "UpdateAssumeRolePolicy",
    "UpdateEndpointType",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "UpdateMapping",
]


class _Step:
    """Base of the instructions: each says what it does in ``MESSAGE`` (formatted with it)."""

    __slots__ = ()
    MESSAGE: ClassVar[str] = ""

    @property
    def message(self) -> str:
        return self.MESSAGE.format(self=self)


@attrs.frozen
class CreateRole(_Step):
    MESSAGE: ClassVar[str] = "Creating IAM role {self.role.name}"
    role: ManagedRole


@attrs.frozen
class PutRolePolicy(_Step):
    MESSAGE: ClassVar[str] = "Updating the policy of IAM role {self.role.name}"
    role: ManagedRole


@attrs.frozen
class UpdateAssumeRolePolicy(_Step):
    MESSAGE: ClassVar[str] = "Updating the trust policy of IAM role {self.role.name}"
    role: ManagedRole


@attrs.frozen
class DeleteRole(_Step):
    MESSAGE: ClassVar[str] = "Deleting IAM role {self.name}"
    key: str
    name: str


@attrs.frozen
class PublishLayer(_Step):
    MESSAGE: ClassVar[str] = "Publishing layer {self.layer.name}"
    layer: LambdaLayer


@attrs.frozen
class DeleteLayer:
    """Delete the versions of fw's managed layer (all of them: every deploy that changed the
    requirements published one, and each is kept until the stage or its layer goes)."""

    key: str
    name: str
    versions: tuple[int, ...] = ()

    @property
    def message(self) -> str:
        if not self.versions:
            return f"Deleting layer {self.name}"
        numbers = ", ".join(str(v) for v in self.versions)
        return (
            f"Deleting layer {self.name} (version{'s' if len(self.versions) > 1 else ''} {numbers})"
        )


@attrs.frozen
class CreateFunction(_Step):
    MESSAGE: ClassVar[str] = "Creating function {self.function.function_name}"
    function: LambdaFunction


@attrs.frozen
class UpdateFunctionCode(_Step):
    MESSAGE: ClassVar[str] = "Updating code of function {self.function.function_name}"
    function: LambdaFunction


@attrs.frozen
class UpdateFunctionConfiguration:
    function: LambdaFunction
    changed: tuple[str, ...] = ()  # names of the settings that differ, for the message

    @property
    def message(self) -> str:
        what = f" ({', '.join(self.changed)})" if self.changed else ""
        return f"Updating configuration of function {self.function.function_name}{what}"


@attrs.frozen
class PutFunctionConcurrency:
    function_name: str
    reserved: int | None

    @property
    def message(self) -> str:
        if self.reserved is None:
            return f"Removing reserved concurrency of function {self.function_name}"
        return f"Setting reserved concurrency of function {self.function_name} to {self.reserved}"


@attrs.frozen
class TagFunction(_Step):
    MESSAGE: ClassVar[str] = "Updating tags of function {self.function_name}"
    function_name: str
    arn: str
    set_tags: Mapping[str, str]
    remove_keys: tuple[str, ...] = ()


@attrs.frozen
class PutLogRetention(_Step):
    """Create the function's log group if Lambda has not yet, and set its retention."""

    MESSAGE: ClassVar[str] = (
        "Setting log retention of function {self.function_name} to {self.days} days"
    )
    function_name: str
    days: int

    @property
    def group(self) -> str:
        return log_group_name(self.function_name)


@attrs.frozen
class DeleteLogGroup(_Step):
    MESSAGE: ClassVar[str] = "Deleting log group {self.name}"
    key: str
    name: str


@attrs.frozen
class DeleteFunction(_Step):
    MESSAGE: ClassVar[str] = "Deleting function {self.name}"
    key: str
    name: str


@attrs.frozen
class CreateRestApi(_Step):
    MESSAGE: ClassVar[str] = "Creating REST API {self.api.name}"
    api: RestApi


@attrs.frozen
class PutRestApi(_Step):
    MESSAGE: ClassVar[str] = "Updating REST API {self.api.name} from its OpenAPI document"
    api: RestApi


@attrs.frozen
class UpdateEndpointType(_Step):
    """Switch an existing API between EDGE, REGIONAL and PRIVATE (set on the API, not its
    document, so ``PutRestApi`` alone would keep the old type)."""

    MESSAGE: ClassVar[str] = (
        "Changing the endpoint type of REST API {self.api.name} from {self.old} to"
        " {self.api.endpoint_type}"
    )
    api: RestApi
    api_id: str
    old: str


@attrs.frozen
class DeployRestApi(_Step):
    MESSAGE: ClassVar[str] = "Deploying REST API {self.api.name} to stage {self.api.stage_name}"
    api: RestApi


@attrs.frozen
class DeleteRestApi(_Step):
    MESSAGE: ClassVar[str] = "Deleting REST API {self.name} ({self.api_id})"
    key: str
    api_id: str
    name: str


@attrs.frozen
class AddPermission:
    permission: Permission

    @property
    def message(self) -> str:
        service = self.permission.principal.split(".")[0]
        return f"Allowing {service} to invoke function {self.permission.function_name}"


@attrs.frozen
class RemovePermission(_Step):
    MESSAGE: ClassVar[str] = (
        "Removing invoke permission {self.statement_id} of function {self.function_name}"
    )
    function_name: str
    statement_id: str


@attrs.frozen
class PutRule(_Step):
    MESSAGE: ClassVar[str] = "Putting EventBridge rule {self.rule.name}"
    rule: EventRule


@attrs.frozen
class DeleteRule(_Step):
    MESSAGE: ClassVar[str] = "Deleting EventBridge rule {self.name}"
    key: str
    name: str


@attrs.frozen
class PutS3Notification:
    notification: S3Notification

    @property
    def message(self) -> str:
        n = self.notification
        return f"Putting S3 notification {n.id} on bucket {n.bucket}"


@attrs.frozen
class RemoveS3Notification(_Step):
    MESSAGE: ClassVar[str] = "Removing S3 notification {self.id} from bucket {self.bucket}"
    key: str
    bucket: str
    id: str


@attrs.frozen
class Subscribe:
    subscription: SNSSubscription

    @property
    def message(self) -> str:
        s = self.subscription
        return f"Subscribing function {s.function_name} to SNS topic {s.topic_arn}"


@attrs.frozen
class Unsubscribe(_Step):
    MESSAGE: ClassVar[str] = "Unsubscribing {self.subscription_arn}"
    key: str
    subscription_arn: str


@attrs.frozen
class CreateMapping:
    mapping: EventSourceMapping

    @property
    def message(self) -> str:
        m = self.mapping
        return f"Creating {m.source_kind} event source mapping {m.source_arn} -> {m.function_name}"


@attrs.frozen
class UpdateMapping:
    uuid: str
    mapping: EventSourceMapping

    @property
    def message(self) -> str:
        m = self.mapping
        return f"Updating {m.source_kind} event source mapping {m.source_arn} -> {m.function_name}"


@attrs.frozen
class DeleteMapping(_Step):
    MESSAGE: ClassVar[str] = "Deleting event source mapping {self.source_arn} ({self.uuid})"
    key: str
    uuid: str
    source_arn: str


@attrs.frozen
class RecordResource(_Step):
    """Nothing to change in AWS, but the record lacks a resource that exists (adopt it)."""

    MESSAGE: ClassVar[str] = "Recording existing {self.key}"
    key: str
    entry: Mapping[str, Any]


@attrs.frozen
class ForgetResource(_Step):
    """The record holds a resource that is already gone from AWS."""

    MESSAGE: ClassVar[str] = "Forgetting {self.key} (already gone)"
    key: str


Instruction = (
    CreateRole | PutRolePolicy | UpdateAssumeRolePolicy | DeleteRole | PublishLayer | DeleteLayer
    | CreateFunction | UpdateFunctionCode | UpdateFunctionConfiguration | PutFunctionConcurrency
    | TagFunction | PutLogRetention | DeleteLogGroup | DeleteFunction | CreateRestApi
    | UpdateEndpointType | PutRestApi | DeployRestApi | DeleteRestApi | AddPermission
    | RemovePermission | PutRule | DeleteRule | PutS3Notification | RemoveS3Notification
    | Subscribe | Unsubscribe | CreateMapping | UpdateMapping | DeleteMapping | RecordResource
    | ForgetResource
)  # fmt: skip

# Instructions that only touch the local record, never AWS.
LOCAL_ONLY = (RecordResource, ForgetResource)


@attrs.frozen
class Plan:
    """An ordered, immutable list of instructions."""

    instructions: tuple[Instruction, ...] = ()

    def __len__(self) -> int:
        return len(self.instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    @property
    def aws_changes(self) -> tuple[Instruction, ...]:
        """The instructions that call AWS (everything but record bookkeeping)."""
        return tuple(i for i in self.instructions if not isinstance(i, LOCAL_ONLY))

    def messages(self) -> list[str]:
        return [i.message for i in self.instructions]
