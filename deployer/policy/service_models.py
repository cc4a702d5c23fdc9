"""Lazy, cached lookups in botocore's service/waiter models and boto3's resource models.

The analyzer asks about the few services an app uses, so each model file is read on first use
(a botocore session would parse ~400 service models' metadata up front; one loader does not).
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import attrs

__all__ = [
    "ResourceType",
    "available_services",
    "method_operations",
    "resource_type",
    "role_parameters",
    "service_exists",
    "service_metadata",
    "waiter_operation",
]


@functools.cache
def _loader() -> Any:
    import importlib.util

    import botocore.loaders

    loader = botocore.loaders.create_loader()
    # boto3's resource models ship in boto3/data, which botocore's loader does not search.
    # find_spec locates the package without importing it (``import boto3`` costs ~100 ms).
    spec = importlib.util.find_spec("boto3")
    if spec is not None and spec.submodule_search_locations:
        loader.search_paths.append(os.path.join(spec.submodule_search_locations[0], "data"))
    return loader


@functools.cache
def available_services() -> frozenset[str]:
    """Every client name botocore knows (``s3``, ``stepfunctions``, ...)."""
    return frozenset(_loader().list_available_services("service-2"))


def service_exists(service: str) -> bool:
    return service in available_services()


@functools.cache
def _service_model(service: str) -> Any:
    import botocore.model

    data = _loader().load_service_model(service, "service-2")
    return botocore.model.ServiceModel(data, service_name=service)


def service_metadata(service: str) -> dict[str, Any]:
    """The model's ``metadata`` block (``signingName``, ``endpointPrefix``, ...)."""
    return dict(_service_model(service).metadata)


@functools.cache
def method_operations(service: str) -> dict[str, str]:
    """``{"put_item": "PutItem", ...}``: client method names exactly as botocore makes them."""
    from botocore import xform_name

    return {xform_name(op): op for op in _service_model(service).operation_names}


@attrs.frozen
class RoleParameter:
    """A parameter of an operation that names an IAM role for the service to use."""

    name: str
    via: str  # the input's own member that holds it (``name`` itself when at the top level)
    required: bool


# A role the service will act as: Role, RoleArn, roleArn, RoleARN, ExecutionRoleArn,
# serviceRole... (never RoleName or RoleSessionName, which name a role without handing it over).
_ROLE_MEMBER = re.compile(r"(?:^|[a-z_])(?:role|Role)(?:Arn|ARN|arn)?$")
# Services whose role parameters name a role to assume or manage, not one to hand to them.
_ROLE_NOT_PASSED = frozenset({"sts", "iam"})


@functools.cache
def role_parameters(service: str, operation: str) -> tuple[RoleParameter, ...]:
    """The operation's input members (at any depth) that pass a role to the service.

    "Granting a user permissions to pass a role to an AWS service" (IAM): a call that gives a
    service a role needs iam:PassRole besides its own action. The members come from botocore's
    input shape, not from a list kept by hand.
    """
    if service in _ROLE_NOT_PASSED:
        return ()
    shape = _service_model(service).operation_model(operation).input_shape
    if shape is None:
        return ()
    found: dict[str, RoleParameter] = {}

    def walk(structure: Any, depth: int, via: str | None) -> None:
        required = set(getattr(structure, "required_members", ()))
        for name, member in structure.members.items():
            if member.type_name == "string" and _ROLE_MEMBER.search(name):
                top = via is None
                found.setdefault(name, RoleParameter(name, via or name, top and name in required))
            elif depth < 4:
                inner = member
                while inner.type_name in ("list", "map"):
                    inner = inner.member if inner.type_name == "list" else inner.value
                if inner.type_name == "structure" and inner.name != structure.name:
                    walk(inner, depth + 1, via or name)

    walk(shape, 0, None)
    return tuple(found.values())


@functools.cache
def _waiters(service: str) -> dict[str, Any]:
    from botocore.exceptions import DataNotFoundError

    try:
        return dict(_loader().load_service_model(service, "waiters-2")["waiters"])
    except DataNotFoundError:
        return {}


def waiter_operation(service: str, waiter_name: str) -> str | None:
    """The operation a waiter polls, by client (``bucket_exists``) or model (``BucketExists``)."""
    from botocore import xform_name

    waiters = _waiters(service)
    if waiter_name in waiters:
        return str(waiters[waiter_name]["operation"])
    for name, spec in waiters.items():
        if xform_name(name) == waiter_name:
            return str(spec["operation"])
    return None


@attrs.frozen
class ResourceType:
    """What a boto3 resource (or the service resource, ``name=None``) exposes, by Python name."""

    service: str
    name: str | None
    actions: dict[str, tuple[str, ...]]  # method -> operations it calls
    action_results: dict[str, tuple[str, bool]]  # method -> (resource type it returns, is a list)
    subresources: dict[str, str]  # CamelCase factory method -> resource type
    references: dict[str, str]  # snake attribute -> resource type (needs a load)
    collections: dict[str, tuple[str, str]]  # snake attribute -> (list operation, item type)
    batch_actions: dict[str, str]  # method on a collection of this type -> operation
    waiters: dict[str, str]  # wait_until_* -> operation
    load_operation: str | None
    attributes: frozenset[str]  # shape members; reading one triggers the load


@functools.cache
def _resource_json(service: str) -> dict[str, Any] | None:
    from botocore.exceptions import DataNotFoundError

    try:
        return dict(_loader().load_service_model(service, "resources-1"))
    except DataNotFoundError:
        return None


def has_resources(service: str) -> bool:
    return _resource_json(service) is not None


@functools.cache
def resource_type(service: str, name: str | None) -> ResourceType | None:
    """Resource type ``name`` of ``service``; ``None`` is the service resource itself."""
    from botocore import xform_name

    data = _resource_json(service)
    if data is None:
        return None
    defs = data.get("resources", {})
    spec = data.get("service", {}) if name is None else defs.get(name)
    if spec is None:
        return None

    def operations(action: dict[str, Any]) -> tuple[str, ...]:
        op = action.get("request", {}).get("operation")
        return (op,) if op else ()

    actions = {xform_name(k): operations(v) for k, v in spec.get("actions", {}).items()}
    action_results = {
        xform_name(k): (v["resource"]["type"], v["resource"].get("path", "").endswith("[]"))
        for k, v in spec.get("actions", {}).items()
        if "resource" in v
    }
    subresources: dict[str, str] = {}
    references: dict[str, str] = {}
    has = dict(spec.get("has", {}))
    if name is None:
        # boto3 exposes every resource type as a factory on the service resource
        # (``s3.Object(bucket, key)``) even when the JSON does not list it under "has".
        listed = {v["resource"]["type"] for v in has.values()}
        for type_name in defs:
            if type_name not in listed:
                subresources[type_name] = type_name
    for key, ref in has.items():
        identifiers = ref["resource"].get("identifiers", [])
        if any(i.get("source") == "data" for i in identifiers):
            references[xform_name(key)] = ref["resource"]["type"]
        else:
            subresources[key] = ref["resource"]["type"]
    collections = {
        xform_name(k): (v["request"]["operation"], v["resource"]["type"])
        for k, v in spec.get("hasMany", {}).items()
    }
    batch = {
        xform_name(k): v["request"]["operation"] for k, v in spec.get("batchActions", {}).items()
    }
    waiters: dict[str, str] = {}
    for key, waiter in spec.get("waiters", {}).items():
        op = waiter_operation(service, waiter["waiterName"])
        if op:
            waiters["wait_until_" + xform_name(key)] = op
    load = spec.get("load", {}).get("request", {}).get("operation")
    attributes: frozenset[str] = frozenset()
    if spec.get("shape"):
        shape = _service_model(service).shape_for(spec["shape"])
        # boto3 exposes identifiers as plain attributes, so reading one never loads.
        identifiers = spec.get("identifiers", [])
        skip = {i.get("memberName") for i in identifiers} | {i["name"] for i in identifiers}
        attributes = frozenset(xform_name(m) for m in shape.members if m not in skip)
    return ResourceType(
        service=service,
        name=name,
        actions=actions,
        action_results=action_results,
        subresources=subresources,
        references=references,
        collections=collections,
        batch_actions=batch,
        waiters=waiters,
        load_operation=load,
        attributes=attributes,
    )
