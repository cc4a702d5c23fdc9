"""Map boto3 client methods and botocore operations to IAM actions.

Most operations are their own IAM action (``dynamodb`` ``PutItem`` -> ``dynamodb:PutItem``), under
the service's signing name (``stepfunctions`` signs as ``states``). The exceptions live in
``deployer/policy/data/iam_actions.json``, which ``tests/test_iam_actions.py`` checks against botocore.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from deployer.policy import service_models as analyzer_models

__all__ = [
    "actions_for_operation",
    "client_helper_operations",
    "iam_prefix",
    "is_no_action_method",
    "load_table",
    "resource_helper_operations",
]


@functools.cache
def load_table() -> dict[str, Any]:
    """The parsed ``iam_actions.json`` (read once)."""
    text = resources.files("deployer.policy").joinpath("data/iam_actions.json").read_text("utf-8")
    return dict(json.loads(text))


def iam_prefix(service: str) -> str:
    """The IAM action prefix for a boto3 client name (``stepfunctions`` -> ``states``)."""
    override = load_table()["prefix_overrides"].get(service)
    if override:
        return str(override)
    meta = analyzer_models.service_metadata(service)
    # signingName is what SigV4 signs with, and IAM evaluates actions under that namespace;
    # older models omit it when it equals endpointPrefix.
    return str(meta.get("signingName") or meta["endpointPrefix"])


def actions_for_operation(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions one API call needs (empty for calls that need no permission)."""
    special = load_table()["operations"].get(service, {}).get(operation)
    if special is not None:
        return tuple(special)
    return (f"{iam_prefix(service)}:{operation}",)


def client_helper_operations(service: str, method: str) -> tuple[str, ...] | None:
    """Operations a hand-written client method (``s3.upload_file``) may call, or None."""
    ops = load_table()["client_helpers"].get(service, {}).get(method)
    return None if ops is None else tuple(ops)


def resource_helper_operations(service: str, resource: str, method: str) -> tuple[str, ...] | None:
    """Operations a method boto3 injects into a resource (``Bucket.upload_file``) calls, or None."""
    ops = load_table()["resource_helpers"].get(service, {}).get(resource, {}).get(method)
    return None if ops is None else tuple(ops)


def is_no_action_method(method: str) -> bool:
    """Client attributes that work locally (presigning, paginator factories, ``meta``)."""
    return method in load_table()["no_action_methods"]
