"""The WebSocket API: an API Gateway v2 WEBSOCKET API, its Lambda proxy routes and one stage.

Named and shaped as Chalice makes it (``<app>-<stage>-websocket-api``, route selection on
``$request.body.action``, the ``$connect``/``$default``/``$disconnect`` routes of the app's
handlers, the stage named ``api_gateway_stage``). The stage deploys itself (``AutoDeploy``), so
a route change needs no deployment of fw's own; the invoke grants are the permission kind's.
Its model, record entry and remote shapes are in ``websocket_api_model`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    DEPLOYMENT_TAG,
    Candidate,
    Handler,
    Question,
    Read,
    Reader,
    RecordResource,
    References,
    RemoteState,
    Step,
    adopt,
    all_pages,
    deployment_of,
    dropped,
    duplicate_deletions,
    named_api_removal_reads,
    named_api_removals,
    planned_url,
    refuse_other_deployment,
)
from deployer.deploy.kinds.websocket_api_model import (  # re-exported: the kind's model
    INTEGRATION,
    NAME,
    ROUTE_SELECTION,
    WEBSOCKET_API_ID,
    RemoteRoute,
    RemoteWebsocketApi,
    WebsocketApi,
    WebsocketApiEntry,
    WebsocketRoute,
    websocket_url,
)
from deployer.deploy.kinds.websocket_api_model import (
    build as build,
)

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template


AFTER: tuple[str, ...] = ("function",)

# The stage URL hook: ``fw deploy --json``'s key for it, and how ``fw deploy`` introduces it
# (Chalice's deploy report names it so).
URL_FIELD = "websocket_url"
URL_LABEL = "Websocket API URL"


def url(record: Record, region: str, steps: Iterable[Step] = ()) -> str | None:
    """The WebSocket API's URL once ``steps`` have run (a dry run's plan), from the record."""
    return planned_url(
        steps,
        record,
        WebsocketApiEntry,
        lambda entry: websocket_url(entry.id, region, entry.stage),
        lambda step: (
            isinstance(step, CreateWebsocketApi)
            or (isinstance(step, DeleteWebsocketApi) and not step.duplicate)
        ),
    )


ENTRY = WebsocketApiEntry


def recorded(record: Record) -> tuple[str, WebsocketApiEntry] | None:
    """The record's WebSocket API, as (key, entry)."""
    return next(iter(dropped(record, WebsocketApiEntry, frozenset()).items()), None)


def _recorded_id(record: Record) -> str | None:
    found = recorded(record)
    return found[1].id if found else None


# --- instructions ---------------------------------------------------------------------------


class _ApiStep(Step):
    __slots__ = ()
    kind: ClassVar[str] = NAME
    api: WebsocketApi

    @property
    def lane(self) -> str:
        return self.api.key


@attrs.frozen
class CreateWebsocketApi(_ApiStep):
    MESSAGE: ClassVar[str] = "Creating websocket API {self.api.name}"
    api: WebsocketApi


@attrs.frozen
class TagWebsocketApi(_ApiStep):
    """Give the API this deployment uses, found untagged, the deployment's tag, which from then
    on guards it: only APIs tagged for this deployment are adopted or deleted by name."""

    MESSAGE: ClassVar[str] = (
        "Tagging websocket API {self.api.name} ({self.api_id}) as {self.deployment}'s"
    )
    api: WebsocketApi
    api_id: str
    deployment: str


@attrs.frozen
class SetRouteSelection(_ApiStep):
    MESSAGE: ClassVar[str] = "Setting the route selection of websocket API {self.api.name}"
    api: WebsocketApi


@attrs.frozen
class PutWebsocketRoute(_ApiStep):
    """Point a route at a new integration of its function (creating the route if missing);
    the integration it had goes."""

    MESSAGE: ClassVar[str] = (
        "Routing {self.route.route_key} of websocket API {self.api.name} to function"
        " {self.route.function_name}"
    )
    api: WebsocketApi
    route: WebsocketRoute
    route_id: str | None = None
    old_integration: str | None = None


@attrs.frozen
class DeleteWebsocketRoute(_ApiStep):
    MESSAGE: ClassVar[str] = "Deleting route {self.route_key} of websocket API {self.api.name}"
    api: WebsocketApi
    route_key: str
    route_id: str
    integration_id: str | None


@attrs.frozen
class DeleteIntegration(_ApiStep):
    MESSAGE: ClassVar[str] = (
        "Deleting unused integration {self.integration_id} of websocket API {self.api.name}"
    )
    api: WebsocketApi
    integration_id: str


@attrs.frozen
class CreateWebsocketStage(_ApiStep):
    MESSAGE: ClassVar[str] = "Creating stage {self.api.stage_name} of websocket API {self.api.name}"
    api: WebsocketApi


@attrs.frozen
class EnableAutoDeploy(_ApiStep):
    MESSAGE: ClassVar[str] = (
        "Turning on auto-deploy of stage {self.api.stage_name} of websocket API {self.api.name}"
    )
    api: WebsocketApi


@attrs.frozen
class DeleteWebsocketApi(Step):
    kind: ClassVar[str] = NAME
    key: str
    api_id: str
    name: str
    duplicate: bool = False  # an extra copy fw made (never recorded)

    @property
    def message(self) -> str:
        what = "duplicate websocket API" if self.duplicate else "websocket API"
        return f"Deleting {what} {self.name} ({self.api_id})"


# --- reads ----------------------------------------------------------------------------------


def _read_websocket_api(
    reader: Reader, api_id: str | None, name: str, stage: str, deployment: str
) -> RemoteWebsocketApi | None:
    client = reader.client("apigatewayv2")
    found = None
    if api_id:
        found = reader.read(f"websocket API {api_id!r}", lambda: client.get_api(ApiId=api_id))
    named = [
        item
        for item in reader.read(
            f"websocket API {name!r}", lambda: all_pages(client, "get_apis", "Items")
        )
        or []
        if item.get("Name") == name and item.get("ProtocolType") == "WEBSOCKET"
    ]
    items = {item["ApiId"]: item for item in named}
    if found is not None:
        items[found["ApiId"]] = found
    chosen = adopt(_candidate(found) if found else None, [_candidate(i) for i in named], deployment)
    if chosen is None:
        return None
    candidate, duplicates = chosen
    found = items[candidate.id]
    the_id = found["ApiId"]
    integrations = {
        item["IntegrationId"]: item
        for item in reader.read(
            f"websocket API {the_id!r} integrations",
            lambda: all_pages(client, "get_integrations", "Items", ApiId=the_id),
        )
        or []
    }
    routes: dict[str, RemoteRoute] = {}
    targeted: set[str] = set()
    for item in (
        reader.read(
            f"websocket API {the_id!r} routes",
            lambda: all_pages(client, "get_routes", "Items", ApiId=the_id),
        )
        or []
    ):
        target = str(item.get("Target") or "")
        integration_id = target.partition("integrations/")[2] or None
        integration = integrations.get(integration_id or "") or {}
        uri = integration.get("IntegrationUri")
        if integration.get("IntegrationType") != INTEGRATION["IntegrationType"]:
            uri = None
        routes[item["RouteKey"]] = RemoteRoute(item["RouteId"], integration_id, uri)
        targeted.add(integration_id or "")
    stage_info = reader.read(
        f"websocket API {the_id!r} stage {stage!r}",
        lambda: client.get_stage(ApiId=the_id, StageName=stage),
    )
    return RemoteWebsocketApi(
        id=the_id,
        made_by_fw=candidate.made_by_fw,
        route_selection=found.get("RouteSelectionExpression"),
        routes=routes,
        orphans=tuple(sorted(set(integrations) - targeted)),
        auto_deploy=None if stage_info is None else bool(stage_info.get("AutoDeploy")),
        duplicates=duplicates,
        deployment=candidate.deployment,
    )


def _candidate(item: Mapping[str, Any]) -> Candidate:
    tagged = (item.get("Tags") or {}).get(DEPLOYMENT_TAG)
    created = str(item.get("CreatedDate") or "")
    return Candidate(item["ApiId"], created, tagged is not None, tagged)


READS = {"websocket_api": Read("apigatewayv2", _read_websocket_api)}


# --- plan -----------------------------------------------------------------------------------


def models(desired: DesiredState) -> tuple[WebsocketApi, ...]:
    api = desired.websocket_api
    return () if api is None else (api,)


def reads(desired: DesiredState, record: Record) -> list[Question]:
    deployment = deployment_of(desired.app_name, desired.stage)
    return [
        ("websocket_api", (_recorded_id(record), a.name, a.stage_name, deployment))
        for a in models(desired)
    ]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    api = desired.websocket_api
    if api is None:
        return []
    deployment = deployment_of(desired.app_name, desired.stage)
    found: RemoteWebsocketApi | None = remote.ask(
        "websocket_api", _recorded_id(record), api.name, api.stage_name, deployment
    )
    if found is None:
        return [
            CreateWebsocketApi(api),
            *(PutWebsocketRoute(api, route) for route in api.routes),
            CreateWebsocketStage(api),
        ]
    refuse_other_deployment(
        f"websocket API {api.name!r} ({found.id})", found.deployment, deployment
    )
    refs.set(WEBSOCKET_API_ID, found.id)
    steps = duplicate_deletions(api.key, api.name, found, DeleteWebsocketApi)
    entry = WebsocketApiEntry(api.name, found.id, api.stage_name)
    if record.get(api.key) != entry:
        steps.append(RecordResource(api.key, entry))
    if found.deployment is None:
        steps.append(TagWebsocketApi(api, found.id, deployment))
    if found.route_selection != ROUTE_SELECTION:
        steps.append(SetRouteSelection(api))
    wanted = {route.route_key for route in api.routes}
    for route in api.routes:
        current = found.routes.get(route.route_key)
        if current is not None and current.integration_uri == route.integration_uri:
            continue
        steps.append(
            PutWebsocketRoute(
                api,
                route,
                current.route_id if current else None,
                current.integration_id if current else None,
            )
        )
    for route_key, current in sorted(found.routes.items()):
        if route_key not in wanted:
            steps.append(
                DeleteWebsocketRoute(api, route_key, current.route_id, current.integration_id)
            )
    steps += [DeleteIntegration(api, orphan) for orphan in found.orphans]
    if found.auto_deploy is None:
        steps.append(CreateWebsocketStage(api))
    elif not found.auto_deploy:
        steps.append(EnableAutoDeploy(api))
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return named_api_removal_reads(record, keep, WebsocketApiEntry, "websocket_api")


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return named_api_removals(
        record, remote, keep, WebsocketApiEntry, "websocket_api", DeleteWebsocketApi
    )


# --- executor -------------------------------------------------------------------------------


def _create_api(ex: Executor, step: CreateWebsocketApi) -> None:
    api = step.api
    # "CreateApi" (API Gateway V2 API Reference): ProtocolType WEBSOCKET needs the
    # RouteSelectionExpression. Not idempotent: a retried create may leave a copy, which the
    # tag lets the next deploy find and delete.
    result = ex.client("apigatewayv2").create_api(
        Name=api.name,
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression=ROUTE_SELECTION,
        Tags=dict(api.tags),
    )
    ex.state.put(api.key, WebsocketApiEntry(api.name, result["ApiId"], api.stage_name))


def _tag_api(ex: Executor, step: TagWebsocketApi) -> None:
    # "Tags" (Amazon API Gateway Version 2 API Reference: TagResource, POST /v2/tags/
    # {resource-arn}) on the API's ARN ("Amazon API Gateway Amazon Resource Name (ARN)
    # reference": arn:<partition>:apigateway:<region>::/apis/<id>); other tags stay.
    arn = f"arn:{ex.aws.partition}:apigateway:{ex.aws.region}::/apis/{step.api_id}"
    tags = {**step.api.tags, DEPLOYMENT_TAG: step.deployment}
    ex.client("apigatewayv2").tag_resource(ResourceArn=arn, Tags=tags)


def _set_route_selection(ex: Executor, step: SetRouteSelection) -> None:
    ex.client("apigatewayv2").update_api(
        ApiId=ex.resolve(WEBSOCKET_API_ID), RouteSelectionExpression=ROUTE_SELECTION
    )


def _put_route(ex: Executor, step: PutWebsocketRoute) -> None:
    client = ex.client("apigatewayv2")
    api_id = ex.resolve(WEBSOCKET_API_ID)
    integration = client.create_integration(
        ApiId=api_id, IntegrationUri=step.route.integration_uri, **INTEGRATION
    )["IntegrationId"]
    target = f"integrations/{integration}"
    if step.route_id is None:
        client.create_route(ApiId=api_id, RouteKey=step.route.route_key, Target=target)
    else:
        client.update_route(ApiId=api_id, RouteId=step.route_id, Target=target)
    if step.old_integration:
        ignore_gone(
            lambda: client.delete_integration(ApiId=api_id, IntegrationId=step.old_integration)
        )


def _delete_route(ex: Executor, step: DeleteWebsocketRoute) -> None:
    client = ex.client("apigatewayv2")
    api_id = ex.resolve(WEBSOCKET_API_ID)
    ignore_gone(lambda: client.delete_route(ApiId=api_id, RouteId=step.route_id))
    if step.integration_id:
        ignore_gone(
            lambda: client.delete_integration(ApiId=api_id, IntegrationId=step.integration_id)
        )


def _delete_integration(ex: Executor, step: DeleteIntegration) -> None:
    client = ex.client("apigatewayv2")
    api_id = ex.resolve(WEBSOCKET_API_ID)
    ignore_gone(lambda: client.delete_integration(ApiId=api_id, IntegrationId=step.integration_id))


def _create_stage(ex: Executor, step: CreateWebsocketStage) -> None:
    # "AWS::ApiGatewayV2::Stage": AutoDeploy makes API Gateway deploy every change of the API
    # to the stage ("Deploy WebSocket APIs in API Gateway": a route change needs a deployment).
    ex.client("apigatewayv2").create_stage(
        ApiId=ex.resolve(WEBSOCKET_API_ID), StageName=step.api.stage_name, AutoDeploy=True
    )


def _enable_auto_deploy(ex: Executor, step: EnableAutoDeploy) -> None:
    ex.client("apigatewayv2").update_stage(
        ApiId=ex.resolve(WEBSOCKET_API_ID), StageName=step.api.stage_name, AutoDeploy=True
    )


def _delete_api(ex: Executor, step: DeleteWebsocketApi) -> None:
    ignore_gone(lambda: ex.client("apigatewayv2").delete_api(ApiId=step.api_id))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    CreateWebsocketApi: _create_api,
    TagWebsocketApi: _tag_api,
    SetRouteSelection: _set_route_selection,
    PutWebsocketRoute: _put_route,
    DeleteWebsocketRoute: _delete_route,
    DeleteIntegration: _delete_integration,
    CreateWebsocketStage: _create_stage,
    EnableAutoDeploy: _enable_auto_deploy,
    DeleteWebsocketApi: _delete_api,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    """Raw ``AWS::ApiGatewayV2`` resources: SAM has no WebSocket API type."""
    from deployer.package.cfn import invoke_permission, invoke_uri
    from deployer.package.sam import WEBSOCKET_API_ID as API

    handlers = t.of_role("websocket")
    if not handlers:
        return
    app_name = t.config.app_name
    stage = t.config.api_gateway_stage
    name = f"{app_name}-{t.config.stage}-websocket-api"
    t.resources[API] = {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": {
            "Name": name,
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": ROUTE_SELECTION,
        },
    }
    api_arn = (
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{API}}}/*"
    )
    routes = []
    for function in handlers:
        fid = function.logical_id
        t.resources[f"{fid}Integration"] = {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": API},
                "IntegrationUri": invoke_uri(fid),
                **INTEGRATION,
            },
        }
        t.resources[f"{fid}Route"] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": API},
                "RouteKey": function.source.route_key_handled,
                "Target": {"Fn::Sub": f"integrations/${{{fid}Integration}}"},
            },
        }
        routes.append(f"{fid}Route")
        t.resources[f"{fid}InvokePermission"] = invoke_permission(
            fid, "apigateway.amazonaws.com", api_arn
        )
    # AutoDeploy, as fw deploy: a stack update that changes a route redeploys the stage, which
    # an AWS::ApiGatewayV2::Deployment resource (made once, never replaced) would not.
    t.resources[f"{API}Stage"] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "DependsOn": routes,
        "Properties": {"ApiId": {"Ref": API}, "StageName": stage, "AutoDeploy": True},
    }
    t.outputs.update(
        {
            "WebsocketAPIId": {"Value": {"Ref": API}},
            "WebsocketConnectEndpointURL": {
                "Description": "The WebSocket API's URL",
                "Value": {
                    "Fn::Sub": (
                        f"wss://${{{API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"
                    )
                },
            },
        }
    )
