"""What a stage should look like in AWS: the frozen models of every resource, built by ``desired``.

Each model lives in its kind's module (``kinds/<kind>.py``), and is imported from there; this
module gathers them into the :class:`DesiredState` of one stage. Every value is concrete except two that only exist once
something is created: the REST API's id, the WebSocket API's id and the managed layer's version
ARN, written as placeholders their kinds own (``API_ID``, ``WEBSOCKET_API_ID``, ``MANAGED_LAYER``) and resolved by
:class:`~deployer.deploy.kinds.base.References`.
"""

from __future__ import annotations

import attrs

from deployer.deploy.kinds.base import CodeArtifact
from deployer.deploy.kinds.event_source_mapping import EventSourceMapping
from deployer.deploy.kinds.function import FunctionSettings, LambdaFunction
from deployer.deploy.kinds.layer import MANAGED_LAYER, LambdaLayer
from deployer.deploy.kinds.permission import Permission
from deployer.deploy.kinds.rest_api import API_ID, RestApi
from deployer.deploy.kinds.role import ManagedRole
from deployer.deploy.kinds.rule import EventRule
from deployer.deploy.kinds.s3_notification import S3Notification
from deployer.deploy.kinds.sns_subscription import SNSSubscription
from deployer.deploy.kinds.websocket_api import WEBSOCKET_API_ID, WebsocketApi, WebsocketRoute

# Only DesiredState is this module's. The rest are the kinds' names, still listed here because
# desired.py imports them from here; import them from their kind modules instead.
__all__ = [
    "API_ID",
    "MANAGED_LAYER",
    "WEBSOCKET_API_ID",
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
    "WebsocketApi",
    "WebsocketRoute",
]


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
    websocket_api: WebsocketApi | None = None

    def keys(self) -> frozenset[str]:
        """The record keys of every resource, to tell which recorded ones were removed."""
        from deployer.deploy.kinds import KINDS

        return frozenset(model.key for kind in KINDS for model in kind.models(self))
