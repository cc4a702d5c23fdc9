"""The plan's vocabulary: the :class:`Plan`, and every instruction type, by kind.

Each instruction type is defined in its kind's module (``kinds/<kind>.py``) next to the handler
that applies it; they are gathered here for the planner's callers, the dry run and the tests.
Every instruction carries its own message, its ``kind`` and its ``lane``.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from deployer.deploy.kinds.base import ForgetResource, RecordResource, Step
from deployer.deploy.kinds.event_source_mapping import CreateMapping, DeleteMapping, UpdateMapping
from deployer.deploy.kinds.function import (
    CreateFunction,
    DeleteFunction,
    PutFunctionConcurrency,
    TagFunction,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
)
from deployer.deploy.kinds.layer import DeleteLayer, PublishLayer
from deployer.deploy.kinds.log_group import DeleteLogGroup, PutLogRetention
from deployer.deploy.kinds.permission import AddPermission, RemovePermission
from deployer.deploy.kinds.rest_api import (
    CreateRestApi,
    DeleteRestApi,
    DeployRestApi,
    PutRestApi,
    UpdateEndpointType,
)
from deployer.deploy.kinds.role import CreateRole, DeleteRole, PutRolePolicy, UpdateAssumeRolePolicy
from deployer.deploy.kinds.rule import DeleteRule, PutRule
from deployer.deploy.kinds.s3_notification import PutS3Notification, RemoveS3Notification
from deployer.deploy.kinds.sns_subscription import Subscribe, Unsubscribe

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

# Any kind's instruction: the executor's table (``kinds.handlers()``) has one handler per type.
Instruction = Step

# Instructions that only touch the local record, never AWS.
LOCAL_ONLY = (RecordResource, ForgetResource)


@attrs.frozen
class Plan:
    """An ordered, immutable list of instructions: the creates and updates, then the last
    ``removals`` of them, the removals (in reverse dependency order, run after every other)."""

    instructions: tuple[Instruction, ...] = ()
    removals: int = 0

    @property
    def updates(self) -> tuple[Instruction, ...]:
        """The creates and updates, in dependency order."""
        return self.instructions[: len(self.instructions) - self.removals]

    @property
    def removal_steps(self) -> tuple[Instruction, ...]:
        return self.instructions[len(self.instructions) - self.removals :]

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
