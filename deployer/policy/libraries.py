"""Third-party libraries in the policy analyzer: PynamoDB is modelled, others are warned about.

PynamoDB builds its calls at run time from a model class (``class Note(Model): class Meta:
table_name = ...``), so the analyzer maps each method of a model, index or transaction to the
DynamoDB operations PynamoDB 6's source sends for it (``pynamodb/models.py``, ``indexes.py``,
``transactions.py``). PynamoDB 6 builds its table metadata from the class, so no method adds a
hidden DescribeTable (older releases described the table before their first call).

Libraries that call AWS through code the analyzer does not read are named in a warning at their
import, so the policy they need is never silently short.
"""

from __future__ import annotations

import ast

import attrs

__all__ = [
    "INDEX_BASES",
    "MODEL_BASES",
    "UNMODELLED",
    "ExternalModule",
    "PynamoClass",
    "PynamoTransaction",
    "external_attribute",
    "external_module",
    "model_operations",
    "transaction_operations",
    "unmodelled_library",
]


@attrs.frozen
class ExternalModule:
    """A third-party module the analyzer knows (``pynamodb.models``, ``importlib``)."""

    name: str


@attrs.frozen
class PynamoClass:
    """A PynamoDB class: ``Model``, an index base, ``TransactWrite`` or ``TransactGet``."""

    name: str


@attrs.frozen
class PynamoTransaction:
    """An instance of ``TransactWrite`` or ``TransactGet``."""

    name: str


# What each known module exposes; a class is re-exported from the modules that define it.
_MODULES: dict[str, dict[str, object]] = {
    "pynamodb": {},
    "pynamodb.models": {"Model": PynamoClass("Model")},
    "pynamodb.indexes": {
        name: PynamoClass(name) for name in ("Index", "GlobalSecondaryIndex", "LocalSecondaryIndex")
    },
    "pynamodb.transactions": {
        "TransactWrite": PynamoClass("TransactWrite"),
        "TransactGet": PynamoClass("TransactGet"),
    },
    # Attributes and connections make no call of their own.
    "pynamodb.attributes": {},
    "pynamodb.connection": {},
    "pynamodb.exceptions": {},
    "importlib": {},
}
MODEL_BASES = frozenset({"Model"})
INDEX_BASES = frozenset({"Index", "GlobalSecondaryIndex", "LocalSecondaryIndex"})

# Model methods -> DynamoDB operations, as PynamoDB 6 sends them. ``count`` and the table
# methods depend on their arguments (``model_operations``).
_MODEL_OPERATIONS: dict[str, tuple[str, ...]] = {
    "get": ("GetItem",),
    "refresh": ("GetItem",),
    "save": ("PutItem",),
    "update": ("UpdateItem",),
    "delete": ("DeleteItem",),
    "batch_get": ("BatchGetItem",),
    "batch_write": ("BatchWriteItem",),  # BatchWrite.save/delete/commit flush with it
    "query": ("Query",),
    "scan": ("Scan",),
    "describe_table": ("DescribeTable",),
    "exists": ("DescribeTable",),
    "update_ttl": ("UpdateTimeToLive",),
}
# An index's query, scan and count go through its model's connection with IndexName set;
# an index's count requires a hash key, so it is always a Query with Select=COUNT.
_INDEX_OPERATIONS: dict[str, tuple[str, ...]] = {
    "query": ("Query",),
    "scan": ("Scan",),
    "count": ("Query",),
}
# "Using IAM with DynamoDB transactions" (Amazon DynamoDB): each item of a transaction is
# authorized as its own action (PutItem, UpdateItem, DeleteItem, GetItem), and a condition check
# as dynamodb:ConditionCheckItem. It is not a botocore operation, but the action is named the same.
_TRANSACTION_OPERATIONS: dict[str, dict[str, str]] = {
    "TransactWrite": {
        "save": "PutItem",
        "update": "UpdateItem",
        "delete": "DeleteItem",
        "condition_check": "ConditionCheckItem",
    },
    "TransactGet": {"get": "GetItem"},
}

# Libraries that call AWS with their own code (or a boto3 the analyzer cannot follow into).
# Keys are module prefixes; the value says what they call.
UNMODELLED: dict[str, str] = {
    "aioboto3": "AWS through aiobotocore",
    "aiobotocore": "AWS through its own client",
    "boto": "AWS through boto 2",
    "dynamorm": "DynamoDB",
    "flywheel": "DynamoDB",
    "dynamo3": "DynamoDB",
    "dynamodb_mapper": "DynamoDB",
    "pydynamodb": "DynamoDB",
    "awswrangler": "S3, Glue, Athena and others",
    "s3fs": "S3",
    "smart_open": "S3",
    "pyathena": "Athena and S3",
    "watchtower": "CloudWatch Logs",
    "pycognito": "Cognito user pools",
    "aws_encryption_sdk": "KMS",
    "aws_lambda_powertools.utilities.parameters": "SSM, Secrets Manager, AppConfig and DynamoDB",
    "aws_lambda_powertools.utilities.idempotency": "DynamoDB",
    "aws_lambda_powertools.utilities.feature_flags": "AppConfig",
}


def external_module(dotted: str) -> ExternalModule | None:
    return ExternalModule(dotted) if dotted in _MODULES else None


def external_attribute(module: ExternalModule, name: str) -> object | None:
    """``pynamodb.models.Model``, ``pynamodb.models`` of ``pynamodb``, ... or None."""
    value = _MODULES[module.name].get(name)
    if value is not None:
        return value
    if module.name == "pynamodb" and f"pynamodb.{name}" in _MODULES:
        return ExternalModule(f"pynamodb.{name}")
    if module.name == "importlib" and name == "import_module":
        return "import_module"  # the caller turns it into the builtin of that name
    return None


def unmodelled_library(dotted: str) -> str | None:
    """The warning for importing ``dotted``, if it is (in) a library listed in UNMODELLED."""
    for prefix, calls in UNMODELLED.items():
        if dotted == prefix or dotted.startswith(prefix + "."):
            return (
                f"{dotted!r} calls {calls} with code the analyzer does not read; "
                "add the actions it needs with iam_policy_file"
            )
    return None


def model_operations(
    kind: str, method: str, node: ast.Call, class_node: ast.ClassDef | None
) -> tuple[str, ...] | None:
    """The operations ``method`` of a PynamoDB model or index sends, or None if it sends none.

    ``kind`` is ``"model"`` or ``"index"``; ``class_node`` is the model's class, where
    ``create_table`` looks for a TTL attribute.
    """
    if kind == "index":
        return _INDEX_OPERATIONS.get(method)
    if method == "count":
        # Without a hash key, count reads the table's ItemCount (DescribeTable); with one it
        # queries with Select=COUNT.
        given = node.args[0] if node.args else _keyword(node, "hash_key")
        if given is None or (isinstance(given, ast.Constant) and given.value is None):
            return ("DescribeTable",)
        return ("Query",)
    if method == "create_table":
        # exists() first, then CreateTable; wait=True polls DescribeTable; a TTL attribute makes
        # it call UpdateTimeToLive afterwards.
        operations = ["DescribeTable", "CreateTable"]
        if class_node is not None and _has_ttl_attribute(class_node):
            operations.append("UpdateTimeToLive")
        return tuple(operations)
    if method == "delete_table":
        wait = _keyword(node, "wait")
        waits = wait is not None and not (isinstance(wait, ast.Constant) and not wait.value)
        return ("DeleteTable", "DescribeTable") if waits else ("DeleteTable",)
    return _MODEL_OPERATIONS.get(method)


def transaction_operations(transaction: str, method: str) -> tuple[str, ...] | None:
    operation = _TRANSACTION_OPERATIONS.get(transaction, {}).get(method)
    return None if operation is None else (operation,)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _has_ttl_attribute(class_node: ast.ClassDef) -> bool:
    for stmt in class_node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "TTLAttribute":
                return True
    return False
