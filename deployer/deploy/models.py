"""What a stage should look like in AWS: the :class:`DesiredState` of one stage, built by
``desired`` from the frozen models each kind's module owns (``kinds/<kind>.py``).

Every value is concrete except what exists only once something is created (the REST and
WebSocket APIs' ids, the managed layer's version ARN): placeholders their kinds own (``API_ID``,
``WEBSOCKET_API_ID``, ``MANAGED_LAYER``), resolved by :class:`~deployer.deploy.kinds.base.References`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from deployer.deploy.kinds import event_source_mapping, rule, s3_notification, sns_subscription
from deployer.deploy.kinds.event_source_mapping import EventSourceMapping
from deployer.deploy.kinds.function import LambdaFunction
from deployer.deploy.kinds.layer import LambdaLayer
from deployer.deploy.kinds.permission import Permission
from deployer.deploy.kinds.rest_api import RestApi
from deployer.deploy.kinds.role import ManagedRole
from deployer.deploy.kinds.role_policy import RolePolicy
from deployer.deploy.kinds.rule import EventRule
from deployer.deploy.kinds.s3_notification import S3Notification
from deployer.deploy.kinds.sns_subscription import SNSSubscription
from deployer.deploy.kinds.websocket_api import WebsocketApi

__all__ = ["DesiredState"]


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
    # Trigger kind NAME -> the models its ``wire`` made of the app's event handlers (rules,
    # notifications, subscriptions, mappings, and any kind added to ``kinds.KINDS``).
    wired: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)

    def with_wired(self, kind: str, models: tuple[Any, ...]) -> DesiredState:
        """This state with ``kind``'s trigger models replaced (a handler added or removed)."""
        return attrs.evolve(self, wired={**self.wired, kind: models})

    @property
    def rules(self) -> tuple[EventRule, ...]:
        return self.wired.get(rule.NAME, ())

    @property
    def s3_notifications(self) -> tuple[S3Notification, ...]:
        return self.wired.get(s3_notification.NAME, ())

    @property
    def sns_subscriptions(self) -> tuple[SNSSubscription, ...]:
        return self.wired.get(sns_subscription.NAME, ())

    @property
    def mappings(self) -> tuple[EventSourceMapping, ...]:
        return self.wired.get(event_source_mapping.NAME, ())

    websocket_api: WebsocketApi | None = None
    # Inline policies added to the roles once what they name exists (kinds/role_policy.py).
    role_policies: tuple[RolePolicy, ...] = ()

    def keys(self) -> frozenset[str]:
        """The record keys of every resource, to tell which recorded ones were removed."""
        from deployer.deploy.kinds import KINDS

        return frozenset(model.key for kind in KINDS for model in kind.models(self))
