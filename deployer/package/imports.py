"""The project's own code that ships, found by reading its imports (nothing is imported).

Lambda imports ``app.py`` from the zip's root, so every project module the app reaches must be in
the zip, or the function dies with ``Runtime.ImportModuleError``. The definition, used alike by
packaging, ``fw gen-policy``'s analyzer and ``fw local``'s reloader:

- ``app.py``, and the ``lib/`` and ``chalicelib/`` directories whole (data files included);
- every top-level module (``helpers.py``) or package directory (whole) beside ``app.py`` that a
  shipped module imports, transitively: ``import a.b``, ``from a import b``, relative imports,
  imports inside functions, and ``importlib.import_module("literal")``.

Anything else beside ``app.py`` (tests, setup scripts, benchmarks) stays out.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import attrs

from deployer.package.build import tree_files

__all__ = [
    "ALWAYS_SHIPPED",
    "ImportSite",
    "ShippedCode",
    "import_sites",
    "local_root",
    "module_files",
    "shipped_code",
]

# Shipped whole whether or not the app imports them: lib/ is fw's own layout, chalicelib/ is
# Chalice's, which a Chalice project keeps when it moves to fw.
ALWAYS_SHIPPED = ("lib", "chalicelib")
# vendor/'s contents go to the zip root, so "vendor" itself is never an importable package.
_NOT_MODULES = frozenset({"vendor", "__pycache__"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_IMPORT_CALLS = frozenset({"import_module", "__import__"})
_TRY_NODES = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
# Parsed imports by file, keyed by (mtime, size): the reloader recomputes the shipped code on
# every poll, and re-parsing unchanged files each time would cost more than the stat calls.
_parsed: dict[tuple[str, str], tuple[tuple[int, int], tuple[ImportSite, ...]]] = {}


@attrs.frozen
class ImportSite:
    """One module that a statement of a shipped file asks for."""

    file: str  # the importing file, relative to the project ("app.py", "lib/db.py")
    line: int
    module: str  # absolute dotted name
    statement: str  # as written (normalised), for messages
    # Guarded by ``try: ... except ImportError`` or ``if TYPE_CHECKING:``/version checks: the
    # app runs without it.
    optional: bool = False
    # ``b`` of ``from a import b``: a submodule, or just a name that ``a`` defines.
    maybe_attribute: bool = False


@attrs.frozen
class ShippedCode:
    """The project's own code in the package."""

    roots: tuple[str, ...]  # entries beside app.py: "app.py", "lib", "helpers.py", ...
    files: dict[str, Path]  # zip name -> file, data files of shipped packages included
    imports: tuple[ImportSite, ...]  # every import of every shipped module

    @property
    def modules(self) -> dict[str, Path]:
        """The shipped Python sources, app first."""
        return {name: path for name, path in self.files.items() if name.endswith(".py")}

    def imported_by(self, first: str) -> set[str]:
        """The shipped modules that importing ``first`` can import, at any depth, itself included.

        lib/ ships whole, but a module nothing imports never runs: its imports (a test's
        ``import pytest``) need not be in the package.
        """
        by_file: dict[str, list[ImportSite]] = {}
        for site in self.imports:
            by_file.setdefault(site.file, []).append(site)
        seen: set[str] = set()
        todo = [first]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.files:
                continue
            seen.add(name)
            for site in by_file.get(name, ()):
                parts = site.module.split(".")
                # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
                for depth in range(1, len(parts) + 1):
                    todo.extend(module_files(".".join(parts[:depth])))
        return seen


def shipped_code(project_dir: Path, app_filename: str = "app.py") -> ShippedCode:
    """What of the project goes into the package, following imports from ``app_filename``."""
    project_dir = Path(project_dir)
    roots = [app_filename] + [name for name in ALWAYS_SHIPPED if (project_dir / name).is_dir()]
    files: dict[str, Path] = {}
    sites: list[ImportSite] = []
    resolved: dict[str, str | None] = {}
    index = 0
    while index < len(roots):
        root = roots[index]
        index += 1
        path = project_dir / root
        found = {root: path} if path.is_file() else tree_files(path, f"{root}/")
        files.update(found)
        for name in sorted(found):
            if not name.endswith(".py"):
                continue
            for site in import_sites(found[name], name):
                sites.append(site)
                if site.module not in resolved:
                    resolved[site.module] = local_root(project_dir, site.module)
                other = resolved[site.module]
                if other is not None and other not in roots:
                    roots.append(other)
    # app first, then in name order: the order analyzers and watchers see them in.
    ordered = {app_filename: files[app_filename]} if app_filename in files else {}
    ordered.update(sorted(files.items()))
    return ShippedCode(roots=tuple(sorted(roots)), files=ordered, imports=tuple(sites))


def local_root(project_dir: Path, module: str) -> str | None:
    """The entry beside app.py that provides ``module`` ("helpers.py", "pkg"), if any.

    Mirrors the import system: a package directory wins over a module file, which wins over a
    directory without ``__init__.py``; such a namespace directory only counts when the import
    reaches a module inside it, as an unrelated folder of the same name would lose to a real
    package anywhere on ``sys.path``.
    """
    top, *rest = module.split(".")
    if not top.isidentifier() or top in _NOT_MODULES or top in sys.builtin_module_names:
        return None
    folder = project_dir / top
    if (folder / "__init__.py").is_file():
        return top
    if (project_dir / f"{top}.py").is_file():
        return f"{top}.py"
    if rest and folder.is_dir() and not (folder / "pyvenv.cfg").exists():
        inner = folder.joinpath(*rest)
        if inner.with_suffix(".py").is_file() or (inner / "__init__.py").is_file():
            return top
    return None


def module_files(module: str) -> tuple[str, ...]:
    """Zip names of which any one makes ``module`` importable from the zip root."""
    base = module.replace(".", "/")
    return (f"{base}.py", f"{base}/__init__.py")


def import_sites(path: Path, name: str) -> tuple[ImportSite, ...]:
    """The imports of one file (``name`` is its path in the zip); cached while it is unchanged."""
    try:
        stat = os.stat(path)
    except OSError:
        return ()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _parsed.get((str(path), name))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        tree = ast.parse(importlib.util.decode_source(path.read_bytes()), filename=name)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        # Importing it reports the error, with its line. Meanwhile a file being edited keeps
        # what it imported, so its modules stay shipped (and watched) until it parses again.
        sites: tuple[ImportSite, ...] = cached[1] if cached is not None else ()
    else:
        sites = tuple(_Visitor(name).sites(tree))
    _parsed[(str(path), name)] = (stamp, sites)
    return sites


class _Visitor:
    def __init__(self, name: str) -> None:
        self.name = name
        parts = name[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        else:
            parts = parts[:-1]
        self.package = parts  # what ``from . import x`` is relative to

    def sites(self, tree: ast.AST) -> Iterator[ImportSite]:
        # An explicit stack, not recursion: valid Python nests deeper than Python recurses (a
        # 2,000-term string concatenation). Children are pushed reversed to keep source order.
        stack: list[tuple[ast.AST, bool]] = [(tree, False)]
        while stack:
            node, optional = stack.pop()
            yield from self._sites_of(node, optional)
            stack.extend(reversed(self._children(node, optional)))

    def _children(self, node: ast.AST, optional: bool) -> list[tuple[ast.AST, bool]]:
        if isinstance(node, _TRY_NODES):
            block = cast(ast.Try, node)  # ast.TryStar (3.11+) has the same fields
            guarded = optional or any(_catches_import_error(h.type) for h in block.handlers)
            rest = (*block.handlers, *block.orelse, *block.finalbody)
            return [(s, guarded) for s in block.body] + [(c, optional) for c in rest]
        if isinstance(node, ast.If) and _is_environment_test(node.test):
            return [(s, True) for s in (*node.body, *node.orelse)]
        return [(child, optional) for child in ast.iter_child_nodes(node)]

    def _sites_of(self, node: ast.AST, optional: bool) -> Iterator[ImportSite]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield self._site(node, alias.name, optional)
        elif isinstance(node, ast.ImportFrom):
            yield from self._from_sites(node, optional)
        elif isinstance(node, ast.Call) and _called_name(node.func) in _IMPORT_CALLS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if first.value and not first.value.startswith("."):
                    yield self._site(node, first.value, optional)

    def _from_sites(self, node: ast.ImportFrom, optional: bool) -> Iterator[ImportSite]:
        if node.level:
            keep = len(self.package) - (node.level - 1)
            if keep <= 0:
                return  # beyond the top level: Python raises, and so does the local import
            base = ".".join([*self.package[:keep], *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        if not base:
            return
        yield self._site(node, base, optional)
        for alias in node.names:
            if alias.name != "*":
                yield attrs.evolve(
                    self._site(node, f"{base}.{alias.name}", optional), maybe_attribute=True
                )

    def _site(self, node: ast.AST, module: str, optional: bool) -> ImportSite:
        return ImportSite(
            file=self.name,
            line=getattr(node, "lineno", 0),
            module=module,
            statement=ast.unparse(node),
            optional=optional,
        )


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _catches_import_error(handler_type: ast.expr | None) -> bool:
    if handler_type is None:
        return True
    if isinstance(handler_type, ast.Tuple):
        return any(_catches_import_error(item) for item in handler_type.elts)
    return _called_name(handler_type) in _IMPORT_ERRORS


def _is_environment_test(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:``, ``if sys.version_info >= ...``, ``if __name__ == "__main__":``..."""
    for node in ast.walk(test):
        name = _called_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if name in {"TYPE_CHECKING", "version_info", "platform", "__name__"}:
            return True
    return False
