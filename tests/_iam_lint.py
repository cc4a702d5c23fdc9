"""Shared by the policy tests: the actions each trigger's poller needs, and an IAM lint."""

from __future__ import annotations

import json
import re
from typing import Any

POLLER_ACTIONS = {
    "sqs": {"sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"},
    "kinesis": {
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:ListStreams",
        "kinesis:SubscribeToShard",
    },
    "dynamodb": {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    },
}


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def lint(document: dict[str, Any]) -> list[str]:
    """parliament's findings, except RESOURCE_STAR: the code's calls are on "*" by design (the
    analyzer cannot see which bucket or table a call names; docs/gen-policy.md says so)."""
    from parliament import analyze_policy_string

    # parliament refuses a ':' inside a resource id, but a DynamoDB stream's label is a
    # timestamp with colons ("Amazon DynamoDB: DescribeStream": stream/2024-01-01T00:00:00.000),
    # so it lints a copy whose labels have them replaced.
    text = re.sub(
        r"(arn:[^\"]*:dynamodb:[^\"]*/stream/)([^\"]*)",
        lambda m: m[1] + m[2].replace(":", "-"),
        json.dumps(document),
    )
    policy = analyze_policy_string(text)
    return [
        f"{finding.issue}: {finding.detail}"
        for finding in policy.findings
        if finding.issue != "RESOURCE_STAR"
    ]


def assert_clean(document: dict[str, Any]) -> None:
    assert lint(document) == []
    for statement in statements(document):
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action!r}"
