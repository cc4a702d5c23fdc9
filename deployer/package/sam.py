"""The SAM template ``fw package`` writes: every function, the REST API, events, permissions.

The template points at ``./deployment.zip`` (and ``./layer-deployment.zip``) next to it, so
``sam deploy`` or ``aws cloudformation package`` uploads what ``build_package`` wrote.

Roles: each function whose config manages its role gets the app's policy inline
(``Policies``), plus the statements AWS checks for its own trigger and VPC (``trigger_policy``,
the same ones ``fw deploy`` and ``fw gen-policy`` show), and SAM creates its role: one role per
function. ``manage_iam_role: false`` uses ``iam_role_arn``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs

from deployer.package.build import PackageResult
from deployer.package.openapi import build_openapi
from deployer.package.sam_events import EVENT_IDS, event_resources, sam_events
from deployer.policy.role_policy import LOGS_STATEMENT, POLICY_VERSION
from deployer.policy.triggers import CLOUDFORMATION_SCOPE, extend_document, function_statements
from deployer.project.config import FunctionConfig, StageConfig
from microframework.app import App

__all__ = [
    "API_HANDLER_ID",
    "REST_API_ID",
    "TemplateFunction",
    "build_template",
    "template_functions",
    "write_template",
]

API_HANDLER_ID = "APIHandler"
REST_API_ID = "RestAPI"
LAYER_ID = "ManagedLayer"
FUNCTION_ZIP_URI = "./deployment.zip"
LAYER_ZIP_URI = "./layer-deployment.zip"
_REST_HANDLER = "app.app"
# Lambda needs these to write the function's logs whatever else the app does.
_LOGS_ONLY_POLICY = {"Version": POLICY_VERSION, "Statement": [LOGS_STATEMENT]}
# Logical ids derived from a function's id (by SAM: its role, and each event's rule,
# subscription or mapping plus its permission; by this module: log group and permissions).
# Another function's id must not land on one of them.
_DERIVED_SUFFIXES = (
    "Role",
    "LogGroup",
    "InvokePermission",
    "S3Permission",
    *EVENT_IDS,
    *(f"{event}Permission" for event in EVENT_IDS),
)


@attrs.frozen
class TemplateFunction:
    """One Lambda function of the template: its logical id, config name and handler."""

    logical_id: str
    name: str | None  # the config's function name; None is the REST handler
    handler: str
    kind: str  # "rest", "event", "function" or "authorizer"
    source: Any = None  # the event source record, for event handlers


def build_template(
    app: App, config: StageConfig, *, policy: dict | None, package: PackageResult
) -> dict[str, Any]:
    """The SAM template (a JSON-able dict) of ``app`` in ``config``'s stage.

    ``policy`` is the IAM policy document of managed roles; ``None`` gives a logs-only policy.
    """
    functions = template_functions(app)
    all_settings = [config.function(function.name) for function in functions]
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    layer = None
    if package.layer_zip is not None:
        resources[LAYER_ID] = {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "ContentUri": LAYER_ZIP_URI,
                "CompatibleRuntimes": sorted({s.runtime for s in all_settings}),
                "CompatibleArchitectures": sorted({s.architecture for s in all_settings}),
                "Description": f"Dependencies of {config.app_name} ({config.stage})",
            },
        }
        layer = {"Ref": LAYER_ID}
    for function, settings in zip(functions, all_settings, strict=True):
        role_policy = policy or _LOGS_ONLY_POLICY
        if settings.autogen_policy:
            # What AWS checks this function's role for beyond its code's calls: the same
            # statements fw deploy and fw gen-policy add (trigger_policy), with the stack's ARNs.
            statements = function_statements(function.source, settings, CLOUDFORMATION_SCOPE)
            role_policy = _substituted(extend_document(role_policy, statements))
        properties = _function_properties(function, settings, role_policy, layer)
        if function.source is not None:
            events = sam_events(function.source)
            if events:
                properties["Events"] = events
            extra, notes = event_resources(function.source, function.logical_id)
            resources.update(extra)
            outputs.update(notes)
        resources[function.logical_id] = {
            "Type": "AWS::Serverless::Function",
            "Properties": properties,
        }
        if settings.log_retention_in_days is not None:
            resources[f"{function.logical_id}LogGroup"] = _log_group(
                function.logical_id, settings.log_retention_in_days
            )
    if app.routes:
        resources.update(_rest_api(app, config, functions))
        outputs.update(_rest_outputs(config))
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"{config.app_name} ({config.stage}), packaged by fw",
        "Resources": resources,
    }
    if outputs:
        template["Outputs"] = outputs
    return template


def write_template(template: dict[str, Any], path: Path, fmt: str) -> None:
    """Write ``template`` as ``json`` or ``yaml`` (block style, intrinsics in ``Fn::`` form)."""
    if fmt == "json":
        text = json.dumps(template, indent=2) + "\n"
    elif fmt == "yaml":
        text = "\n".join(_yaml_lines(template, 0)) + "\n"
    else:
        raise ValueError(f"template format must be 'json' or 'yaml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")


# --- functions -------------------------------------------------------------------------------


def template_functions(app: App) -> list[TemplateFunction]:
    """Every function of the app with a unique logical id, the REST handler first."""
    used = {REST_API_ID, LAYER_ID}
    functions: list[TemplateFunction] = []

    def add(name: str | None, handler: str, kind: str, **extra: Any) -> None:
        logical_id = _unique_id(API_HANDLER_ID if name is None else _camel(name), used)
        functions.append(TemplateFunction(logical_id, name, handler, kind, **extra))

    if app.routes:
        add(None, _REST_HANDLER, "rest")
    for source in app.event_sources:
        add(source.name, source.handler_string, "event", source=source)
    for pure in app.pure_lambda_functions:
        add(pure.name, pure.handler_string, "function")
    for auth in app.builtin_auth_handlers:
        add(auth.name, auth.handler_string, "authorizer")
    return functions


def _camel(name: str) -> str:
    """``clean_up-old`` -> ``CleanUpOld``: logical ids are alphanumeric only."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    return "".join(p[0].upper() + p[1:] for p in parts) or "Function"


def _unique_id(candidate: str, used: set[str]) -> str:
    def taken(logical_id: str) -> bool:
        return any(logical_id + suffix in used for suffix in ("", *_DERIVED_SUFFIXES))

    logical_id, counter = candidate, 2
    while taken(logical_id):
        logical_id, counter = f"{candidate}{counter}", counter + 1
    used.update(logical_id + suffix for suffix in ("", *_DERIVED_SUFFIXES))
    return logical_id


def _function_properties(
    function: TemplateFunction, settings: FunctionConfig, policy: dict, layer: Any
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "CodeUri": FUNCTION_ZIP_URI,
        "Handler": function.handler,
        "Runtime": settings.runtime,
        "Architectures": [settings.architecture],
        "MemorySize": settings.lambda_memory_size,
        "Timeout": settings.lambda_timeout,
    }
    if settings.environment_variables:
        properties["Environment"] = {"Variables": dict(settings.environment_variables)}
    if settings.xray:
        properties["Tracing"] = "Active"
    if settings.subnet_ids:
        properties["VpcConfig"] = {
            "SubnetIds": list(settings.subnet_ids),
            "SecurityGroupIds": list(settings.security_group_ids),
        }
    layers: list[Any] = list(settings.layers)
    if layer is not None:
        # The dependencies left the function zip for the layer: every function needs it.
        layers.append(layer)
    if layers:
        properties["Layers"] = layers
    if settings.reserved_concurrency is not None:
        properties["ReservedConcurrentExecutions"] = settings.reserved_concurrency
    if settings.tags:
        properties["Tags"] = dict(settings.tags)
    if not settings.manage_iam_role:
        properties["Role"] = settings.iam_role_arn
    else:
        properties["Policies"] = [policy]
    return properties


def _substituted(value: Any) -> Any:
    """``value`` with every string naming ``${AWS::...}`` wrapped in ``Fn::Sub``."""
    if isinstance(value, dict):
        return {k: _substituted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v) for v in value]
    if isinstance(value, str) and "${AWS::" in value:
        return {"Fn::Sub": value}
    return value


def _log_group(function_id: str, days: int) -> dict[str, Any]:
    # Lambda creates /aws/lambda/<name> on first log line with no expiry; declaring it first is
    # the only way to give it a retention (and to delete it with the stack).
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"},
            "RetentionInDays": days,
        },
    }


# --- the REST API ----------------------------------------------------------------------------


def _invoke_uri(function_id: str) -> dict[str, str]:
    return {
        "Fn::Sub": (
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"${{{function_id}.Arn}}/invocations"
        )
    }


def _rest_api(app: App, config: StageConfig, functions: list[TemplateFunction]) -> dict[str, Any]:
    authorizer_ids = {
        f.name: f.logical_id for f in functions if f.kind == "authorizer" and f.name is not None
    }
    body = build_openapi(
        app,
        handler_uri=_invoke_uri(API_HANDLER_ID),
        authorizer_uris={name: _invoke_uri(fid) for name, fid in authorizer_ids.items()},
    )
    resources: dict[str, Any] = {
        REST_API_ID: {
            "Type": "AWS::Serverless::Api",
            "Properties": {
                "StageName": config.api_gateway_stage,
                "EndpointConfiguration": {"Type": config.api_gateway_endpoint_type},
                "DefinitionBody": body,
            },
        },
        f"{API_HANDLER_ID}InvokePermission": _api_permission(API_HANDLER_ID, "*"),
    }
    for function_id in authorizer_ids.values():
        # API Gateway calls an authorizer from its /authorizers/<id> ARN, not a method's ARN.
        resources[f"{function_id}InvokePermission"] = _api_permission(function_id, "authorizers/*")
    return resources


def _api_permission(function_id: str, resource: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": function_id},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": (
                    "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                    f"${{{REST_API_ID}}}/{resource}"
                )
            },
        },
    }


def _rest_outputs(config: StageConfig) -> dict[str, Any]:
    return {
        "EndpointURL": {
            "Description": "The REST API's base URL",
            "Value": {
                "Fn::Sub": (
                    f"https://${{{REST_API_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
                    f"/{config.api_gateway_stage}/"
                )
            },
        },
        "RestAPIId": {"Value": {"Ref": REST_API_ID}},
        "APIHandlerName": {"Value": {"Ref": API_HANDLER_ID}},
        "APIHandlerArn": {"Value": {"Fn::GetAtt": [API_HANDLER_ID, "Arn"]}},
    }


# --- YAML ------------------------------------------------------------------------------------

# Plain (unquoted) scalars only where no YAML 1.1 reader could take them for anything but a
# string: a leading letter, no spaces or flow characters, and not a boolean/null word.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.:/@+-]*")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and not text.endswith(":"):
        return text
    return _double_quoted(text)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; anything a YAML reader would refuse or fold is escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif (
            0x20 <= code <= 0x7E
            or 0xA0 <= code <= 0xD7FF
            or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
            or code >= 0x10000
        ) and code not in (0x2028, 0x2029):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = _yaml_scalar(str(key))
            if _is_block(item):
                lines.append(f"{pad}{key_text}:")
                lines.extend(_yaml_lines(item, indent + 2))
            else:
                lines.append(f"{pad}{key_text}: {_yaml_scalar(item)}")
    else:
        for item in value:
            if _is_block(item):
                nested = _yaml_lines(item, indent + 2)
                nested[0] = f"{pad}- {nested[0][indent + 2 :]}"
                lines.extend(nested)
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    return lines
