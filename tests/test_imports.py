"""The project's shipped code: what packaging, gen-policy and the reloader all take from imports."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from deployer.package.build import build_package
from deployer.package.imports import shipped_code
from deployer.policy.analyzer import analyze_project


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def own_files(root: Path) -> list[str]:
    """The project's names in the zip (without the runtime and bytecode)."""
    result = build_package(root, root / "out", runtime="python3.12")
    with zipfile.ZipFile(result.function_zip.path) as archive:
        names = archive.namelist()
    return sorted(n for n in names if not n.startswith("microframework/"))


def test_a_module_beside_app_py_ships_when_imported_and_only_then(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": "import helpers\n",
            "helpers.py": "",
            "unused.py": "",
            "tests/test_app.py": "import app\n",
            "setup.py": "import setuptools\n",
            "benchmarks/bench.py": "",
        },
    )
    assert own_files(tmp_path) == ["app.py", "helpers.py"]


def test_lib_and_chalicelib_ship_whole_even_when_not_imported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": "",
            "lib/__init__.py": "",
            "chalicelib/__init__.py": "",
            "chalicelib/db.py": "",
            "chalicelib/templates/page.html": "<p>",
        },
    )
    assert own_files(tmp_path) == [
        "app.py",
        "chalicelib/__init__.py",
        "chalicelib/db.py",
        "chalicelib/templates/page.html",
        "lib/__init__.py",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "import shop.models",
        "from shop import models",
        "from shop.models import Item",
        "import importlib\nimportlib.import_module('shop')",
        "def handler():\n    import shop\n",
        "class Handler:\n    def run(self):\n        from shop import models\n",
    ],
    ids=["import-dotted", "from-package", "from-module", "import-module", "in-function", "method"],
)
def test_an_imported_top_level_package_ships_whole(tmp_path: Path, statement: str) -> None:
    write(
        tmp_path,
        {
            "app.py": statement + "\n",
            "shop/__init__.py": "",
            "shop/models.py": "class Item: pass\n",
            "shop/data/prices.json": "{}",
        },
    )
    assert own_files(tmp_path) == [
        "app.py",
        "shop/__init__.py",
        "shop/data/prices.json",
        "shop/models.py",
    ]


def test_imports_are_followed_through_every_shipped_module(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": "from chalicelib import db\n",
            "chalicelib/__init__.py": "",
            "chalicelib/db.py": "from . import query\n\ndef connect():\n    import settings\n",
            "chalicelib/query.py": "from .. import nothing_above_the_top\n",
            "settings.py": "import secrets_store\n",
            "secrets_store/__init__.py": "from .vault import read\n",
            "secrets_store/vault.py": "",
            "lib/jobs.py": "import shared_jobs\n",  # lib/ ships whole, so its imports count
            "shared_jobs.py": "",
        },
    )
    assert shipped_code(tmp_path).roots == (
        "app.py",
        "chalicelib",
        "lib",
        "secrets_store",
        "settings.py",
        "shared_jobs.py",
    )


def test_a_folder_without_init_ships_only_when_a_module_inside_is_imported(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "app.py": "import utils.text\nimport yaml\n",
            "utils/text.py": "",
            "yaml/settings.yaml": "a: 1\n",  # a data folder, not the yaml package
        },
    )
    assert shipped_code(tmp_path).roots == ("app.py", "utils")


def test_relative_imports_resolve_against_the_importing_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": "from shop.api import views\n",
            "shop/__init__.py": "from . import api\n",
            "shop/api/__init__.py": "",
            "shop/api/views.py": "from ..models import Item\nfrom . import forms\n",
        },
    )
    modules = {(s.file, s.module) for s in shipped_code(tmp_path).imports}
    assert ("shop/__init__.py", "shop.api") in modules
    assert ("shop/api/views.py", "shop.models") in modules
    assert ("shop/api/views.py", "shop.api.forms") in modules


def test_the_imports_the_app_reaches_are_only_those_it_can_import(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": "from lib import db\n",
            "lib/__init__.py": "",
            "lib/db.py": "def f():\n    from .pool import get\n",
            "lib/pool.py": "",
            "lib/tests/test_db.py": "import pytest\n",
        },
    )
    assert shipped_code(tmp_path).imported_by("app.py") == {
        "app.py",
        "lib/__init__.py",
        "lib/db.py",
        "lib/pool.py",
    }


def test_guarded_imports_are_marked_optional(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.py": (
                "from typing import TYPE_CHECKING\n"
                "try:\n    import ujson as json\nexcept ImportError:\n    import json\n"
                "if TYPE_CHECKING:\n    import mypy_boto3_s3\n"
                "if __name__ == '__main__':\n    import uvicorn\n"
                "import requests\n"
            )
        },
    )
    optional = {s.module: s.optional for s in shipped_code(tmp_path).imports}
    assert optional == {
        "typing": False,
        "typing.TYPE_CHECKING": False,
        "ujson": True,
        "json": False,
        "mypy_boto3_s3": True,
        "uvicorn": True,
        "requests": False,
    }


@pytest.mark.parametrize(
    ("layout", "service_call"),
    [
        ({"helpers.py": "import boto3\n\ndef put(k):\n    boto3.client('s3').put_object("
          "Bucket='b', Key=k, Body=b'')\n"}, "s3:PutObject"),
        ({"chalicelib/__init__.py": "", "chalicelib/store.py": "import boto3\n\ndef get(k):\n"
          "    return boto3.client('dynamodb').get_item(TableName='t', Key=k)\n"},
         "dynamodb:GetItem"),
    ],
    ids=["helpers-module", "chalicelib"],
)  # fmt: skip
def test_gen_policy_reads_the_shipped_modules(
    tmp_path: Path, layout: dict[str, str], service_call: str
) -> None:
    importer = "import helpers as h\n" if "helpers.py" in layout else "from chalicelib import store"
    write(tmp_path, {"app.py": importer + "\n", **layout})
    service, operation = service_call.split(":")
    pairs = analyze_project(tmp_path).calls
    assert any(s == service and op.lower() == operation.lower() for s, op in pairs), pairs


def test_loading_an_app_never_evicts_the_hosts_own_modules(tmp_path: Path) -> None:
    import json

    from deployer.project.app_loader import load_app

    (tmp_path / "json.py").write_text("SHADOW = True\n")
    (tmp_path / "app.py").write_text(
        "import json\nfrom microframework import App\napp = App('a')\n"
    )
    load_app(tmp_path)
    assert sys.modules["json"] is json


def test_a_long_expression_does_not_stop_the_import_graph(tmp_path: Path) -> None:
    terms = " + ".join(f"'s{i}'" for i in range(2000))
    (tmp_path / "app.py").write_text(f"import helpers\nX = {terms}\n")
    (tmp_path / "helpers.py").write_text("")
    assert "helpers.py" in shipped_code(tmp_path).files
