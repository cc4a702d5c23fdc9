"""The SAM template ``fw package`` writes: every function, the REST API, events, permissions.

Each resource kind writes its own fragment (``kinds/<kind>.py``'s ``template``), in the order of
``kinds.KINDS``, into one :class:`Template` built from the app graph, so the template lists the
functions in the order ``fw deploy`` does.

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

from deployer.deploy.graph import AppGraph, GraphFunction, app_graph
from deployer.package.build import PackageResult
from deployer.package.cfn import EVENT_IDS
from deployer.project.config import FunctionConfig, StageConfig
from microframework.app import App

__all__ = [
    "API_HANDLER_ID",
    "FUNCTION_ZIP_URI",
    "LAYER_ID",
    "LAYER_ZIP_URI",
    "REST_API_ID",
    "Template",
    "WEBSOCKET_API_ID",
    "TemplateFunction",
    "build_template",
    "template_functions",
    "write_template",
]

API_HANDLER_ID = "APIHandler"
REST_API_ID = "RestAPI"
WEBSOCKET_API_ID = "WebsocketAPI"
LAYER_ID = "ManagedLayer"
FUNCTION_ZIP_URI = "./deployment.zip"
LAYER_ZIP_URI = "./layer-deployment.zip"
# Logical ids derived from a function's id (by SAM: its role, and each event's rule,
# subscription or mapping plus its permission; by the kinds: log group and permissions).
# Another function's id must not land on one of them.
_DERIVED_SUFFIXES = (
    "Role",
    "LogGroup",
    "InvokePermission",
    "S3Permission",
    "Integration",  # a websocket handler's, and its route (kinds/websocket_api.py)
    "Route",
    *EVENT_IDS,
    *(f"{event}Permission" for event in EVENT_IDS),
)


@attrs.frozen
class TemplateFunction:
    """One Lambda function of the template: its logical id and its node of the app graph."""

    logical_id: str
    node: GraphFunction

    @property
    def name(self) -> str | None:
        return self.node.name

    @property
    def source(self) -> Any:
        return self.node.source


@attrs.define
class Template:
    """The template being written: the kinds add their resources, outputs and properties."""

    graph: AppGraph
    config: StageConfig
    package: PackageResult
    policy: dict | None  # the managed roles' policy; None: logs only
    functions: list[TemplateFunction]
    resources: dict[str, Any] = attrs.field(factory=dict)
    outputs: dict[str, Any] = attrs.field(factory=dict)
    # Placeholder (a kind's, e.g. the managed layer's) -> its CloudFormation reference.
    refs: dict[str, Any] = attrs.field(factory=dict)
    # What ``fw package`` tells the user the template cannot do (a kind's limits in SAM).
    notes: list[str] = attrs.field(factory=list)

    def settings(self, function: TemplateFunction) -> FunctionConfig:
        return self.config.function(function.name)

    def properties(self, function: TemplateFunction) -> dict[str, Any]:
        """The ``Properties`` of the function's ``AWS::Serverless::Function``."""
        resource = self.resources.setdefault(
            function.logical_id, {"Type": "AWS::Serverless::Function", "Properties": {}}
        )
        properties: dict[str, Any] = resource["Properties"]
        return properties

    def add_event(self, function: TemplateFunction, event_id: str, event: dict[str, Any]) -> None:
        self.properties(function).setdefault("Events", {})[event_id] = event

    def of_role(self, role: str) -> list[TemplateFunction]:
        return [f for f in self.functions if f.node.role == role]

    def wired_by(self, wires: tuple[str, ...]) -> list[TemplateFunction]:
        """The event handlers of the sources a trigger kind wires (its ``WIRES``)."""
        return [f for f in self.of_role("event") if f.source.kind in wires]


def build_template(
    app: App,
    config: StageConfig,
    *,
    policy: dict | None,
    package: PackageResult,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The SAM template (a JSON-able dict) of ``app`` in ``config``'s stage.

    ``policy`` is the IAM policy document of managed roles; ``None`` gives a logs-only policy.
    ``notes`` receives what the kinds say the template cannot do.
    """
    from deployer.deploy import kinds

    graph = app_graph(app)
    template = Template(graph, config, package, policy, template_functions(graph))
    for function in template.functions:
        template.properties(function)  # the functions first, in the graph's order
    for kind in kinds.KINDS:
        kind.template(template)
    rendered: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"{config.app_name} ({config.stage}), packaged by fw",
        "Resources": template.resources,
    }
    if template.outputs:
        rendered["Outputs"] = template.outputs
    if notes is not None:
        notes += template.notes
    return rendered


def write_template(template: dict[str, Any], path: Path, fmt: str) -> None:
    """Write ``template`` as ``json`` or ``yaml`` (block style, intrinsics in ``Fn::`` form)."""
    if fmt == "json":
        text = json.dumps(template, indent=2) + "\n"
    elif fmt == "yaml":
        text = "\n".join(_yaml_lines(template, 0)) + "\n"
    else:
        raise ValueError(f"template format must be 'json' or 'yaml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")


def template_functions(graph: AppGraph) -> list[TemplateFunction]:
    """Every function of the app graph with a unique logical id."""
    used = {REST_API_ID, LAYER_ID, WEBSOCKET_API_ID, f"{WEBSOCKET_API_ID}Stage"}
    return [
        TemplateFunction(
            _unique_id(API_HANDLER_ID if node.name is None else _camel(node.name), used), node
        )
        for node in graph.functions
    ]


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
