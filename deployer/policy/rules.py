"""What attribute access and calls mean for each abstract value of the policy analyzer.

boto3 builds its clients and resources at run time from JSON models, so these rules read the same
models (via ``analyzer_models``) instead of listing methods by hand; only the hand-written boto3
helpers (``upload_file``, ``batch_writer``) come from ``deployer/policy/data/iam_actions.json``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deployer.policy import iam_actions
from deployer.policy import libraries as libraries
from deployer.policy import service_models as models
from deployer.policy.libraries import ExternalModule, PynamoClass, PynamoTransaction
from deployer.policy.values import (
    BatchWriter,
    Boto3Module,
    BotocoreModule,
    BoundMethod,
    Builtin,
    ClassInfo,
    ClassVal,
    Client,
    Collection,
    Container,
    Factory,
    FunctionVal,
    Instance,
    Method,
    ModuleVal,
    Resource,
    Scope,
    SessionFactory,
    SessionInst,
    Str,
    SubresourceFactory,
    Value,
)

if TYPE_CHECKING:
    from typing import Any

_COLLECTION_CHAIN = frozenset({"all", "filter", "limit", "page_size", "pages"})
_CONTAINER_METHODS = frozenset(
    {
        "get",
        "pop",
        "popitem",
        "setdefault",
        "values",
        "items",
        "keys",
        "copy",
        "append",
        "add",
        "insert",
        "extend",
        "update",
    }
)
_PROPERTIES = frozenset({"property", "cached_property"})
_EMPTY: frozenset[Value] = frozenset()


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


def _passes(parameter: models.RoleParameter, node: ast.Call) -> bool:
    """Whether a call may pass ``parameter``: it is required, given by keyword, or inside a
    value the analyzer cannot read (a variable, ``**kwargs``): unsure, it allows."""
    if parameter.required:
        return True
    for keyword in node.keywords:
        if keyword.arg is None:
            return True
        if keyword.arg != parameter.via:
            continue
        if parameter.via == parameter.name:
            return True
        literal = isinstance(keyword.value, ast.Dict | ast.List | ast.Tuple | ast.Set)
        if not literal:
            return True
        for inner in ast.walk(keyword.value):
            if isinstance(inner, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in inner.keys]
            elif isinstance(inner, ast.Call) and _short_name(inner.func) == "dict":
                keys = [k.arg for k in inner.keywords]
            elif isinstance(inner, ast.List | ast.Tuple | ast.Set):
                # An element held in a variable (a target built elsewhere) may carry the role.
                if any(not _is_dict_literal(e) for e in inner.elts):
                    return True
                continue
            else:
                continue
            if parameter.name in keys or None in keys:  # None: {**other} or dict(**other)
                return True
    return False


def _may_name_s3_object(node: ast.Call) -> bool:
    """Whether a call may pass Rekognition an ``S3Object`` (``Image``, ``Video``...): as a key of
    a literal, or in a value the analyzer cannot read (a variable, ``**kwargs``), where it
    allows rather than misses."""
    for keyword in node.keywords:
        if keyword.arg is None:
            return True
        value = keyword.value
        if isinstance(value, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else None for k in value.keys]
        elif isinstance(value, ast.Call) and _short_name(value.func) == "dict":
            keys = [k.arg for k in value.keywords]
        elif keyword.arg in _REKOGNITION_MEDIA:
            return True
        else:
            continue
        if "S3Object" in keys or None in keys:
            return True
    return False


# Rekognition inputs that hold an image or video (bytes, or an S3Object to read).
_REKOGNITION_MEDIA = frozenset({"Image", "Video", "SourceImage", "TargetImage"})


def _short_name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _is_dict_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Dict) or (
        isinstance(node, ast.Call) and _short_name(node.func) == "dict"
    )


def _strings(values: frozenset[Value]) -> list[str]:
    return sorted(v.value for v in values if isinstance(v, Str))


class Rules:
    """Mixed into the interpreter: ``attribute`` and ``call`` over abstract values."""

    if TYPE_CHECKING:
        # What the interpreter this is mixed into (``analyzer._Interpreter``) provides.
        call_function: Any
        class_attribute: Any
        classes: Any
        container: Any
        containers: Any
        functions: Any
        grow: Any
        instance_attribute: Any
        items_of: Any
        iterate: Any
        module_value: Any
        modules: Any
        record: Any
        warn: Any

    def attribute(self, owner: Value, name: str, node: ast.AST, scope: Scope) -> frozenset[Value]:
        if isinstance(owner, Client):
            return self.client_attribute(owner, name, node, scope)
        if isinstance(owner, Resource):
            return self.resource_attribute(owner, name)
        if isinstance(owner, Boto3Module):
            if name in ("client", "resource"):
                return frozenset({Factory(name)})
            if name == "Session":
                return frozenset({SessionFactory()})
            if name == "DEFAULT_SESSION":
                return frozenset({SessionInst()})
            if name == "session" and owner.name == "boto3":
                return frozenset({Boto3Module("boto3.session")})
        elif isinstance(owner, BotocoreModule):
            if name == "session" and owner.name == "botocore":
                return frozenset({BotocoreModule("botocore.session")})
            if name in ("get_session", "Session") and owner.name == "botocore.session":
                return frozenset({SessionFactory()})
        elif isinstance(owner, SessionInst):
            if name in ("client", "create_client"):
                return frozenset({Factory("client")})
            if name == "resource":
                return frozenset({Factory("resource")})
        elif isinstance(owner, Method) and isinstance(owner.owner, Resource):
            if owner.name == "meta" and name == "client":
                return frozenset({Client(owner.owner.service)})
        elif isinstance(owner, Collection):
            return self.collection_attribute(owner, name)
        elif isinstance(owner, BatchWriter):
            if name in ("put_item", "delete_item"):
                # The writer buffers items and flushes them with BatchWriteItem.
                self.record(owner.service, ("BatchWriteItem",))
                return frozenset({Method(owner, name)})
        elif isinstance(owner, ModuleVal):
            values = set(self.modules[owner.name].scope.vars.get(name, ()))
            return frozenset(values) | self.module_value(f"{owner.name}.{name}")
        elif isinstance(owner, ClassVal):
            found = self.bind_class_attribute(owner.cls, name, owner)
            return found or self.pynamo_attribute(owner, name)
        elif isinstance(owner, Instance):
            found = self.instance_attribute(owner.cls, name) | self.bind_class_attribute(
                owner.cls, name, owner
            )
            return found or self.pynamo_attribute(owner, name)
        elif isinstance(owner, ExternalModule):
            value = libraries.external_attribute(owner, name)
            if value == "import_module":
                return frozenset({Builtin("import_module")})
            return _EMPTY if value is None else frozenset({value})
        elif isinstance(owner, PynamoTransaction):
            return frozenset({Method(owner, name)})
        elif isinstance(owner, Container) and name in _CONTAINER_METHODS:
            return frozenset({Method(owner, name)})
        return _EMPTY

    def calls_aws(self, value: Value) -> bool:
        """Whether a method of ``value`` may be an AWS call (so a computed name is a warning)."""
        if isinstance(value, Client | Resource | PynamoTransaction):
            return True
        return isinstance(value, ClassVal | Instance) and self.pynamo_kind(value.cls) is not None

    def ancestry(self, cls: ast.ClassDef) -> Iterator[ClassInfo]:
        """The ``ClassInfo`` of ``cls`` and of its project bases, breadth-first, each once
        (Python's MRO, approximated); bases outside the project are not followed."""
        todo, seen = [cls], set()
        while todo:
            current = todo.pop(0)
            if current in seen or current not in self.classes:
                continue
            seen.add(current)
            info = self.classes[current]
            yield info
            todo.extend(info.bases)

    def pynamo_kind(self, cls: ast.ClassDef) -> str | None:
        """``"model"`` for a PynamoDB model class, ``"index"`` for an index class, else None."""
        for info in self.ancestry(cls):
            if info.external_bases & libraries.MODEL_BASES:
                return "model"
            if info.external_bases & libraries.INDEX_BASES:
                return "index"
        return None

    def pynamo_attribute(self, owner: ClassVal | Instance, name: str) -> frozenset[Value]:
        """A method PynamoDB gives a model or index (the project's own methods come first)."""
        if name.startswith("_") or self.pynamo_kind(owner.cls) is None:
            return _EMPTY
        return frozenset({Method(owner, name)})

    def bind_class_attribute(self, cls: ast.ClassDef, name: str, owner: Value) -> frozenset[Value]:
        result: set[Value] = set()
        for value in self.class_attribute(cls, name):
            info = self.functions.get(value.node) if isinstance(value, FunctionVal) else None
            if info is None or "staticmethod" in info.decorators:
                result.add(value)
            elif info.decorators & _PROPERTIES:
                if isinstance(owner, Instance):
                    result |= self.call_function(value, [], {}, bound=owner)
            elif "classmethod" in info.decorators:
                result.add(BoundMethod(ClassVal(cls), value))
            elif isinstance(owner, Instance):
                result.add(BoundMethod(owner, value))
            else:
                result.add(value)
        return frozenset(result)

    def client_attribute(
        self, client: Client, name: str, node: ast.AST, scope: Scope
    ) -> frozenset[Value]:
        service = client.service
        operation = models.method_operations(service).get(name)
        helper = iam_actions.client_helper_operations(service, name)
        if operation is not None:
            self.record(service, (operation,))
        elif helper is not None:
            self.record(service, helper)
        elif not iam_actions.is_no_action_method(name):
            return _EMPTY
        return frozenset({Method(client, name)})

    def check_client_methods(
        self, owners: frozenset[Value], name: str, node: ast.AST, scope: Scope
    ) -> None:
        """Warn about a method no client in ``owners`` has (a typo that would fail at run time).

        A helper may receive clients of several services; a method one of them has is fine.
        """
        services = sorted(o.service for o in owners if isinstance(o, Client))
        if not services or name.startswith("_"):
            return
        for service in services:
            if (
                name in models.method_operations(service)
                or iam_actions.client_helper_operations(service, name) is not None
                or iam_actions.is_no_action_method(name)
            ):
                return
        clients = " or ".join(repr(s) for s in services)
        self.warn(scope, node, f"the {clients} client has no method {name!r}")

    def load_operations(self, resource: Resource) -> tuple[str, ...]:
        rtype = models.resource_type(resource.service, resource.type)
        if rtype is not None and rtype.load_operation:
            return (rtype.load_operation,)
        helper = iam_actions.resource_helper_operations(
            resource.service, resource.type or "", "load"
        )
        return helper or ()

    def resource_attribute(self, resource: Resource, name: str) -> frozenset[Value]:
        service = resource.service
        rtype = models.resource_type(service, resource.type)
        if rtype is None:
            return _EMPTY
        if name == "meta":
            return frozenset({Method(resource, name)})
        helper = iam_actions.resource_helper_operations(service, resource.type or "", name)
        if name in rtype.actions or helper is not None:
            self.record(service, rtype.actions.get(name, ()) if helper is None else helper)
            return frozenset({Method(resource, name)})
        if name in rtype.subresources:
            return frozenset({SubresourceFactory(service, rtype.subresources[name])})
        if name in rtype.collections:
            operation, item_type = rtype.collections[name]
            return frozenset({Collection(service, operation, item_type)})
        if name in rtype.waiters:
            self.record(service, (rtype.waiters[name],))
            return frozenset({Method(resource, name)})
        if name in ("load", "reload"):
            self.record(service, self.load_operations(resource))
            return frozenset({Method(resource, name)})
        if name in rtype.references or name in rtype.attributes:
            # Reading data boto3 has not fetched yet makes it call the resource's load.
            if not resource.loaded:
                self.record(service, self.load_operations(resource))
            if name in rtype.references:
                return frozenset({Resource(service, rtype.references[name])})
        return _EMPTY

    def collection_attribute(self, collection: Collection, name: str) -> frozenset[Value]:
        if name in _COLLECTION_CHAIN:
            return frozenset({Method(collection, name)})
        item = models.resource_type(collection.service, collection.item_type)
        if item is not None and name in item.batch_actions:
            # A batch action pages through the collection, then acts on each page.
            self.record(collection.service, (collection.operation, item.batch_actions[name]))
            return frozenset({Method(collection, name)})
        return _EMPTY

    # -- calls ----------------------------------------------------------------------------

    def call(
        self,
        func: Value,
        node: ast.Call,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        scope: Scope,
    ) -> frozenset[Value]:
        if isinstance(func, Factory):
            return self.make_boto3_object(func.kind, node, args, kwargs, scope)
        if isinstance(func, SessionFactory):
            return frozenset({SessionInst()})
        if isinstance(func, SubresourceFactory):
            return frozenset({Resource(func.service, func.type)})
        if isinstance(func, FunctionVal):
            return self.call_function(func, args, kwargs)
        if isinstance(func, BoundMethod):
            return self.call_function(func.function, args, kwargs, bound=func.instance)
        if isinstance(func, ClassVal):
            instance = Instance(func.cls)
            for init in self.class_attribute(func.cls, "__init__"):
                if isinstance(init, FunctionVal):
                    self.call_function(init, args, kwargs, bound=instance)
            return frozenset({instance})
        if isinstance(func, Builtin):
            return self.call_builtin(func.name, node, args, scope)
        if isinstance(func, PynamoClass) and func.name.startswith("Transact"):
            return frozenset({PynamoTransaction(func.name)})
        if isinstance(func, Method):
            return self.call_method(func, node, args, kwargs, scope)
        return _EMPTY

    def make_boto3_object(
        self,
        kind: str,
        node: ast.Call,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        scope: Scope,
    ) -> frozenset[Value]:
        names = _strings(args[0] if args else kwargs.get("service_name", _EMPTY))
        if not names:
            self.warn(scope, node, f"cannot resolve the service name of {_short(node)}")
        result: set[Value] = set()
        for service in names:
            if not models.service_exists(service):
                self.warn(scope, node, f"unknown AWS service {service!r} in {_short(node)}")
            elif kind == "client":
                result.add(Client(service))
            elif models.has_resources(service):
                result.add(Resource(service, None))
            else:
                self.warn(
                    scope, node, f"boto3 has no resource API for {service!r}; use boto3.client"
                )
        return frozenset(result)

    def call_builtin(
        self, name: str, node: ast.Call, args: list[frozenset[Value]], scope: Scope
    ) -> frozenset[Value]:
        if name in ("eval", "exec", "__import__", "import_module"):
            return self.call_dynamic_code(name, node, args, scope)
        if not args:
            return _EMPTY
        if name == "getattr" and len(args) >= 2:
            attr_names = _strings(args[1])
            if not attr_names and any(self.calls_aws(v) for v in args[0]):
                self.warn(scope, node, f"cannot resolve the attribute name of {_short(node)}")
            for attr in attr_names:
                self.check_client_methods(args[0], attr, node, scope)
            return frozenset(
                v
                for owner in args[0]
                for attr in attr_names
                for v in self.attribute(owner, attr, node, scope)
            )
        items = self.iterate(args[0], scope, node)
        return items if name == "next" else self.container(node, items)

    def call_dynamic_code(
        self, name: str, node: ast.Call, args: list[frozenset[Value]], scope: Scope
    ) -> frozenset[Value]:
        """``eval``/``exec`` always warn; an import by name resolves when the name is known."""
        if name in ("eval", "exec"):
            self.warn(scope, node, f"{name}() runs code the analyzer cannot read: {_short(node)}")
            return _EMPTY
        names = _strings(args[0]) if args else []
        if not names:
            self.warn(scope, node, f"cannot resolve the module name of {_short(node)}")
        result: set[Value] = set()
        for dotted in names:
            result |= self.module_value(dotted)
            if name == "__import__":  # without a fromlist it returns the top-level package
                result |= self.module_value(dotted.split(".")[0])
        return frozenset(result)

    def call_pynamo(
        self, owner: Value, name: str, node: ast.Call, scope: Scope
    ) -> frozenset[Value]:
        """Record what a PynamoDB model, index or transaction method sends to DynamoDB."""
        if isinstance(owner, PynamoTransaction):
            operations = libraries.transaction_operations(owner.name, name)
            if operations:
                self.record("dynamodb", operations)
            return _EMPTY
        kind = self.pynamo_kind(owner.cls)
        if kind is None:
            return _EMPTY
        operations = libraries.model_operations(kind, name, node, owner.cls)
        if not operations:
            return _EMPTY
        self.record("dynamodb", operations)
        if kind == "model" and name == "get":
            return frozenset({Instance(owner.cls)})
        if kind == "model" and name in ("query", "scan", "batch_get"):
            return self.container(node, {Instance(owner.cls)})
        if kind == "index" and name in ("query", "scan"):
            # An index yields items of the models that hold it as a class attribute.
            models_ = {
                Instance(cls)
                for cls, info in self.classes.items()
                if any(Instance(owner.cls) in values for values in info.scope.vars.values())
                and self.pynamo_kind(cls) == "model"
            }
            return self.container(node, models_)
        return _EMPTY

    def call_method(
        self,
        method: Method,
        node: ast.Call,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        scope: Scope,
    ) -> frozenset[Value]:
        owner, name = method.owner, method.name
        if isinstance(owner, ClassVal | Instance | PynamoTransaction):
            return self.call_pynamo(owner, name, node, scope)
        if isinstance(owner, Client) and name in ("get_paginator", "get_waiter"):
            self.record_paginator_or_waiter(owner.service, name, node, args, kwargs, scope)
        elif isinstance(owner, Client):
            self.record_implicit_actions(owner.service, name, node, args, kwargs, scope)
        elif isinstance(owner, Resource):
            rtype = models.resource_type(owner.service, owner.type)
            if name == "batch_writer" and owner.service == "dynamodb":
                return frozenset({BatchWriter(owner.service)})
            if rtype is not None and name in rtype.action_results:
                result_type, is_list = rtype.action_results[name]
                made = frozenset({Resource(owner.service, result_type, loaded=True)})
                return self.container(node, made) if is_list else made
        elif isinstance(owner, Collection) and name in _COLLECTION_CHAIN:
            self.record(owner.service, (owner.operation,))
            return _EMPTY if name == "pages" else frozenset({owner})
        elif isinstance(owner, Container):
            elements = self.containers.setdefault(owner.node, set())
            if name in ("append", "add", "insert", "setdefault") and args:
                self.grow(elements, args[-1])
            elif name in ("extend", "update"):
                self.grow(elements, self.items_of(args[0]) if args else ())
                for values in kwargs.values():
                    self.grow(elements, values)
            if name in ("get", "pop", "popitem", "setdefault"):
                return frozenset(elements)
            if name in ("values", "items", "keys", "copy"):
                return frozenset({owner})
        return _EMPTY

    def record_implicit_actions(
        self,
        service: str,
        method: str,
        node: ast.Call,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        scope: Scope,
    ) -> None:
        """Actions a call needs besides its own: the signed operation's for a presigned URL or
        POST, and iam:PassRole where the call hands the service a role."""
        if method == "generate_presigned_url":
            # Signing is local, but the URL is signed with the function's credentials: whoever
            # uses it acts as the role ("Sharing objects with presigned URLs", Amazon S3), so
            # the role needs the signed operation's action.
            names = _strings(args[0] if args else kwargs.get("ClientMethod", _EMPTY))
            if not names:
                self.warn(scope, node, f"cannot resolve the ClientMethod of {_short(node)}")
            for name in names:
                operation = models.method_operations(service).get(name)
                if operation is None:
                    self.warn(scope, node, f"the {service!r} client has no method {name!r}")
                else:
                    self.record(service, (operation,))
            return
        if method == "generate_presigned_post":
            # A presigned POST uploads an object with the signer's rights ("Uploading objects
            # with presigned URLs", Amazon S3): PutObject.
            self.record(service, ("PutObject",))
            return
        operation = models.method_operations(service).get(method)
        if operation is None:
            return
        if service == "rekognition" and _may_name_s3_object(node):
            # Rekognition reads the image or video with the caller's rights: "For Amazon
            # Rekognition to process an S3 object, the user must have permission to access the
            # S3 object" (Amazon Rekognition API Reference, S3Object).
            self.record("s3", ("GetObject",))
        for parameter in models.role_parameters(service, operation):
            if _passes(parameter, node):
                # IAM checks iam:PassRole on the caller when a call hands a service a role
                # ("Granting a user permissions to pass a role to an AWS service"). PassRole
                # has no API operation of its own; it is recorded as one of the iam client.
                self.record("iam", ("PassRole",))
                return

    def record_paginator_or_waiter(
        self,
        service: str,
        method: str,
        node: ast.Call,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        scope: Scope,
    ) -> None:
        kind = "paginator" if method == "get_paginator" else "waiter"
        keyword = "operation_name" if kind == "paginator" else "waiter_name"
        names = _strings(args[0] if args else kwargs.get(keyword, _EMPTY))
        if not names:
            self.warn(scope, node, f"cannot resolve the {kind} name of {_short(node)}")
        for name in names:
            if kind == "paginator":
                operation = models.method_operations(service).get(name)
            else:
                operation = models.waiter_operation(service, name)
            if operation is None:
                self.warn(scope, node, f"the {service!r} client has no {kind} {name!r}")
            else:
                self.record(service, (operation,))
