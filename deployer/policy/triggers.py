"""What AWS checks a function's role for beyond the calls its code makes: the pollers of its
trigger (SQS, Kinesis, DynamoDB streams), the network interfaces of a function in a VPC, and the
key of an encrypted source.

Lambda reads a queue or stream with the function's own role, and creates a VPC function's network
interfaces with it, so these actions belong on the role even though the app never calls them.
``fw deploy`` (``desired``), ``fw package`` (``sam``) and ``fw gen-policy`` all call
:func:`function_statements`, so the three show the same statements; they differ only in the
:class:`ArnScope` the ARNs are written in. A websocket handler's ``@connections`` grant names
its API's id, which only deploy and package know: they add :func:`manage_connections` with it
(``deploy/kinds/role_policy.py``), and ``fw gen-policy`` (:func:`role_statements`) with "*".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "CLOUDFORMATION_SCOPE",
    "POLLED",
    "Polled",
    "arn_or",
    "WILDCARD_SCOPE",
    "ArnScope",
    "extend_document",
    "function_statements",
    "grants",
    "manage_connections",
    "role_statements",
    "source_arn",
    "topic_arn",
]


@attrs.frozen
class ArnScope:
    """The partition, region and account that ARNs built from a name are written in."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


# fw gen-policy runs without credentials, so it cannot know the account or region: "*" there
# matches exactly the ARN fw deploy writes (tests/test_trigger_policy.py checks it), and the
# document stays valid IAM that can be saved as an iam_policy_file.
WILDCARD_SCOPE = ArnScope("*", "*", "*")
# The SAM template: CloudFormation substitutes the stack's own partition, region and account
# (sam.py wraps such strings in Fn::Sub), as fw deploy resolves names in its own.
CLOUDFORMATION_SCOPE = ArnScope("${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}")

# "Lambda: SQS execution role permissions" (the actions of AWSLambdaSQSQueueExecutionRole): the
# poller receives, deletes and reads the attributes of the queue's messages with the role.
_SQS_POLLER = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
# "AWSLambdaKinesisExecutionRole - AWS Managed Policy" lists the actions; their resource types
# come from "Actions, resources, and condition keys for Amazon Kinesis Data Streams":
# these five take the stream, SubscribeToShard takes a consumer of it (enhanced fan-out), and
# ListStreams takes no resource, so only "*".
_KINESIS_ON_STREAM = (
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
)
_KINESIS_ON_CONSUMER = ("kinesis:SubscribeToShard",)
_KINESIS_ON_ANY = ("kinesis:ListStreams",)
# "AWSLambdaDynamoDBExecutionRole - AWS Managed Policy" lists the actions; "Actions, resources,
# and condition keys for Amazon DynamoDB" gives DescribeStream, GetRecords and GetShardIterator
# the stream resource type, and ListStreams none ("*").
_DYNAMODB_ON_STREAM = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)
_DYNAMODB_ON_ANY = ("dynamodb:ListStreams",)
# "AWSLambdaVPCAccessExecutionRole - AWS Managed Policy" lists the actions (all on "*").
# "Giving Lambda functions access to resources in an Amazon VPC": DescribeNetworkInterfaces only
# works on "*" (DescribeSubnets takes no resource type either: "Actions, resources, and condition
# keys for Amazon EC2"), and DeleteNetworkInterface needs the interfaces' IDs or all of them. The
# other actions take the network interface, subnet and security group resource types, so they
# are scoped to the function's own subnets and security groups, whatever account owns them (a
# VPC shared through RAM keeps its owner's account in the subnet's ARN), and to interfaces in
# the function's own account, where Lambda creates them.
_VPC_ON_ANY = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
_VPC_ON_RESOURCES = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
# "Configuring an Amazon SQS queue to trigger an AWS Lambda function" (Permissions for encrypted
# queues): Lambda needs kms:Decrypt on the key of an encrypted queue; the same holds for a
# stream encrypted with a customer managed key.
_KMS_DECRYPT = ("kms:Decrypt",)


# "Control access to WebSocket APIs with IAM authorization": ManageConnections controls the
# @connections API, whose ARNs are <api-id>/<stage>/<METHOD>/@connections; "Use @connections
# commands in your backend service": POST sends to a connection, GET reads its status, DELETE
# disconnects it (the app's websocket_api.send, info and close), each on @connections/<id>.
_MANAGE_CONNECTIONS = ("execute-api:ManageConnections",)
_CONNECTION_METHODS = ("POST", "GET", "DELETE")


def _allow(actions: Iterable[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resource}


def manage_connections(scope: ArnScope, api_id: str = "*", stage: str = "*") -> dict[str, Any]:
    """The statement that lets a websocket handler post to, read and close the connections of
    API ``api_id``'s ``stage``. fw deploy and fw package name their API (a second inline policy
    put once the API exists, and the template's ``${WebsocketAPI}``); fw gen-policy cannot know
    the id, so it writes "*"."""
    return _allow(
        _MANAGE_CONNECTIONS,
        [
            scope.arn("execute-api", f"{api_id}/{stage}/{method}/@connections/*")
            for method in _CONNECTION_METHODS
        ],
    )


@attrs.frozen
class Polled:
    """An event source Lambda polls with the function's role: where it reads, and what the
    role must allow there."""

    arn: Callable[[Any, ArnScope], str]  # (source record, scope) -> the queue or stream ARN
    statements: Callable[[str], list[dict[str, Any]]]  # ARN -> the poller's statements


def _sqs_arn(source: Any, scope: ArnScope) -> str:
    # on_sqs_message requires queue or queue_arn.
    return str(source.queue_arn or arn_or(source.queue, scope, "sqs", source.queue))


def _kinesis_statements(arn: str) -> list[dict[str, Any]]:
    return [
        _allow(_KINESIS_ON_STREAM, arn),
        _allow(_KINESIS_ON_CONSUMER, f"{arn}/consumer/*"),
        _allow(_KINESIS_ON_ANY, "*"),
    ]


# Event source kind (``microframework.sources``) -> how Lambda polls it. A pushed source (S3,
# SNS, EventBridge) invokes the function through its invoke permission and needs nothing here.
POLLED: dict[str, Polled] = {
    "sqs": Polled(_sqs_arn, lambda arn: [_allow(_SQS_POLLER, arn)]),
    "kinesis": Polled(
        lambda source, scope: arn_or(source.stream, scope, "kinesis", f"stream/{source.stream}"),
        _kinesis_statements,
    ),
    "dynamodb": Polled(
        lambda source, scope: str(source.stream_arn),
        lambda arn: [_allow(_DYNAMODB_ON_STREAM, arn), _allow(_DYNAMODB_ON_ANY, "*")],
    ),
}


def source_arn(source: Any, scope: ArnScope) -> str | None:
    """The ARN of the queue or stream a handler reads, or None for pushed events.

    Names become ARNs in ``scope``, as AWS resolves them in the function's own account and region.
    """
    polled = POLLED.get(getattr(source, "kind", None) or "")
    return polled.arn(source, scope) if polled is not None else None


def topic_arn(topic: str, scope: ArnScope) -> str:
    """The ARN of the SNS topic a handler subscribes to (a name, or already an ARN)."""
    return arn_or(topic, scope, "sns", topic)


def arn_or(name_or_arn: str, scope: ArnScope, service: str, resource: str) -> str:
    """``name_or_arn`` if it is an ARN, else the ARN of ``resource`` in ``scope``."""
    return name_or_arn if name_or_arn.startswith("arn:") else scope.arn(service, resource)


def function_statements(source: Any, fconfig: Any, scope: ArnScope) -> list[dict[str, Any]]:
    """The statements AWS checks the role of one function for: its trigger's poller, its VPC
    interfaces, its source's key. ``source`` is its event source record (or None)."""
    statements: list[dict[str, Any]] = []
    polled = POLLED.get(getattr(source, "kind", None) or "")
    arn = polled.arn(source, scope) if polled is not None else None
    if polled is not None and arn:
        statements += polled.statements(arn)
    key = getattr(fconfig, "source_kms_key_arn", None)
    if key and arn:
        statements.append(_allow(_KMS_DECRYPT, key))
    if fconfig.subnet_ids:
        statements.append(_allow(_VPC_ON_ANY, "*"))
        any_owner = attrs.evolve(scope, account="*")
        resources = [scope.arn("ec2", "network-interface/*")]
        resources += [any_owner.arn("ec2", f"subnet/{s}") for s in fconfig.subnet_ids]
        resources += [
            any_owner.arn("ec2", f"security-group/{g}") for g in fconfig.security_group_ids
        ]
        statements.append(_allow(_VPC_ON_RESOURCES, resources))
    return statements


def role_statements(
    app: Any, config: Any, scope: ArnScope, *, policy_key: tuple[bool, str | None] | None = None
) -> list[dict[str, Any]]:
    """The statements of every function whose managed role has ``policy_key``'s settings
    (default: the stage's), in the app's function order: what fw gen-policy adds (a websocket
    handler's grant on any API's @connections: the id is unknown before a deploy)."""
    from deployer.deploy.graph import app_graph

    default = config.function(None)
    key = policy_key or (default.autogen_policy, default.iam_policy_file)
    statements: list[dict[str, Any]] = []
    for function in app_graph(app).functions:
        fconfig = config.function(function.name)
        if not fconfig.manage_iam_role or not fconfig.autogen_policy:
            continue
        if (fconfig.autogen_policy, fconfig.iam_policy_file) != key:
            continue
        statements += function_statements(function.source, fconfig, scope)
        if getattr(function.source, "kind", None) == "websocket":
            statements.append(manage_connections(scope))
    return statements


def extend_document(document: Mapping[str, Any], statements: Iterable[Any]) -> dict[str, Any]:
    """``document`` with ``statements`` added after its own.

    A statement allowing the same actions as one already added (many queues polled the same way)
    joins its resources to that one's, so the document grows by an ARN per trigger, not by a
    statement: an inline role policy holds at most 10,240 characters ("IAM and AWS STS quotas").
    """
    merged = list(document.get("Statement", []))
    added: dict[tuple[str, ...], int] = {}
    for statement in statements:
        if statement in merged:
            continue
        key = _merge_key(statement)
        if key is None or key not in added:
            if key is not None:
                added[key] = len(merged)
            merged.append(statement)
            continue
        into = merged[added[key]]
        resources = _strings(into, "Resource")
        resources += [r for r in _strings(statement, "Resource") if r not in resources]
        merged[added[key]] = {
            **into,
            "Resource": resources[0] if len(resources) == 1 else resources,
        }
    return {**document, "Statement": merged}


def _merge_key(statement: Any) -> tuple[str, ...] | None:
    """Statements that differ only in Resource merge; "*" never does (it already covers all)."""
    if not isinstance(statement, Mapping) or set(statement) != {"Effect", "Action", "Resource"}:
        return None
    if "*" in _strings(statement, "Resource"):
        return None
    return (str(statement["Effect"]), *_strings(statement, "Action"))


def grants(document: Mapping[str, Any] | None, action: str, resource: str | None = None) -> bool:
    """Whether ``document`` allows ``action`` (on ``resource`` when given, else on anything).

    Actions match case-insensitively, resources case-sensitively, both with IAM's ``*`` and
    ``?`` wildcards ("IAM JSON policy elements: Resource").
    """
    from fnmatch import fnmatchcase

    if not document:
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if not any(fnmatchcase(action.lower(), p.lower()) for p in _strings(statement, "Action")):
            continue
        # fnmatch's [...] classes are not IAM syntax: escape them so "[" only matches itself.
        patterns = [p.replace("[", "[[]") for p in _strings(statement, "Resource")]
        if resource is None or any(fnmatchcase(resource, p) for p in patterns):
            return True
    return False


def _strings(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key, [])
    return [value] if isinstance(value, str) else [str(v) for v in value]
