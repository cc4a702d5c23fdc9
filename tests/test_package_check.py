"""A package that lacks a module the app imports is refused, in one line, before it is written."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import boto3
import pytest
from _dists import make_wheel, write_requirements
from test_deploy import CallLog

from cli.main import main
from deployer.deploy.run import deploy
from deployer.errors import PackagingError
from deployer.package.build import StagedPackage, build_package
from deployer.package.check import import_app, removed_stdlib_modules, runs_here
from deployer.package.imports import shipped_code

LOCAL_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
# Any other runtime: the package cannot be imported here, so only the static check runs.
OTHER_RUNTIME = "python3.12" if LOCAL_RUNTIME != "python3.12" else "python3.11"
ARCHITECTURE = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
linux_only = pytest.mark.skipif(
    not runs_here(LOCAL_RUNTIME, ARCHITECTURE),
    reason="importing the package needs the Lambda OS (Linux) with the local Python",
)

HEAD = "from microframework import App\n"
TAIL = "\napp = App('checked')\n"


def make_project(root: Path, app: str, files: dict[str, str] | None = None, **config) -> Path:
    settings = {"version": "1.0", "app_name": "checked", "architecture": ARCHITECTURE}
    settings.update(config)
    for name, text in {"app.py": HEAD + app + TAIL, **(files or {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / ".fw").mkdir(exist_ok=True)
    (root / ".fw" / "config.json").write_text(json.dumps(settings))
    return root


def fw(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of the real CLI entry point."""
    try:
        main(["--project-dir", str(project), *args])
    except SystemExit as exit_info:
        return int(exit_info.code or 0), capsys.readouterr().err
    return 0, capsys.readouterr().err


def package_error(project: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line ``fw package`` prints on stderr, after its progress lines; nothing
    may be written to ``out``."""
    code, err = fw(project, "package", str(out), capsys=capsys)
    last = err.rstrip("\n").rpartition("\n")[2]
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err, err
    assert last.startswith("Error: "), err
    assert not out.exists()
    return last.removeprefix("Error: ")


@pytest.mark.parametrize("runtime", [LOCAL_RUNTIME, OTHER_RUNTIME], ids=["import", "static"])
def test_a_module_outside_the_project_is_refused(
    tmp_path: Path, runtime: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # Importable here (a developer's PYTHONPATH), so fw local works; Lambda would not find it.
    name = f"fw_shared_probe_{runtime.replace('.', '_')}"  # one per case: imports are cached
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"{name}.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(elsewhere))
    project = make_project(tmp_path / "p", f"import {name}\n", runtime=runtime)
    assert package_error(project, tmp_path / "out", capsys) == (
        f"app.py:2: 'import {name}' needs module '{name}', which is not in the package: it is "
        f"{str(elsewhere / f'{name}.py')!r}, outside the project: move it beside app.py, or "
        "into vendor/."
    )


@pytest.mark.parametrize("runtime", [LOCAL_RUNTIME, OTHER_RUNTIME], ids=["import", "static"])
def test_an_installed_package_missing_from_requirements_is_refused(
    tmp_path: Path, runtime: str, capsys
) -> None:
    project = make_project(tmp_path / "p", "import yaml\n", runtime=runtime)
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:2: 'import yaml' needs module 'yaml', which is not in the package: add 'PyYAML' "
        "to requirements.txt (or put the package in vendor/)."
    )


@pytest.mark.parametrize("runtime", [LOCAL_RUNTIME, OTHER_RUNTIME], ids=["import", "static"])
@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("from microframework.testing import Client", "microframework.testing"),
        ("from microframework import gateway", "microframework.gateway"),
    ],
    ids=["from-module", "module-as-name"],
)
def test_an_app_importing_fws_local_emulation_is_refused(
    tmp_path: Path, runtime: str, statement: str, module: str, capsys
) -> None:
    # It imports fine here (fw is installed), but the zip does not ship the emulation.
    project = make_project(tmp_path / "p", statement + "\n", runtime=runtime)
    assert package_error(project, tmp_path / "out", capsys) == (
        f"app.py:2: {statement!r} needs {module!r}, fw's local emulation, which is not in the "
        "package since Lambda never runs it: import it only in tests and local tools, not in "
        "the app."
    )


@linux_only
def test_an_emulation_module_loaded_by_a_computed_name_is_refused_by_the_import(
    tmp_path: Path, capsys
) -> None:
    app = "import importlib\n\nimportlib.import_module('microframework.' + 'testing')\n"
    project = make_project(tmp_path / "p", app)
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:4: \"importlib.import_module('microframework.' + 'testing')\" needs "
        "'microframework.testing', fw's local emulation, which is not in the package since "
        "Lambda never runs it: import it only in tests and local tools, not in the app."
    )


def test_tests_beside_the_app_may_import_the_emulation(tmp_path: Path, capsys) -> None:
    files = {"tests/test_app.py": "from microframework.testing import Client\n"}
    project = make_project(tmp_path / "p", "", files)
    assert fw(project, "package", str(tmp_path / "out"), capsys=capsys)[0] == 0


def test_an_import_inside_a_function_is_checked_too(tmp_path: Path, capsys) -> None:
    # Importing the app never runs it; reading does.
    app = "\n\ndef handler(event):\n    from fw_nowhere_probe import thing\n"
    project = make_project(tmp_path / "p", app, runtime=LOCAL_RUNTIME)
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:5: 'from fw_nowhere_probe import thing' needs module 'fw_nowhere_probe', which "
        "is not in the package: add the distribution that provides it to requirements.txt (or "
        "vendor/), or fix the name."
    )


def test_a_missing_project_module_is_named_by_its_file(tmp_path: Path, capsys) -> None:
    files = {"shop/__init__.py": "", "shop/views.py": "def f():\n    from .forms import Form\n"}
    project = make_project(tmp_path / "p", "from shop import views\n", files)
    assert package_error(project, tmp_path / "out", capsys) == (
        "shop/views.py:2: 'from .forms import Form' needs shop/forms.py, which is not in the "
        "project: create it, or fix the import."
    )


def test_guarded_imports_and_unreached_modules_are_not_required(tmp_path: Path, capsys) -> None:
    app = "try:\n    import ujson as json\nexcept ImportError:\n    import json\nimport lib\n"
    files = {"lib/__init__.py": "", "lib/test_it.py": "import pytest\n"}
    project = make_project(tmp_path / "p", app, files)
    assert fw(project, "package", str(tmp_path / "out"), capsys=capsys)[0] == 0


@linux_only
def test_only_the_import_sees_what_reading_cannot(tmp_path: Path, capsys) -> None:
    app = "import importlib\n\nimportlib.import_module('cl' + 'ick')\n"
    project = make_project(tmp_path / "p", app, runtime=OTHER_RUNTIME)
    assert fw(project, "package", str(tmp_path / "out"), capsys=capsys)[0] == 0
    (project / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "checked", "architecture": ARCHITECTURE})
    )
    assert package_error(project, tmp_path / "out2", capsys) == (
        "app.py:4: \"importlib.import_module('cl' + 'ick')\" needs module 'click', which is not "
        "in the package: add 'click' to requirements.txt (or put the package in vendor/)."
    )


@linux_only
def test_a_vendored_package_missing_its_own_dependency_is_refused(tmp_path: Path, capsys) -> None:
    files = {"vendor/vendpkg/__init__.py": "import click\n"}
    project = make_project(tmp_path / "p", "import vendpkg\n", files)
    assert package_error(project, tmp_path / "out", capsys) == (
        "vendpkg/__init__.py:1: 'import click' (imported from app.py:2) needs module 'click', "
        "which is not in the package: add 'click' to requirements.txt (or put the package in "
        "vendor/)."
    )


@linux_only
def test_a_module_the_app_loads_by_a_computed_name_is_refused(tmp_path: Path, capsys) -> None:
    app = "import importlib\n\nNAME = 'plug' + 'ins'\nPLUGINS = importlib.import_module(NAME)\n"
    project = make_project(tmp_path / "p", app, {"plugins.py": ""})
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:5: 'PLUGINS = importlib.import_module(NAME)' needs plugins.py, which is not in "
        "the package: fw ships the modules beside app.py that the app's code names in an "
        "import, so add 'import plugins' to the module that loads it (or move it into lib/)."
    )


@linux_only
def test_a_file_read_at_import_that_is_not_packaged_is_one_line(tmp_path: Path, capsys) -> None:
    app = "import json, pathlib\n\nSETTINGS = json.loads((pathlib.Path(__file__).parent / 'settings.json').read_text())\n"  # noqa: E501
    project = make_project(tmp_path / "p", app, {"settings.json": "{}"})
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:4: importing the app from the package failed: FileNotFoundError: [Errno 2] "
        "No such file or directory: 'settings.json'"
    )


@linux_only
def test_the_import_runs_with_the_stages_environment_and_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADEVELOPER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    seen = tmp_path / "seen.json"
    # Only the check's import runs with LAMBDA_TASK_ROOT set; it reports what it saw.
    app = (
        "import json, os\n\nTABLE = os.environ['TABLE']\n"
        "if os.environ.get('LAMBDA_TASK_ROOT'):\n"
        "    with open(os.environ['SEEN'], 'w') as out:\n"
        "        json.dump(dict(os.environ), out)\n"
    )
    variables = {"TABLE": "items", "SEEN": str(seen)}
    project = make_project(tmp_path / "p", app, environment_variables=variables)
    assert fw(project, "package", str(tmp_path / "out"), capsys=capsys)[0] == 0
    environment = json.loads(seen.read_text())
    assert environment["TABLE"] == "items"
    assert "AWS_ACCESS_KEY_ID" not in environment and "AWS_SECRET_ACCESS_KEY" not in environment
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"]


@linux_only
def test_a_thread_the_app_starts_at_import_does_not_hold_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr("deployer.package.check._IMPORT_TIMEOUT", 10)
    app = (
        "import os, threading, time\n"
        "if os.environ.get('LAMBDA_TASK_ROOT'):\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n"
    )
    project = make_project(tmp_path / "p", app)
    code, err = fw(project, "package", str(tmp_path / "out"), capsys=capsys)
    assert code == 0, err


@pytest.mark.parametrize("runtime", [LOCAL_RUNTIME, OTHER_RUNTIME], ids=["import", "static"])
def test_a_dependency_in_the_automatic_layer_is_found(
    tmp_path: Path, runtime: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    name = f"layerpkg_{runtime.replace('.', '_')}"
    installed = tmp_path / "site"  # as the developer's environment has it, for fw's own import
    (installed / name).mkdir(parents=True)
    (installed / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(installed))
    project = make_project(
        tmp_path / "p", f"import {name}\n", runtime=runtime, automatic_layer=True
    )
    make_wheel(project / "wheels", name)
    write_requirements(project, name)
    code, err = fw(project, "package", str(tmp_path / "out"), capsys=capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "layer-deployment.zip").is_file()


def staged(project: Path) -> StagedPackage:
    seen: list[StagedPackage] = []
    build_package(project, project / "out", runtime=LOCAL_RUNTIME, check=seen.append)
    return seen[0]


@linux_only
@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("import boto3, botocore, s3transfer, jmespath, dateutil, urllib3\n", None),
        ("import click\n", "click"),
        ("import pytest\n", "pytest"),
        ("import attrs\n", "attrs"),
        ("import deployer\n", "deployer"),
    ],
    ids=["sdk", "click", "pytest", "attrs", "fw-itself"],
)
def test_the_import_sees_only_the_package_the_stdlib_and_boto3(
    tmp_path: Path, source: str, missing: str | None
) -> None:
    # All of these are importable in fw's own environment; Lambda has only boto3's.
    project = make_project(tmp_path / "p", source)
    package = staged(project)
    code = shipped_code(project)
    if missing is None:
        import_app(package, code, environment={})
    else:
        with pytest.raises(PackagingError, match=rf"app.py:2: 'import {missing}' needs module"):
            import_app(package, code, environment={})


def test_deploy_refuses_before_any_aws_write(aws: str, tmp_path: Path, capsys) -> None:
    project = make_project(tmp_path / "p", "import yaml\n")
    log = CallLog()
    with pytest.raises(PackagingError) as error:
        deploy(project, on_call=log)
    assert str(error.value).startswith("app.py:2: 'import yaml' needs module 'yaml'")
    assert log.writes == []
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    code, err = fw(project, "deploy", capsys=capsys)
    assert code == 1 and err == f"Packaging checked (dev)\nError: {error.value}\n"


@linux_only
def test_an_aws_call_at_import_time_does_not_fail_the_check(aws: str, tmp_path: Path) -> None:
    # The check has no credentials; the deployed function has its role's.
    app = "import boto3\n\nACCOUNT = boto3.client('sts').get_caller_identity()['Account']\n"
    project = make_project(tmp_path / "p", app)
    assert deploy(project).app_name == "checked"


@pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning")
def test_a_module_the_stages_runtime_no_longer_has_is_refused(tmp_path: Path, capsys) -> None:
    # "What's New In Python 3.13": cgi left the standard library; the local Python may have it.
    project = make_project(tmp_path / "p", "import cgi\n", runtime="python3.13")
    assert package_error(project, tmp_path / "out", capsys) == (
        "app.py:2: 'import cgi' needs module 'cgi', which the standard library of python3.13 (the"
        " stage's runtime) no longer has: use its replacement, or add a distribution that"
        " provides it to requirements.txt."
    )


def test_removed_modules_follow_the_runtime() -> None:
    assert "distutils" in removed_stdlib_modules("python3.12")
    assert "cgi" not in removed_stdlib_modules("python3.12")
    assert {"cgi", "distutils"} <= removed_stdlib_modules("python3.14")
    assert removed_stdlib_modules("python3.11") == frozenset()
