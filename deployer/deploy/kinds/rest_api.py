"""The REST API: one OpenAPI document, deployed to one stage."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    DEPLOYMENT_TAG,
    Candidate,
    Entry,
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

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "rest_api"
AFTER: tuple[str, ...] = ("function",)

# The API's id only exists once created: permissions name it by this placeholder.
API_ID = "{fw:api_id}"


def api_url(api_id: str, region: str, stage: str) -> str:
    """The invoke URL of a REST API stage."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/"


# The stage URL hook: ``fw deploy --json``'s key for it and how ``fw deploy`` introduces it.
URL_FIELD = "url"
URL_LABEL = "Rest API URL"


def url(record: Record, region: str, steps: Iterable[Step] = ()) -> str | None:
    """The REST API's URL once ``steps`` have run (a dry run's plan), from the record."""
    return planned_url(
        steps,
        record,
        RestApiEntry,
        lambda entry: api_url(entry.id, region, entry.stage),
        lambda step: (
            isinstance(step, CreateRestApi)
            or (isinstance(step, DeleteRestApi) and not step.duplicate)
        ),
    )


@attrs.frozen
class RestApi:
    """The REST API: one OpenAPI document, deployed to one stage."""

    name: str
    document: Mapping[str, Any]
    fingerprint: str  # of the document and the endpoint type
    stage_name: str
    endpoint_type: str
    tags: Mapping[str, str] = attrs.field(factory=dict)  # set at create: marks it fw's

    @property
    def key(self) -> str:
        return f"rest_api:{self.name}"


@attrs.frozen
class RestApiEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str
    id: str
    stage: str = ""
    fingerprint: str | None = None

    def references(self) -> dict[str, str]:
        return {API_ID: self.id}


ENTRY = RestApiEntry


@attrs.frozen
class RemoteApi:
    id: str
    name: str
    deployed_fingerprint: str | None  # of the deployment the stage points at, None: no stage
    endpoint_type: str | None = None  # EDGE, REGIONAL or PRIVATE; None: not reported
    made_by_fw: bool = False
    # Other APIs fw made under the same name for this deployment: duplicates a retried create
    # left (both requests of a CreateRestApi retried after a read timeout may succeed).
    duplicates: tuple[str, ...] = ()
    deployment: str | None = None  # its DEPLOYMENT_TAG value; None: untagged


def recorded(record: Record) -> tuple[str, RestApiEntry] | None:
    """The record's REST API, as (key, entry)."""
    apis = dropped(record, RestApiEntry, frozenset())
    return next(iter(apis.items()), None)


def recorded_id(record: Record) -> str | None:
    found = recorded(record)
    return found[1].id if found else None


# --- instructions ---------------------------------------------------------------------------


class _ApiStep(Step):
    __slots__ = ()
    kind: ClassVar[str] = NAME
    api: RestApi

    @property
    def lane(self) -> str:
        return self.api.key


@attrs.frozen
class CreateRestApi(_ApiStep):
    MESSAGE: ClassVar[str] = "Creating REST API {self.api.name}"
    api: RestApi


@attrs.frozen
class PutRestApi(_ApiStep):
    MESSAGE: ClassVar[str] = "Updating REST API {self.api.name} from its OpenAPI document"
    api: RestApi


@attrs.frozen
class UpdateEndpointType(_ApiStep):
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
class TagRestApi(_ApiStep):
    """Give an API this deployment uses but an older fw made untagged (it wrote only the
    description) the deployment's tag, which from then on guards it: only APIs tagged for this
    deployment are adopted or deleted by name (:func:`~deployer.deploy.kinds.base.adopt`)."""

    MESSAGE: ClassVar[str] = (
        "Tagging REST API {self.api.name} ({self.api_id}) as {self.deployment}'s"
    )
    api: RestApi
    api_id: str
    deployment: str


@attrs.frozen
class DeployRestApi(_ApiStep):
    MESSAGE: ClassVar[str] = "Deploying REST API {self.api.name} to stage {self.api.stage_name}"
    api: RestApi


@attrs.frozen
class DeleteRestApi(Step):
    kind: ClassVar[str] = NAME
    key: str
    api_id: str
    name: str
    duplicate: bool = False  # an extra copy fw made (never recorded), not the stage's API

    @property
    def message(self) -> str:
        what = "duplicate REST API" if self.duplicate else "REST API"
        return f"Deleting {what} {self.name} ({self.api_id})"


# --- reads ----------------------------------------------------------------------------------


def _read_rest_api(
    reader: Reader, api_id: str | None, name: str | None, stage: str, deployment: str
) -> RemoteApi | None:
    client = reader.client("apigateway")
    found = None
    if api_id:
        found = reader.read(f"REST API {api_id!r}", lambda: client.get_rest_api(restApiId=api_id))
    named: list[dict[str, Any]] = []
    if name:
        named = (
            reader.read(
                f"REST API {name!r}",
                lambda: [
                    item
                    for item in all_pages(client, "get_rest_apis", "items")
                    if item.get("name") == name
                ],
            )
            or []
        )
    items = {item["id"]: item for item in named}
    if found is not None:
        items[found["id"]] = found
    chosen = adopt(_candidate(found) if found else None, [_candidate(i) for i in named], deployment)
    if chosen is None:
        return None
    found, duplicates = items[chosen[0].id], chosen[1]
    rest_id = found["id"]
    stage_info = reader.read(
        f"REST API {rest_id!r} stage {stage!r}",
        lambda: client.get_stage(restApiId=rest_id, stageName=stage),
    )
    fingerprint = None
    if stage_info and stage_info.get("deploymentId"):
        made = reader.read(
            f"REST API {rest_id!r} deployment",
            lambda: client.get_deployment(
                restApiId=rest_id, deploymentId=stage_info["deploymentId"]
            ),
        )
        fingerprint = (made or {}).get("description") or None
    types = (found.get("endpointConfiguration") or {}).get("types") or [None]
    return RemoteApi(
        rest_id,
        found.get("name", ""),
        fingerprint,
        types[0],
        _made_by_fw(found),
        duplicates,
        _candidate(found).deployment,
    )


def _candidate(item: Mapping[str, Any]) -> Candidate:
    tags = item.get("tags") or {}
    created = str(item.get("createdDate") or "")
    return Candidate(item["id"], created, _made_by_fw(item), tags.get(DEPLOYMENT_TAG))


def _made_by_fw(item: Mapping[str, Any]) -> bool:
    """fw tags the APIs it creates ("API Gateway API Reference: RestApi": an API's ``tags``
    come back with it); older fw versions only wrote the description."""
    tags = item.get("tags") or {}
    return DEPLOYMENT_TAG in tags or item.get("description") == f"fw app {item.get('name')}"


READS = {"rest_api": Read("apigateway", _read_rest_api)}


# --- plan -----------------------------------------------------------------------------------


def models(desired: DesiredState) -> tuple[RestApi, ...]:
    return () if desired.rest_api is None else (desired.rest_api,)


def reads(desired: DesiredState, record: Record) -> list[Question]:
    deployment = deployment_of(desired.app_name, desired.stage)
    return [
        ("rest_api", (recorded_id(record), a.name, a.stage_name, deployment))
        for a in models(desired)
    ]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    api = desired.rest_api
    if api is None:
        return []
    deployment = deployment_of(desired.app_name, desired.stage)
    found: RemoteApi | None = remote.ask(
        "rest_api", recorded_id(record), api.name, api.stage_name, deployment
    )
    if found is None:
        return [CreateRestApi(api), PutRestApi(api), DeployRestApi(api)]
    refuse_other_deployment(f"REST API {api.name!r} ({found.id})", found.deployment, deployment)
    refs.set(API_ID, found.id)
    entry = record.get(api.key)
    steps = duplicate_deletions(api.key, api.name, found, DeleteRestApi)
    if not isinstance(entry, RestApiEntry) or (entry.id, entry.stage) != (
        found.id,
        api.stage_name,
    ):
        new = RestApiEntry(api.name, found.id, api.stage_name, found.deployed_fingerprint)
        steps.append(RecordResource(api.key, new))
    if found.deployment is None:
        steps.append(TagRestApi(api, found.id, deployment))
    # The endpoint type lives on the API, outside the document, so it is changed on its own.
    # (It is also part of the fingerprint, so the stage is redeployed as well: harmless.)
    if found.endpoint_type is not None and found.endpoint_type != api.endpoint_type:
        steps.append(UpdateEndpointType(api, found.id, found.endpoint_type))
    # The stage's deployment carries the fingerprint of the document it was made from; if a
    # deploy stopped between PutRestApi and CreateDeployment, they differ and both run again.
    if found.deployed_fingerprint != api.fingerprint:
        steps += [PutRestApi(api), DeployRestApi(api)]
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return named_api_removal_reads(record, keep, RestApiEntry, "rest_api")


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return named_api_removals(record, remote, keep, RestApiEntry, "rest_api", DeleteRestApi)


# --- executor -------------------------------------------------------------------------------


def _create_rest_api(ex: Executor, step: CreateRestApi) -> None:
    api = step.api
    result = ex.client("apigateway").create_rest_api(
        name=api.name,
        description=f"fw app {api.name}",
        endpointConfiguration={"types": [api.endpoint_type]},
        tags=dict(api.tags),
    )
    ex.state.put(api.key, RestApiEntry(api.name, result["id"], api.stage_name, None))


def _tag_rest_api(ex: Executor, step: TagRestApi) -> None:
    # "TagResource" (Amazon API Gateway REST API Reference) on the API's stage-less ARN
    # ("Amazon API Gateway Amazon Resource Name (ARN) reference": arn:<partition>:apigateway:
    # <region>::/restapis/<id>); it adds to the API's tags, leaving any others as they are.
    arn = f"arn:{ex.aws.partition}:apigateway:{ex.aws.region}::/restapis/{step.api_id}"
    tags = {**step.api.tags, DEPLOYMENT_TAG: step.deployment}
    ex.client("apigateway").tag_resource(resourceArn=arn, tags=tags)


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
    ex.client("apigateway").put_rest_api(
        restApiId=ex.resolve(API_ID),
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
    ex.state.put(api.key, RestApiEntry(api.name, api_id, api.stage_name, api.fingerprint))


def _delete_rest_api(ex: Executor, step: DeleteRestApi) -> None:
    ignore_gone(lambda: ex.client("apigateway").delete_rest_api(restApiId=step.api_id))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    CreateRestApi: _create_rest_api,
    TagRestApi: _tag_rest_api,
    UpdateEndpointType: _update_endpoint_type,
    PutRestApi: _put_rest_api,
    DeployRestApi: _deploy_rest_api,
    DeleteRestApi: _delete_rest_api,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    from deployer.package.cfn import invoke_uri
    from deployer.package.openapi import build_openapi
    from deployer.package.sam import REST_API_ID

    if not t.graph.has_api:
        return
    (handler,) = t.of_role("rest")
    stage = t.config.api_gateway_stage
    body = build_openapi(
        t.graph.app,
        handler_uri=invoke_uri(handler.logical_id),
        authorizer_uris={str(f.name): invoke_uri(f.logical_id) for f in t.of_role("authorizer")},
    )
    t.resources[REST_API_ID] = {
        "Type": "AWS::Serverless::Api",
        "Properties": {
            "StageName": stage,
            "EndpointConfiguration": {"Type": t.config.api_gateway_endpoint_type},
            "DefinitionBody": body,
        },
    }
    t.outputs.update(
        {
            "EndpointURL": {
                "Description": "The REST API's base URL",
                "Value": {
                    "Fn::Sub": (
                        f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}"
                        f".${{AWS::URLSuffix}}/{stage}/"
                    )
                },
            },
            "RestAPIId": {"Value": {"Ref": REST_API_ID}},
            "APIHandlerName": {"Value": {"Ref": handler.logical_id}},
            "APIHandlerArn": {"Value": {"Fn::GetAtt": [handler.logical_id, "Arn"]}},
        }
    )
