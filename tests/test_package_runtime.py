"""microframework/websocket.py ships only in the zips of apps that use websockets, and a package
that would miss it is refused by the package check."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from test_package_check import ARCHITECTURE, LOCAL_RUNTIME, OTHER_RUNTIME, linux_only

from deployer.errors import PackagingError
from deployer.package.build import StagedPackage, build_package, collect_function_files
from deployer.package.check import check_imports, check_package
from deployer.package.imports import shipped_code

WEBSOCKET = "microframework/websocket.py"
HEAD = "from microframework import App\n\napp = App('ws')\n\n"


def build(root: Path, files: dict[str, str], app: object = None) -> set[str]:
    """The zip's names, built with both package checks (the import one runs here)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    result = build_package(
        root,
        root / "out",
        runtime=LOCAL_RUNTIME,
        architecture=ARCHITECTURE,
        check=lambda staged: check_package(staged, environment={}),
        app=app,
    )
    with zipfile.ZipFile(result.function_zip.path) as archive:
        return set(archive.namelist())


@pytest.mark.parametrize(
    ("files", "shipped"),
    [
        ({"app.py": HEAD + "@app.route('/')\ndef index():\n    return {}\n"}, False),
        ({"app.py": HEAD + "@app.on_ws_message()\ndef message(event):\n    pass\n"}, True),
        (
            {
                "app.py": HEAD + "from chalicelib.chat import bp\napp.register_blueprint(bp)\n",
                "chalicelib/__init__.py": "",
                "chalicelib/chat.py": "from microframework import Blueprint\n"
                "bp = Blueprint(__name__)\n\n\n@bp.on_ws_connect()\ndef connect(event):\n"
                "    pass\n",
            },
            True,
        ),
        # Chalice's pattern: a REST handler posts to another API's connections.
        (
            {
                "app.py": HEAD + "@app.route('/')\ndef index():\n"
                "    app.websocket_api.configure('example.com', 'api')\n    return {}\n"
            },
            True,
        ),
        (
            {
                "app.py": HEAD + "def send():\n"
                "    from microframework import WebsocketDisconnectedError\n"
                "    return WebsocketDisconnectedError\n"
            },
            True,
        ),
        ({"app.py": "import microframework.websocket\n" + HEAD}, True),
        ({"app.py": "from microframework import *\n" + HEAD}, True),
        # vendor/ ships as it is, outside the app's import graph: its code is read too.
        (
            {
                "app.py": HEAD,
                "vendor/wslib/__init__.py": "def gone():\n"
                "    from microframework import WebsocketDisconnectedError\n"
                "    return WebsocketDisconnectedError\n",
            },
            True,
        ),
        (
            {"app.py": HEAD, "vendor/wsmod.py": "import microframework.websocket as ws\n"},
            True,
        ),
    ],
    ids=[
        "rest-only",
        "handler",
        "blueprint-in-chalicelib",
        "websocket-api",
        "lazy-name",
        "module-import",
        "star-import",
        "vendored-name",
        "vendored-import",
    ],  # fmt: skip
)
def test_websocket_ships_only_with_an_app_that_uses_it(
    tmp_path: Path, files: dict[str, str], shipped: bool
) -> None:
    names = build(tmp_path, files)
    assert (WEBSOCKET in names) is shipped
    assert "microframework/dispatch.py" in names


def test_a_loaded_apps_handlers_ship_it_though_its_code_never_names_it(tmp_path: Path) -> None:
    # getattr with a computed name: reading the code cannot tell; the loaded app can.
    source = (
        HEAD + "def message(event):\n    pass\n\n\ngetattr(app, 'on_ws_' + 'message')()(message)\n"
    )
    (tmp_path / "app.py").write_text(source)
    from deployer.project.app_loader import load_app

    app = load_app(tmp_path)
    assert WEBSOCKET in build(tmp_path, {}, app)
    assert WEBSOCKET not in collect_function_files(tmp_path)


@linux_only
def test_the_import_check_refuses_a_package_that_misses_it(tmp_path: Path) -> None:
    source = (
        HEAD + "def message(event):\n    pass\n\n\ngetattr(app, 'on_ws_' + 'message')()(message)\n"
    )
    with pytest.raises(PackagingError) as caught:
        build(tmp_path, {"app.py": source})
    assert "'microframework.websocket', which fw ships only to apps that use websockets" in str(
        caught.value
    )
    assert "add 'import microframework.websocket' to app.py" in str(caught.value)


def test_the_static_check_refuses_a_package_that_misses_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        HEAD + "def f():\n    from microframework import WebsocketEvent\n"
    )
    code = shipped_code(tmp_path)
    files = collect_function_files(tmp_path)
    assert WEBSOCKET in files
    del files[WEBSOCKET]  # a zip built without it
    staged = StagedPackage(tmp_path, files, {}, OTHER_RUNTIME, ARCHITECTURE)
    with pytest.raises(PackagingError, match=r"^app.py:6: 'from microframework import WebsocketEvent'"
                       r" needs 'microframework.websocket', which fw ships only to apps"):  # fmt: skip
        check_imports(staged, code)


def test_a_missing_websocket_module_fails_with_the_fix() -> None:
    # What a function fw's reading missed meets in Lambda: one line saying how to ship it.
    import subprocess
    import sys

    script = (
        "import sys, microframework\n"
        "sys.modules['microframework.websocket'] = None\n"  # as if the file were not there
        "try:\n    microframework.WebsocketEvent\nexcept ImportError as err:\n    print(err)\n"
        "app = microframework.App('x')\n"
        "try:\n    app.websocket_api\nexcept ImportError as err:\n    print(err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(out) == 2
    for line in out:
        assert line.startswith("microframework.websocket is not in this deployment package")
        assert "add 'import microframework.websocket' to app.py" in line
