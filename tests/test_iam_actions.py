"""The IAM action table agrees with botocore's models, and names the right IAM actions."""

from __future__ import annotations

import re

import pytest

from deployer.policy import service_models as models
from deployer.policy.iam_actions import (
    actions_for_operation,
    client_helper_operations,
    iam_prefix,
    is_no_action_method,
    load_table,
    resource_helper_operations,
)

_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
TABLE = load_table()


@pytest.mark.parametrize("service", sorted(TABLE["prefix_overrides"]))
def test_every_prefix_override_names_a_real_service(service: str) -> None:
    assert models.service_exists(service)


@pytest.mark.parametrize("service", sorted(TABLE["operations"]))
def test_every_renamed_operation_exists_and_maps_to_well_formed_actions(service: str) -> None:
    operations = set(models.method_operations(service).values())
    for operation, actions in TABLE["operations"][service].items():
        assert operation in operations, f"{service} has no operation {operation}"
        assert actions == sorted(set(actions))
        assert all(_ACTION.match(a) for a in actions), actions


def _helpers() -> list[tuple[str, str, list[str]]]:
    rows = [(s, m, ops) for s, table in TABLE["client_helpers"].items() for m, ops in table.items()]
    for service, types in TABLE["resource_helpers"].items():
        rows += [
            (service, f"{t}.{m}", ops) for t, table in types.items() for m, ops in table.items()
        ]
    return rows


@pytest.mark.parametrize(("service", "method", "operations"), _helpers(), ids=lambda v: str(v)[:30])
def test_every_helper_operation_exists(service: str, method: str, operations: list[str]) -> None:
    known = set(models.method_operations(service).values())
    assert set(operations) <= known
    if "." not in method:  # a client helper must not shadow a real API method
        assert method not in models.method_operations(service)


def test_resource_helpers_name_real_resource_types() -> None:
    for service, types in TABLE["resource_helpers"].items():
        for type_name in types:
            assert models.resource_type(service, type_name) is not None, (service, type_name)


@pytest.mark.parametrize(
    ("service", "prefix"),
    [
        ("stepfunctions", "states"),
        ("dynamodb", "dynamodb"),
        ("cloudwatch", "cloudwatch"),
        ("sesv2", "ses"),
        ("apigatewaymanagementapi", "execute-api"),
        ("iot-data", "iot"),
        ("efs", "elasticfilesystem"),
    ],
)
def test_iam_prefix(service: str, prefix: str) -> None:
    assert iam_prefix(service) == prefix


@pytest.mark.parametrize(
    ("service", "operation", "actions"),
    [
        ("dynamodb", "PutItem", ("dynamodb:PutItem",)),
        ("s3", "ListObjectsV2", ("s3:ListBucket",)),
        ("s3", "HeadObject", ("s3:GetObject",)),
        ("s3", "HeadBucket", ("s3:ListBucket",)),
        ("s3", "CopyObject", ("s3:GetObject", "s3:PutObject")),
        ("lambda", "Invoke", ("lambda:InvokeFunction",)),
        ("stepfunctions", "StartExecution", ("states:StartExecution",)),
        ("sts", "GetCallerIdentity", ()),
    ],
)
def test_actions_for_operation(service: str, operation: str, actions: tuple[str, ...]) -> None:
    assert actions_for_operation(service, operation) == actions


def test_transfer_helpers() -> None:
    assert client_helper_operations("s3", "download_file") == ("HeadObject", "GetObject")
    assert "AbortMultipartUpload" in client_helper_operations("s3", "upload_fileobj")
    assert client_helper_operations("s3", "put_object") is None
    assert resource_helper_operations("s3", "Bucket", "load") == ("ListBuckets",)


@pytest.mark.parametrize(
    "method",
    [
        "generate_presigned_url",
        "generate_presigned_post",
        "get_paginator",
        "get_waiter",
        "can_paginate",
        "close",
        "meta",
        "exceptions",
    ],
)
def test_client_side_helpers_need_no_action(method: str) -> None:
    assert is_no_action_method(method)
    assert not is_no_action_method("put_object")
