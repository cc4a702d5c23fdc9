"""The policy analyzer's expressions: what each kind of Python expression evaluates to.

Mixed into the interpreter (``analyzer._Interpreter``), which walks the statements; ``Rules``
(its base) says what attributes and calls of each abstract value mean.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from deployer.policy.rules import Rules
from deployer.policy.values import (
    Collection,
    Container,
    FunctionVal,
    Resource,
    Scope,
    Str,
    Value,
)

__all__ = ["EMPTY", "Expressions"]

EMPTY: frozenset[Value] = frozenset()


def _constant_string(node: ast.AST) -> str | None:
    """The value of a string expression made only of literals (``'plug' + 'ins'``, ``f'x'``).

    Only literals are folded, never names: a name may grow in a loop (``s = s + 'a'``), which
    would keep the fixpoint from ending.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_string(node.left), _constant_string(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.FormattedValue) and node.conversion == -1 and not node.format_spec:
        return _constant_string(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = [_constant_string(v) for v in node.values]
        return None if None in parts else "".join(p for p in parts if p is not None)
    return None


class Expressions(Rules):
    """Evaluation of expressions, the containers they build, and calls of project functions."""

    if TYPE_CHECKING:
        # What the interpreter this is mixed into (``analyzer._Interpreter``) provides.
        assign: Any
        bind_defaults: Any
        changed: bool
        function_info: Any
        generic: Any
        lookup: Any

    def eval(self, node: ast.expr, scope: Scope) -> frozenset[Value]:
        if isinstance(node, ast.Constant):
            return frozenset({Str(node.value)}) if isinstance(node.value, str) else EMPTY
        folded = _constant_string(node)
        if folded is not None:
            return frozenset({Str(folded)})
        if isinstance(node, ast.Name):
            return self.lookup(scope, node.id) if isinstance(node.ctx, ast.Load) else EMPTY
        if isinstance(node, ast.Attribute):
            owners = self.eval(node.value, scope)
            self.check_client_methods(owners, node.attr, node, scope)
            return frozenset(
                v for owner in owners for v in self.attribute(owner, node.attr, node, scope)
            )
        if isinstance(node, ast.Call):
            return self.eval_call(node, scope)
        if isinstance(node, ast.Subscript):
            self.eval(node.slice, scope)
            return self.items_of(self.eval(node.value, scope))
        if isinstance(node, ast.IfExp):
            self.eval(node.test, scope)
            return self.eval(node.body, scope) | self.eval(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            return frozenset().union(*(self.eval(v, scope) for v in node.values))
        if isinstance(node, ast.NamedExpr):
            values = self.eval(node.value, scope)
            self.assign(node.target, values, scope)
            return values
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            elements = frozenset().union(*(self.eval(e, scope) for e in node.elts))
            return self.container(node, elements)
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    self.eval(key, scope)
            values = frozenset().union(*(self.eval(v, scope) for v in node.values))
            return self.container(node, values)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for comp in node.generators:
                self.assign(
                    comp.target, self.iterate(self.eval(comp.iter, scope), scope, comp.iter), scope
                )
                for cond in comp.ifs:
                    self.eval(cond, scope)
            if isinstance(node, ast.DictComp):
                self.eval(node.key, scope)
                return self.container(node, self.eval(node.value, scope))
            return self.container(node, self.eval(node.elt, scope))
        if isinstance(node, ast.Lambda):
            info = self.function_info(node, scope, set())
            self.bind_defaults(node.args, info, scope)
            self.grow(info.returns, self.eval(node.body, info.scope))
            return frozenset({FunctionVal(node)})
        if isinstance(node, (ast.Await, ast.Starred)):
            return self.eval(node.value, scope)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            if node.value is not None:
                values = self.eval(node.value, scope)
                if scope.function is not None:
                    self.grow(scope.function.returns, values)
            return EMPTY
        self.generic(node, scope)
        return EMPTY

    def container(self, node: ast.AST, elements: Iterable[Value]) -> frozenset[Value]:
        self.grow(self.containers.setdefault(node, set()), elements)
        return frozenset({Container(node)})

    def items_of(self, values: Iterable[Value]) -> frozenset[Value]:
        items: set[Value] = set()
        for value in values:
            if isinstance(value, Container):
                items |= self.containers.get(value.node, set())
        return frozenset(items)

    def iterate(self, values: frozenset[Value], scope: Scope, node: ast.AST) -> frozenset[Value]:
        """What ``for x in values`` binds; iterating a boto3 collection makes its list call."""
        items = set(self.items_of(values))
        for value in values:
            if isinstance(value, Collection):
                self.record(value.service, (value.operation,))
                items.add(Resource(value.service, value.item_type, loaded=True))
        return frozenset(items)

    def eval_call(self, node: ast.Call, scope: Scope) -> frozenset[Value]:
        funcs = self.eval(node.func, scope)
        args = [self.eval(a, scope) for a in node.args]
        kwargs: dict[str, frozenset[Value]] = {}
        for keyword in node.keywords:
            values = self.eval(keyword.value, scope)
            if keyword.arg is not None:
                kwargs[keyword.arg] = values
        result: set[Value] = set()
        for func in funcs:
            result |= self.call(func, node, args, kwargs, scope)
        return frozenset(result)

    def call_function(
        self,
        func: FunctionVal,
        args: list[frozenset[Value]],
        kwargs: dict[str, frozenset[Value]],
        bound: Value | None = None,
    ) -> frozenset[Value]:
        info = self.functions.get(func.node)
        if info is None:  # defined later in the walk; the next pass sees it
            self.changed = True
            return EMPTY
        params = info.params
        if bound is not None and params:
            self.grow(info.scope.vars.setdefault(params[0], set()), {bound})
            params = params[1:]
        for name, values in zip(params, args, strict=False):
            self.grow(info.scope.vars.setdefault(name, set()), values)
        for name, values in kwargs.items():
            if name in info.params or name in info.kwonly:
                self.grow(info.scope.vars.setdefault(name, set()), values)
        return frozenset(info.returns)

    def class_attribute(self, cls: ast.ClassDef, name: str) -> frozenset[Value]:
        """``name`` on a class or its project bases (Python's MRO, approximated)."""
        for info in self.ancestry(cls):
            if name in info.scope.vars:
                return frozenset(info.scope.vars[name])
        return EMPTY

    def instance_attribute(self, cls: ast.ClassDef, name: str) -> frozenset[Value]:
        values: set[Value] = set()
        for info in self.ancestry(cls):
            values |= info.instance_attrs.get(name, set())
        return frozenset(values)
