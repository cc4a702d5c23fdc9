"""The abstract values and scopes of the policy analyzer (see ``deployer/policy/analyzer.py``).

Values are hashable so that every name can hold a set of them. Values tied to source (functions,
classes, containers) are keyed by their AST node, so a container built in a loop is one value.
"""

from __future__ import annotations

import ast
from typing import Any

import attrs


@attrs.frozen
class Str:
    """A string constant: service, paginator and waiter names resolve through these."""

    value: str


@attrs.frozen
class Boto3Module:
    """``boto3`` or ``boto3.session``."""

    name: str


@attrs.frozen
class BotocoreModule:
    """``botocore`` or ``botocore.session``."""

    name: str


@attrs.frozen
class SessionFactory:
    """``boto3.session.Session``, ``boto3.Session`` or ``botocore.session.get_session``."""


@attrs.frozen
class SessionInst:
    """A boto3 or botocore session object."""


@attrs.frozen
class Factory:
    """``boto3.client`` / ``boto3.resource`` / ``session.client`` / ``session.create_client``."""

    kind: str  # "client" or "resource"


@attrs.frozen
class Client:
    service: str


@attrs.frozen
class Resource:
    """A boto3 resource; ``type=None`` is the service resource made by ``boto3.resource(svc)``."""

    service: str
    type: str | None
    loaded: bool = False  # items of a collection arrive with their data: reading it calls nothing


@attrs.frozen
class SubresourceFactory:
    """``s3.Bucket`` before it is called with identifiers."""

    service: str
    type: str


@attrs.frozen
class Collection:
    """``bucket.objects`` (and ``.all()``/``.filter()`` of it): lists when iterated."""

    service: str
    operation: str
    item_type: str


@attrs.frozen
class BatchWriter:
    """``table.batch_writer()``: its ``put_item``/``delete_item`` buffer into BatchWriteItem."""

    service: str


@attrs.frozen
class Method:
    """An attribute of a value whose call result depends on the owner (``client.get_paginator``)."""

    owner: Any
    name: str


@attrs.frozen
class Builtin:
    name: str


@attrs.frozen
class ModuleVal:
    """A module of the project (``lib.db``)."""

    name: str


@attrs.frozen
class FunctionVal:
    node: ast.AST


@attrs.frozen
class BoundMethod:
    instance: Any
    function: FunctionVal


@attrs.frozen
class ClassVal:
    cls: ast.ClassDef


@attrs.frozen
class Instance:
    cls: ast.ClassDef


@attrs.frozen
class Container:
    """A list, tuple, set or dict display or comprehension; the interpreter keeps its elements."""

    node: ast.AST


Value = Any  # one of the classes above


@attrs.define(eq=False)
class Scope:
    """A module, function or class body: what each name may hold, flow-insensitively."""

    kind: str  # "module", "function" or "class"
    parent: Scope | None
    names: set[str]  # names assigned in this scope (Python's rule for what is local)
    global_names: set[str]
    nonlocal_names: set[str]
    module: Any  # the analyzer's _Module
    vars: dict[str, set[Value]] = attrs.field(factory=dict)
    function: FunctionInfo | None = None
    class_node: ast.ClassDef | None = None


@attrs.define(eq=False)
class FunctionInfo:
    node: ast.AST
    scope: Scope
    params: list[str]
    kwonly: list[str]
    decorators: frozenset[str]
    returns: set[Value] = attrs.field(factory=set)


@attrs.define(eq=False)
class ClassInfo:
    node: ast.ClassDef
    scope: Scope
    bases: list[ast.ClassDef] = attrs.field(factory=list)
    instance_attrs: dict[str, set[Value]] = attrs.field(factory=dict)
    external_bases: set[str] = attrs.field(factory=set)  # PynamoDB's Model, index bases...


def local_names(body: list[Any], params: list[str]) -> tuple[set[str], set[str], set[str]]:
    """The names a function or class body binds, and its ``global``/``nonlocal`` declarations.

    Nested functions, classes and lambdas are their own scopes, so only their names count.
    Comprehension variables are counted here, matching how the analyzer binds them.
    """
    names, globals_, nonlocals = set(params), set(), set()
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            todo.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                todo.extend(d for d in (*node.args.defaults, *node.args.kw_defaults) if d)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global):
            globals_.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            nonlocals.update(node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names - globals_ - nonlocals, globals_, nonlocals
