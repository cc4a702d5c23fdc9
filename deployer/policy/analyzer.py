"""Find the AWS API calls an app makes, by reading its source (the app is never imported).

A small abstract interpreter: every name, parameter, return value, attribute and container holds
the set of abstract values (a boto3 client for a service, a resource, a user function, ...) it
may hold anywhere in the program. It walks every module again until nothing grows, so the order
of definitions, helpers in other modules and call chains of any depth do not matter. It is
flow-insensitive and context-insensitive on purpose: an app is small, and merging every call site
of a helper over-approximates what it can receive, which errs toward allowing an action rather
than missing one.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from deployer.errors import PolicyError
from deployer.package.imports import shipped_code
from deployer.policy.expressions import EMPTY, Expressions
from deployer.policy.libraries import PynamoClass, external_module, unmodelled_library
from deployer.policy.values import (
    Boto3Module,
    BotocoreModule,
    Builtin,
    ClassInfo,
    ClassVal,
    Container,
    FunctionInfo,
    FunctionVal,
    Instance,
    ModuleVal,
    Scope,
    Value,
    local_names,
)

__all__ = ["Analysis", "analyze_files", "analyze_project", "project_sources"]

_MAX_PASSES = 50
_RECURSION_LIMIT = 6000
_EXTERNAL_MODULES: dict[str, Value] = {
    "boto3": Boto3Module("boto3"),
    "boto3.session": Boto3Module("boto3.session"),
    "botocore": BotocoreModule("botocore"),
    "botocore.session": BotocoreModule("botocore.session"),
}
_BUILTINS = frozenset(
    {"getattr", "list", "tuple", "set", "sorted", "iter", "next", "reversed"}
    # Code the analyzer cannot read: each call is a warning, or resolved when its text is known.
    | {"eval", "exec", "__import__"}
)
_COLLECTION_CHAIN = frozenset({"all", "filter", "limit", "page_size"})
_CONTAINER_ADD = frozenset({"append", "add", "insert", "setdefault"})
_CONTAINER_GET = frozenset({"get", "pop", "setdefault", "popitem"})


@attrs.frozen
class Analysis:
    """The ``(client service, operation)`` pairs found, and what the analyzer could not follow."""

    calls: frozenset[tuple[str, str]]
    warnings: tuple[str, ...]


def project_sources(project_dir: Path, app_filename: str = "app.py") -> dict[str, str]:
    """The deployed sources: the app file and the project's other shipped modules.

    Those are what ``deployer.package.imports.shipped_code`` says ships: ``lib/``, ``chalicelib/`` and
    the modules beside the app that it imports.
    """
    modules = shipped_code(project_dir, app_filename).modules
    # The app file first, even when missing: reading it reports the error.
    paths = {app_filename: project_dir / app_filename, **modules}
    sources = {}
    for rel, path in paths.items():
        try:
            # decode_source honours a PEP 263 coding cookie and a BOM, as the import would.
            sources[rel] = importlib.util.decode_source(path.read_bytes())
        except OSError as err:
            raise PolicyError(
                f"cannot read {rel!r} in {str(project_dir)!r}: {err}; check the file exists "
                "(use --filename for another app file)"
            ) from None
        except (UnicodeDecodeError, SyntaxError) as err:
            # SyntaxError: a coding cookie naming an unknown encoding.
            raise PolicyError(
                f"cannot read {rel!r} in {str(project_dir)!r}: {err}; save it as UTF-8"
            ) from None
    return sources


def analyze_project(project_dir: Path, *, app_filename: str = "app.py") -> Analysis:
    """Analyze ``app_filename`` and the project's other shipped modules."""
    return analyze_files(project_sources(project_dir, app_filename))


def analyze_files(sources: Mapping[str, str]) -> Analysis:
    """Analyze modules given as ``{"app.py": source, "lib/db.py": source, ...}``."""
    return _Interpreter(sources).run()


def _module_name(rel: str) -> str:
    parts = rel[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@attrs.define
class _Module:
    name: str
    path: str
    tree: ast.Module | None
    scope: Scope
    is_package: bool


class _Interpreter(Expressions):
    """The walk over Python's statements; ``Expressions`` evaluates expressions and ``Rules``
    holds what attributes and calls of each value mean."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.modules: dict[str, _Module] = {}
        self.functions: dict[ast.AST, FunctionInfo] = {}
        self.classes: dict[ast.ClassDef, ClassInfo] = {}
        self.containers: dict[ast.AST, set[Value]] = {}
        self.changed = False
        self.calls: set[tuple[str, str]] = set()
        self.warnings: dict[tuple[str, int, str], None] = {}
        for rel, source in sources.items():
            try:
                tree = ast.parse(source, filename=rel)
            except SyntaxError as err:
                raise PolicyError(f"{rel}:{err.lineno}: syntax error: {err.msg}") from None
            except RecursionError:
                # CPython's own parser gives up here too, so the module could not be imported.
                raise PolicyError(
                    f"{rel}: nested too deeply for Python to parse (a very long expression?);"
                    " split it, as the import would fail the same way"
                ) from None
            name = _module_name(rel)
            module = _Module(
                name, rel, tree, Scope("module", None, set(), set(), set(), None), False
            )
            module.is_package = rel.endswith("__init__.py")
            module.scope.module = module
            self.modules[name] = module
        for name in list(self.modules):
            parts = name.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent not in self.modules:  # a namespace package (no __init__.py)
                    scope = Scope("module", None, set(), set(), set(), None)
                    self.modules[parent] = _Module(parent, parent, None, scope, True)
                    scope.module = self.modules[parent]

    def run(self) -> Analysis:
        limit = sys.getrecursionlimit()
        # Nested expressions recurse once per level; pure-Python frames cost no C stack, so a
        # higher limit lets long ones through, and exec_block catches what is deeper still.
        sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
        try:
            return self._run()
        finally:
            sys.setrecursionlimit(limit)

    def _run(self) -> Analysis:
        for _ in range(_MAX_PASSES):
            self.changed = False
            self.calls = set()
            self.warnings = {}
            for module in self.modules.values():
                if module.tree is not None:
                    self.exec_block(module.tree.body, module.scope)
            if not self.changed:
                break
        warnings = tuple(f"{path}:{line}: {msg}" for path, line, msg in sorted(self.warnings))
        return Analysis(frozenset(self.calls), warnings)

    # -- recording ----------------------------------------------------------------------------

    def grow(self, target: set[Value], values: Iterable[Value]) -> None:
        before = len(target)
        target.update(values)
        if len(target) != before:
            self.changed = True

    def record(self, service: str, operations: Iterable[str]) -> None:
        for op in operations:
            self.calls.add((service, op))

    def warn(self, scope: Scope, node: ast.AST, message: str) -> None:
        self.warnings[(scope.module.path, getattr(node, "lineno", 0), message)] = None

    # -- names ----------------------------------------------------------------------------

    def lookup(self, scope: Scope, name: str) -> frozenset[Value]:
        if name in scope.global_names:
            return frozenset(scope.module.scope.vars.get(name, ()))
        current: Scope | None = scope
        first = True
        while current is not None:
            # Class bodies are not enclosing scopes for the functions defined in them.
            if (first or current.kind != "class") and (
                name in current.names or current.kind == "module"
            ):
                if name in current.vars or current.kind != "module":
                    return frozenset(current.vars.get(name, ()))
                break
            current = current.parent
            first = False
        if name in _BUILTINS:
            return frozenset({Builtin(name)})
        return EMPTY

    def bind(self, scope: Scope, name: str, values: Iterable[Value]) -> None:
        if name in scope.global_names:
            scope = scope.module.scope
        elif name in scope.nonlocal_names:
            parent = scope.parent
            while parent is not None and (parent.kind != "function" or name not in parent.names):
                parent = parent.parent
            scope = parent or scope.module.scope
        self.grow(scope.vars.setdefault(name, set()), values)

    def assign(
        self, target: ast.expr, values: frozenset[Value], scope: Scope, value_node=None
    ) -> None:
        if isinstance(target, ast.Name):
            self.bind(scope, target.id, values)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if isinstance(value_node, (ast.Tuple, ast.List)) and len(value_node.elts) == len(
                target.elts
            ):
                for sub, node in zip(target.elts, value_node.elts, strict=True):
                    self.assign(sub, self.eval(node, scope), scope, node)
                return
            items = self.iterate(values, scope, target)
            for sub in target.elts:
                self.assign(sub.value if isinstance(sub, ast.Starred) else sub, items, scope)
        elif isinstance(target, ast.Attribute):
            for owner in self.eval(target.value, scope):
                self.store_attribute(owner, target.attr, values)
        elif isinstance(target, ast.Subscript):
            self.eval(target.slice, scope)
            for owner in self.eval(target.value, scope):
                if isinstance(owner, Container):
                    self.grow(self.containers.setdefault(owner.node, set()), values)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, values, scope)

    def store_attribute(self, owner: Value, name: str, values: frozenset[Value]) -> None:
        if isinstance(owner, Instance):
            attrs_ = self.classes[owner.cls].instance_attrs
            self.grow(attrs_.setdefault(name, set()), values)
        elif isinstance(owner, ClassVal):
            self.grow(self.classes[owner.cls].scope.vars.setdefault(name, set()), values)
        elif isinstance(owner, ModuleVal):
            self.grow(self.modules[owner.name].scope.vars.setdefault(name, set()), values)

    # -- statements ---------------------------------------------------------------------------

    def exec_block(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            try:
                self.exec_stmt(stmt, scope)
            except RecursionError:
                # Valid Python can nest deeper than the analyser recurses (a 2,000-term string
                # concatenation); what it could not read is said, never a stop.
                self.warn(
                    scope, stmt, "too deeply nested to analyse: calls in it are not in the policy"
                )

    def exec_stmt(self, stmt: ast.stmt, scope: Scope) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.define_function(stmt, scope)
        elif isinstance(stmt, ast.ClassDef):
            self.define_class(stmt, scope)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                values = self.eval(stmt.value, scope)
                if scope.function is not None:
                    self.grow(scope.function.returns, values)
        elif isinstance(stmt, ast.Assign):
            values = self.eval(stmt.value, scope)
            for target in stmt.targets:
                self.assign(target, values, scope, stmt.value)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            if stmt.value is not None:
                self.assign(stmt.target, self.eval(stmt.value, scope), scope, stmt.value)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            items = self.iterate(self.eval(stmt.iter, scope), scope, stmt.iter)
            self.assign(stmt.target, items, scope)
            self.exec_block(stmt.body, scope)
            self.exec_block(stmt.orelse, scope)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                # Clients, batch writers and @contextmanager helpers (whose yields count as
                # returns) all hand back what they wrap, so ``as`` binds the context value.
                values = self.eval(item.context_expr, scope)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, values, scope)
            self.exec_block(stmt.body, scope)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                self.warn_unmodelled(alias.name, stmt, scope)
                if alias.asname:
                    self.bind(scope, alias.asname, self.module_value(alias.name))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(scope, top, self.module_value(top))
        elif isinstance(stmt, ast.ImportFrom):
            self.exec_import_from(stmt, scope)
        else:
            self.generic(stmt, scope)

    def generic(self, node: ast.AST, scope: Scope) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                self.exec_stmt(child, scope)
            elif isinstance(child, ast.expr):
                self.eval(child, scope)
            else:
                self.generic(child, scope)

    def define_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        decorators = set()
        for deco in node.decorator_list:
            self.eval(deco, scope)
            if isinstance(deco, ast.Name):
                decorators.add(deco.id)
            elif isinstance(deco, ast.Attribute):
                decorators.add(deco.attr)
        info = self.function_info(node, scope, decorators)
        self.bind_defaults(node.args, info, scope)
        if scope.kind == "class" and info.params and "staticmethod" not in decorators:
            cls = scope.class_node
            assert cls is not None
            first = ClassVal(cls) if "classmethod" in decorators else Instance(cls)
            self.grow(info.scope.vars.setdefault(info.params[0], set()), {first})
        self.bind(scope, node.name, {FunctionVal(node)})
        self.exec_block(node.body, info.scope)

    def function_info(self, node: ast.AST, scope: Scope, decorators: set[str]) -> FunctionInfo:
        info = self.functions.get(node)
        if info is None:
            args = node.args  # type: ignore[attr-defined]
            params = [a.arg for a in (*args.posonlyargs, *args.args)]
            kwonly = [a.arg for a in args.kwonlyargs]
            parent = scope
            while parent.kind == "class":
                parent = parent.parent  # type: ignore[assignment]
            body = node.body  # type: ignore[attr-defined]
            body = body if isinstance(body, list) else [body]  # a lambda's body is one expression
            names, globals_, nonlocals = local_names(body, [*params, *kwonly])
            fscope = Scope("function", parent, names, globals_, nonlocals, scope.module)
            info = FunctionInfo(node, fscope, params, kwonly, frozenset(decorators))
            fscope.function = info
            self.functions[node] = info
        return info

    def bind_defaults(self, args: ast.arguments, info: FunctionInfo, scope: Scope) -> None:
        positional = [*args.posonlyargs, *args.args]
        for arg, default in zip(
            positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
        ):
            self.grow(info.scope.vars.setdefault(arg.arg, set()), self.eval(default, scope))
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                self.grow(info.scope.vars.setdefault(arg.arg, set()), self.eval(kw_default, scope))

    def define_class(self, node: ast.ClassDef, scope: Scope) -> None:
        base_values = [v for base in node.bases for v in self.eval(base, scope)]
        bases = [v for v in base_values if isinstance(v, ClassVal)]
        for deco in node.decorator_list:
            self.eval(deco, scope)
        for keyword in node.keywords:
            self.eval(keyword.value, scope)
        info = self.classes.get(node)
        if info is None:
            names, globals_, nonlocals = local_names(node.body, [])
            cscope = Scope("class", scope, names, globals_, nonlocals, scope.module)
            cscope.class_node = node
            info = self.classes[node] = ClassInfo(node, cscope)
        for base in bases:
            if base.cls not in info.bases:
                info.bases.append(base.cls)
                self.changed = True
        for value in base_values:
            if isinstance(value, PynamoClass) and value.name not in info.external_bases:
                info.external_bases.add(value.name)
                self.changed = True
        self.bind(scope, node.name, {ClassVal(node)})
        self.exec_block(node.body, info.scope)

    # -- imports ------------------------------------------------------------------------------

    def module_value(self, dotted: str) -> frozenset[Value]:
        if dotted in self.modules:
            return frozenset({ModuleVal(dotted)})
        if dotted in _EXTERNAL_MODULES:
            return frozenset({_EXTERNAL_MODULES[dotted]})
        external = external_module(dotted)
        return EMPTY if external is None else frozenset({external})

    def warn_unmodelled(self, dotted: str, node: ast.AST, scope: Scope) -> None:
        if dotted.split(".")[0] not in self.modules:
            message = unmodelled_library(dotted)
            if message is not None:
                self.warn(scope, node, message)

    def exec_import_from(self, stmt: ast.ImportFrom, scope: Scope) -> None:
        source = stmt.module or ""
        if not stmt.level:
            # ``from pkg import mod`` may import an unmodelled submodule.
            for dotted in [source, *(f"{source}.{a.name}" for a in stmt.names)]:
                if unmodelled_library(dotted) is not None:
                    self.warn_unmodelled(dotted, stmt, scope)
                    break
        if stmt.level:
            module = scope.module
            package = module.name if module.is_package else module.name.rpartition(".")[0]
            parts = package.split(".") if package else []
            parts = parts[: len(parts) - (stmt.level - 1)] if stmt.level > 1 else parts
            source = ".".join([*parts, *([source] if source else [])])
        owners = self.module_value(source)
        for alias in stmt.names:
            if alias.name == "*":
                if source in self.modules:
                    for name, values in self.modules[source].scope.vars.items():
                        if not name.startswith("_"):
                            self.bind(scope, name, values)
                continue
            values = set(self.module_value(f"{source}.{alias.name}"))
            for owner in owners:
                values |= self.attribute(owner, alias.name, stmt, scope)
            self.bind(scope, alias.asname or alias.name, values)
