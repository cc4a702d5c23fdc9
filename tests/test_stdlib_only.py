"""The runtime ships in every Lambda zip: stdlib only, and cheap to import on a cold start."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "microframework"
MODULES = sorted(PACKAGE.glob("*.py"))

# What a cold start must not pay for just to import the app.
EXPENSIVE = ("logging", "json", "inspect", "typing", "dataclasses", "re")


def absolute_imports(source: str) -> list[tuple[int, str]]:
    """Top-level module names of every absolute import (relative imports are the package's own)."""
    return _imports_under(ast.parse(source))


def test_the_package_has_modules() -> None:
    assert {p.name for p in MODULES} >= {"__init__.py", "app.py", "request.py", "response.py"}


# The AWS SDK the Lambda Python runtime ships ("Building Lambda functions with Python": the
# runtime includes the AWS SDK for Python (Boto3)). Only a function may import it, on first
# use (app.websocket_api's management client), never a module at import time.
LAMBDA_PROVIDED = frozenset({"boto3", "botocore"})


def function_level_imports(source: str) -> set[tuple[int, str]]:
    """The absolute imports made inside a function body."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.update(_imports_under(node))
    return found


def _imports_under(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.lineno, (node.module or "").split(".")[0]))
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_imports_only_the_standard_library(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lazy = function_level_imports(source)
    outside = [
        f"line {line}: {name}"
        for line, name in absolute_imports(source)
        if name not in sys.stdlib_module_names
        and not ((line, name) in lazy and name in LAMBDA_PROVIDED)
    ]
    assert outside == []


def test_the_sdk_is_allowed_only_inside_a_function() -> None:
    source = "import boto3\n\ndef client():\n    import botocore.config\n    import attrs\n"
    assert function_level_imports(source) == {(4, "botocore"), (5, "attrs")}


def test_ast_scan_finds_a_third_party_import() -> None:
    source = "import os\nfrom . import app\nimport attrs\nfrom boto3.session import Session\n"
    names = [name for _, name in absolute_imports(source)]
    assert [n for n in names if n not in sys.stdlib_module_names] == ["attrs", "boto3"]


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    # -S: no site (an editable install's finder would import re first); -E: no PYTHON* variables.
    return subprocess.run(
        [sys.executable, "-S", "-E", "-X", "importtime", "-c", code],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=True,
    )


IMPORT_AND_REPORT = """
import sys
before = set(sys.modules)
import microframework
print(microframework.__file__)
print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_import_loads_only_stdlib_and_no_expensive_module() -> None:
    result = run_isolated(IMPORT_AND_REPORT)
    path, loaded = result.stdout.splitlines()
    assert Path(path).parent == PACKAGE
    new = loaded.split()
    assert "microframework.app" in new
    outside = [m for m in new if m.split(".")[0] not in sys.stdlib_module_names]
    assert [m for m in outside if not m.startswith("microframework")] == []
    assert [m for m in new if m in EXPENSIVE] == []


def test_importtime_shows_no_expensive_module() -> None:
    result = run_isolated("import microframework")
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[-1].strip() for line in lines[1:]]  # [0] is the header
    assert "microframework" in imported
    assert [m for m in imported if m.split(".")[0] in EXPENSIVE] == []
    top_level = {m.split(".")[0] for m in imported}
    assert top_level - set(sys.stdlib_module_names) == {"microframework"}


def test_lazy_names_resolve_without_third_party_modules() -> None:
    code = (
        "import sys, microframework\n"
        "for name in microframework.__all__: getattr(microframework, name)\n"
        "assert microframework.Chalice is microframework.App\n"
        "names = [m for m in sys.modules if m.split('.')[0] not in sys.stdlib_module_names]\n"
        "print(' '.join(sorted(set(names) - {'__main__'})))"
    )
    loaded = run_isolated(code).stdout.split()
    assert loaded and all(m == "microframework" or m.startswith("microframework.") for m in loaded)
