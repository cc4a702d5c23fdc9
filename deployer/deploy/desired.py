"""Turn an app, its stage config and its package into the resources the stage should have.

Pure apart from reading the project's files for the policy: no AWS calls. The account and region
are inputs, so every ARN (roles, functions, rules, topics, queues) is known in advance and the
planner can compare it with what AWS reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from deployer.deploy import kinds
from deployer.deploy.graph import app_graph
from deployer.deploy.kinds.base import DEPLOYMENT_TAG, CodeArtifact
from deployer.deploy.kinds.function import FunctionSettings, LambdaFunction
from deployer.deploy.kinds.layer import MANAGED_LAYER, LambdaLayer
from deployer.deploy.kinds.permission import Permission
from deployer.deploy.kinds.rest_api import API_ID, RestApi
from deployer.deploy.kinds.role import ManagedRole
from deployer.deploy.kinds.role_policy import RolePolicy, websocket_policy
from deployer.deploy.kinds.websocket_api import WEBSOCKET_API_ID, WebsocketApi, WebsocketRoute
from deployer.deploy.models import DesiredState
from deployer.errors import ConfigError
from deployer.package.build import PackageResult
from deployer.policy.triggers import (
    ArnScope,
    extend_document,
    function_statements,
)
from deployer.project.config import API_HANDLER_NAME, FunctionConfig, StageConfig

__all__ = [
    "DEPLOYMENT_TAG",
    "STATEMENT_ID",
    "Desired",
    "PolicyBuilder",
    "build_desired",
    "function_name",
    "statement_ids",
]

# The statement id of a function's first (today: only) invoker; any other invoker of the same
# function gets one of its own (:func:`statement_ids`), so no two grants share a key.
STATEMENT_ID = "fw-invoke"
# Lambda function names are at most 64 characters.
_MAX_FUNCTION_NAME = 64
# IAM role names are at most 64 characters.
_MAX_ROLE_NAME = 64

PolicyBuilder = Callable[..., Any]  # deployer.policy.role_policy.build_policy's signature


@attrs.frozen
class Desired:
    """The desired state plus what the policy analyzer could not follow."""

    state: DesiredState
    warnings: tuple[str, ...] = ()


@attrs.frozen
class _Context:
    app_name: str
    stage: str
    region: str
    account_id: str
    partition: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        # Global services (IAM) leave the region, and S3 buckets the account, empty.
        scope = ArnScope(
            self.partition, self.region if region else "", self.account_id if account else ""
        )
        return scope.arn(service, resource)

    @property
    def scope(self) -> ArnScope:
        return ArnScope(self.partition, self.region, self.account_id)


def function_name(app_name: str, stage: str, logical_name: str | None) -> str:
    """The Lambda name of a function: ``<app>-<stage>`` for the REST handler, else with the name."""
    if logical_name in (None, API_HANDLER_NAME):
        return f"{app_name}-{stage}"
    return f"{app_name}-{stage}-{logical_name}"


def _default_policy_builder() -> PolicyBuilder:
    from deployer.policy.role_policy import build_policy

    return build_policy


def build_desired(
    app: Any,
    config: StageConfig,
    package: PackageResult,
    *,
    region: str,
    account_id: str,
    partition: str = "aws",
    policy_builder: PolicyBuilder | None = None,
) -> Desired:
    """Everything ``config.stage`` of ``app`` should have in ``account_id``/``region``."""
    ctx = _Context(config.app_name, config.stage, region, account_id, partition)
    base = f"{ctx.app_name}-{ctx.stage}"
    code = CodeArtifact(
        path=Path(package.function_zip.path),
        code_sha256=package.function_zip.code_sha256,
        size=package.function_zip.size,
    )
    layer = None
    if package.layer_zip is not None:
        layer = LambdaLayer(
            name=f"{base}-managed-layer",
            code=CodeArtifact(
                Path(package.layer_zip.path), package.layer_zip.code_sha256, package.layer_zip.size
            ),
            runtime=config.runtime,
            architecture=config.architecture,
        )

    graph = app_graph(app)
    roles = _RoleSet(ctx, config, policy_builder or _default_policy_builder())
    functions: list[LambdaFunction] = []
    for node in graph.functions:
        logical = node.logical_name
        fconfig = config.function(node.name)
        name = function_name(ctx.app_name, ctx.stage, logical)
        if len(name) > _MAX_FUNCTION_NAME:
            raise ConfigError(
                f"function name {name!r} is {len(name)} characters, over Lambda's 64; shorten the"
                " app name, the stage name or the handler's name"
            )
        functions.append(
            _function(
                ctx,
                name,
                logical,
                node.handler,
                fconfig,
                roles.arn_for(logical, fconfig, node.source),
                code,
                layer,
            )
        )
    by_logical = {f.logical_name: f for f in functions}

    permissions: list[Permission] = []
    rest_api = None
    if graph.has_api:
        rest_api = _rest_api(ctx, app, config, by_logical)
        api_source = ctx.arn("execute-api", f"{API_ID}/*")
        for logical in [
            f.logical_name for f in graph.functions if f.role in ("rest", "authorizer")
        ]:
            permissions.append(
                Permission(
                    by_logical[logical].function_name,
                    STATEMENT_ID,
                    "apigateway.amazonaws.com",
                    api_source,
                )
            )

    websocket_api = None
    role_policies: tuple[RolePolicy, ...] = ()
    if graph.websocket_handlers:
        websocket_api, grants = _websocket_api(ctx, config, graph, by_logical)
        permissions += grants
        role_policies = tuple(
            websocket_policy(name, websocket_api.stage_name, ctx.scope)
            for name in roles.websocket_roles
        )

    wiring = _Wiring(ctx)
    for node in graph.event_handlers:
        wiring.add(node.source, by_logical[node.logical_name])
    return Desired(
        state=DesiredState(
            app_name=ctx.app_name,
            stage=ctx.stage,
            region=region,
            account_id=account_id,
            roles=roles.build(),
            layer=layer,
            functions=tuple(functions),
            rest_api=rest_api,
            permissions=statement_ids(permissions + wiring.permissions),
            wired=wiring.models,
            websocket_api=websocket_api,
            role_policies=role_policies,
        ),
        warnings=roles.warnings,
    )


def statement_ids(permissions: list[Permission]) -> tuple[Permission, ...]:
    """The permissions with a statement id of their own per function: the first invoker of a
    function keeps :data:`STATEMENT_ID` (what every stage deployed so far has, so a redeploy
    writes nothing), any other gets ``fw-invoke-<hash of its principal and source ARN>``, the
    same on every deploy whatever order the others come in. A grant listed twice is one."""
    seen: dict[tuple[str, str, str], Permission] = {}
    firsts: set[str] = set()
    for permission in permissions:
        grant = (permission.function_name, permission.principal, permission.source_arn)
        if grant in seen:
            continue
        statement_id = STATEMENT_ID
        if permission.function_name in firsts:
            digest = hashlib.sha256(f"{grant[1]} {grant[2]}".encode()).hexdigest()[:12]
            statement_id = f"{STATEMENT_ID}-{digest}"
        firsts.add(permission.function_name)
        seen[grant] = attrs.evolve(permission, statement_id=statement_id)
    return tuple(seen.values())


class _RoleSet:
    """Managed roles: ``<app>-<stage>`` for every function with the stage's policy settings, and
    ``<app>-<stage>-<name>`` for a function whose policy settings differ."""

    def __init__(self, ctx: _Context, config: StageConfig, build_policy: PolicyBuilder) -> None:
        self._ctx = ctx
        self._config = config
        self._build_policy = build_policy
        self._default_key = self._policy_key(config.function(None))
        self._policies: dict[tuple[bool, str | None], Any] = {}
        self.roles: dict[str, ManagedRole] = {}
        # What AWS checks each role for beyond the code's calls (its functions' triggers).
        self._extra: dict[str, list[dict[str, Any]]] = {}
        # Roles fw writes the policy of: with a websocket API, each gets the @connections grant
        # (it waits for the API's id), since any function of the app may post to a connection
        # (Chalice's pattern: a REST route sends to a websocket client).
        self.websocket_roles: dict[str, None] = {}
        self._warnings: list[str] = []

    @staticmethod
    def _policy_key(fconfig: FunctionConfig) -> tuple[bool, str | None]:
        return (fconfig.autogen_policy, fconfig.iam_policy_file)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self._warnings))

    def build(self) -> tuple[ManagedRole, ...]:
        """Every role, its policy holding what each of its functions' triggers needs."""
        return tuple(
            attrs.evolve(
                role,
                policy_document=extend_document(role.policy_document, self._extra[name]),
            )
            if self._extra.get(name)
            else role
            for name, role in self.roles.items()
        )

    def arn_for(self, logical: str, fconfig: FunctionConfig, source: Any = None) -> str:
        if not fconfig.manage_iam_role:
            assert fconfig.iam_role_arn is not None  # config guarantees it
            return fconfig.iam_role_arn
        key = self._policy_key(fconfig)
        base = f"{self._ctx.app_name}-{self._ctx.stage}"
        name = base if key == self._default_key else f"{base}-{logical}"
        if len(name) > _MAX_ROLE_NAME:
            raise ConfigError(
                f"IAM role name {name!r} is over IAM's 64 characters; shorten the app, stage or"
                " handler name, or set iam_role_arn"
            )
        if name not in self.roles:
            if key not in self._policies:
                result = self._build_policy(
                    self._config.project_dir,
                    autogen_policy=key[0],
                    iam_policy_file=key[1],
                    policy_dir=self._config.config_dir,
                )
                self._policies[key] = result.document
                self._warnings.extend(result.warnings)
            self.roles[name] = ManagedRole(
                name=name,
                arn=self._ctx.arn("iam", f"role/{name}", region=False),
                policy_name=name,
                policy_document=self._policies[key],
            )
        if fconfig.autogen_policy:
            # A hand-written policy (autogen_policy false) is used exactly as written.
            extra = self._extra.setdefault(name, [])
            extra += function_statements(source, fconfig, self._ctx.scope)
            self.websocket_roles[name] = None
        return self.roles[name].arn


def _function(
    ctx: _Context,
    name: str,
    logical: str,
    handler_string: str,
    fconfig: FunctionConfig,
    role_arn: str,
    code: CodeArtifact,
    layer: LambdaLayer | None,
) -> LambdaFunction:
    layers = ((MANAGED_LAYER,) if layer is not None else ()) + tuple(fconfig.layers)
    tags = {**fconfig.tags, DEPLOYMENT_TAG: f"{ctx.app_name}/{ctx.stage}"}
    return LambdaFunction(
        logical_name=logical,
        function_name=name,
        arn=ctx.arn("lambda", f"function:{name}"),
        code=code,
        architecture=fconfig.architecture,
        settings=FunctionSettings(
            handler=handler_string,
            role_arn=role_arn,
            runtime=fconfig.runtime,
            memory_size=fconfig.lambda_memory_size,
            timeout=fconfig.lambda_timeout,
            environment=dict(fconfig.environment_variables),
            layers=layers,
            subnet_ids=frozenset(fconfig.subnet_ids),
            security_group_ids=frozenset(fconfig.security_group_ids),
            xray=fconfig.xray,
        ),
        reserved_concurrency=fconfig.reserved_concurrency,
        tags=tags,
        log_retention_in_days=fconfig.log_retention_in_days,
    )


def _rest_api(
    ctx: _Context, app: Any, config: StageConfig, functions: dict[str, LambdaFunction]
) -> RestApi:
    from deployer.package import openapi

    handler_uri = openapi.integration_uri(ctx.region, functions[API_HANDLER_NAME].arn)
    authorizer_uris = {
        a.name: openapi.integration_uri(ctx.region, functions[a.name].arn)
        for a in app.builtin_auth_handlers
    }
    credentials = {a.name: a.execution_role for a in app.builtin_auth_handlers if a.execution_role}
    document = openapi.build_openapi(
        app,
        handler_uri=handler_uri,
        authorizer_uris=authorizer_uris or None,
        authorizer_credentials=credentials or None,
    )
    # The endpoint type is set on the API, not in the document, but a change must redeploy too.
    fingerprint = hashlib.sha256(
        f"{openapi.api_fingerprint(document)}:{config.api_gateway_endpoint_type}".encode()
    ).hexdigest()
    return RestApi(
        name=f"{ctx.app_name}-{ctx.stage}",
        document=document,
        fingerprint=fingerprint,
        stage_name=config.api_gateway_stage,
        endpoint_type=config.api_gateway_endpoint_type,
        tags={DEPLOYMENT_TAG: f"{ctx.app_name}/{ctx.stage}"},
    )


def _websocket_api(
    ctx: _Context, config: StageConfig, graph: Any, functions: dict[str, LambdaFunction]
) -> tuple[WebsocketApi, list[Permission]]:
    """The WebSocket API and its grants: API Gateway invokes each handler from any route and
    stage of the API ("Control access to WebSocket APIs with IAM authorization": route ARNs
    are ``<api-id>/<stage>/<route-key>``)."""
    from deployer.deploy.kinds import websocket_api
    from deployer.package import openapi

    nodes = [functions[node.logical_name] for node in graph.websocket_handlers]
    routes = tuple(
        WebsocketRoute(
            node.source.route_key_handled,
            function.function_name,
            openapi.integration_uri(ctx.region, function.arn),
        )
        for node, function in zip(graph.websocket_handlers, nodes, strict=True)
    )
    api = websocket_api.build(
        ctx.app_name,
        ctx.stage,
        config.api_gateway_stage,
        routes,
        {DEPLOYMENT_TAG: f"{ctx.app_name}/{ctx.stage}"},
    )
    source = ctx.arn("execute-api", f"{WEBSOCKET_API_ID}/*")
    grants = [
        Permission(f.function_name, STATEMENT_ID, "apigateway.amazonaws.com", source) for f in nodes
    ]
    return api, grants


class _Wiring:
    """The trigger kinds' models for the app's event handlers, and the permissions they need.

    Each trigger kind says which event sources it wires (``WIRES``) and what it makes of one
    handler (``wire``); a source no kind wires is refused, since it would deploy a function
    nothing invokes.
    """

    def __init__(self, ctx: _Context) -> None:
        self._ctx = ctx
        self.models: dict[str, tuple[Any, ...]] = {}
        self.permissions: list[Permission] = []

    def add(self, source: Any, function: LambdaFunction) -> None:
        wiring = kinds.wiring(source.kind)
        if not wiring:
            raise ConfigError(
                f"no resource kind wires event source {source.kind!r} (handler {source.name!r})"
            )
        for kind in wiring:
            wired = kind.wire(source, function, self._ctx)
            self.models[kind.NAME] = (*self.models.get(kind.NAME, ()), *wired.models)
            self.permissions += [
                Permission(
                    function.function_name,
                    STATEMENT_ID,
                    invoker.principal,
                    invoker.source_arn,
                    source_account=invoker.source_account,
                )
                for invoker in wired.invokers
            ]
