"""The WebSocket API kind's model, record entry and what its reads return (``websocket_api``
holds its plan, removal, executor handlers and SAM fragment).

Named and shaped as Chalice makes it: ``<app>-<stage>-websocket-api``, route selection on
``$request.body.action``, the ``$connect``/``$default``/``$disconnect`` routes of the app's
handlers, the stage named ``api_gateway_stage``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from deployer.deploy.kinds.base import Entry

NAME = "websocket_api"

# The API's id only exists once created: the invoke permissions name it by this placeholder.
WEBSOCKET_API_ID = "{fw:websocket_api_id}"
# "Create routes for WebSocket APIs in API Gateway": the route key is read from the message's
# JSON "action"; Chalice configures this expression, and a message without it goes to $default.
ROUTE_SELECTION = "$request.body.action"
# "Set up a WebSocket API integration request in API Gateway": a Lambda proxy integration.
# CONVERT_TO_TEXT is what Chalice configures, and changes nothing a function sees: "Binary media
# types for WebSocket APIs in API Gateway" says API Gateway rejects a binary frame and closes the
# connection with code 1003, so only text frames reach the function (fw local does the same).
INTEGRATION = {"IntegrationType": "AWS_PROXY", "ContentHandlingStrategy": "CONVERT_TO_TEXT"}


def websocket_url(api_id: str, region: str, stage: str) -> str:
    """The ``wss://`` URL of a stage ("Deploy WebSocket APIs in API Gateway"), with the region's
    DNS suffix (``amazonaws.com.cn`` in China)."""
    return f"wss://{api_id}.execute-api.{region}.{dns_suffix(region)}/{stage}"


@functools.cache
def dns_suffix(region: str) -> str:
    """The DNS suffix of the partition ``region`` is in, from botocore's endpoints data."""
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("endpoints")["partitions"]
    for partition in partitions:
        if region in partition.get("regions", {}) or re.match(partition["regionRegex"], region):
            return str(partition["dnsSuffix"])
    return "amazonaws.com"


@attrs.frozen
class WebsocketRoute:
    """One route and the function its Lambda proxy integration invokes."""

    route_key: str  # "$connect", "$default" or "$disconnect"
    function_name: str
    integration_uri: str


@attrs.frozen
class WebsocketApi:
    name: str
    stage_name: str
    routes: tuple[WebsocketRoute, ...]
    tags: Mapping[str, str] = attrs.field(factory=dict)  # set at create: marks it fw's

    @property
    def key(self) -> str:
        return f"{NAME}:{self.name}"


@attrs.frozen
class WebsocketApiEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str
    id: str
    stage: str = ""

    def references(self) -> dict[str, str]:
        return {WEBSOCKET_API_ID: self.id}


@attrs.frozen
class RemoteRoute:
    route_id: str
    integration_id: str | None
    integration_uri: str | None  # of its integration, when it is a Lambda proxy one


@attrs.frozen
class RemoteWebsocketApi:
    id: str
    made_by_fw: bool
    route_selection: str | None
    routes: Mapping[str, RemoteRoute]  # by route key
    orphans: tuple[str, ...]  # integrations no route targets (a create cut short)
    auto_deploy: bool | None  # None: no stage of that name
    # Other APIs of that name fw made for this deployment: copies a retried CreateApi left.
    duplicates: tuple[str, ...] = ()
    deployment: str | None = None  # its DEPLOYMENT_TAG value; None: untagged


def build(
    app_name: str, stage: str, api_stage: str, routes: tuple[WebsocketRoute, ...], tags: Any
) -> WebsocketApi:
    """The API of ``stage`` (its name, as Chalice's: ``<app>-<stage>-websocket-api``)."""
    return WebsocketApi(f"{app_name}-{stage}-websocket-api", api_stage, routes, dict(tags))
