"""CloudFormation intrinsics the kinds' SAM fragments share: ``Fn::Sub`` for the ARNs written in
``CLOUDFORMATION_SCOPE``, the Lambda invoke URI and the invoke permission."""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_IDS", "invoke_permission", "invoke_uri", "substituted"]

# The keys of the functions' SAM ``Events`` maps (the rule, topic and mapping kinds write them);
# SAM names each event's resources <FunctionId><EventId>, so no function's id may end so.
EVENT_IDS = ("Schedule", "Rule", "Topic", "Queue", "Stream")


def substituted(value: Any) -> Any:
    """``value`` with every string naming ``${AWS::...}`` wrapped in ``Fn::Sub``."""
    if isinstance(value, dict):
        return {k: substituted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(v) for v in value]
    if isinstance(value, str) and "${AWS::" in value:
        return {"Fn::Sub": value}
    return value


def invoke_uri(function_id: str) -> dict[str, str]:
    """The URI API Gateway invokes a function of the template by."""
    return {
        "Fn::Sub": (
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"${{{function_id}.Arn}}/invocations"
        )
    }


def invoke_permission(
    function_id: str, principal: str, source_arn: str, *, account: bool = False
) -> dict[str, Any]:
    """An ``AWS::Lambda::Permission`` for ``principal`` from ``source_arn`` (a ``Fn::Sub``
    string); ``account`` pins the stack's account, for sources whose ARN carries none."""
    properties: dict[str, Any] = {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": function_id},
        "Principal": principal,
        "SourceArn": {"Fn::Sub": source_arn},
    }
    if account:
        properties["SourceAccount"] = {"Ref": "AWS::AccountId"}
    return {"Type": "AWS::Lambda::Permission", "Properties": properties}
