from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _dists import make_wheel, write_requirements

from deployer.errors import PackagingError
from deployer.package.build import (
    LAYER_ZIP_NAME,
    PackageResult,
    build_package,
    check_limits,
    collect_function_files,
    tree_files,
    write_zip,
)
from deployer.package.dependencies import install_dependencies
from deployer.package.runtime import LOCAL_ONLY_MODULES, ON_DEMAND_MODULES, RUNTIME_MODULES


def _project(root: Path) -> Path:
    """A project with code, a vendored module, and everything that must stay out of the zip."""
    files = {
        "app.py": "from microframework import App\napp = App('demo')\n",
        "lib/__init__.py": "",
        "lib/util.py": "X = 1\n",
        "lib/data/names.json": "[]\n",
        "lib/__pycache__/util.cpython-312.pyc": "junk",
        "lib/.DS_Store": "junk",
        "vendor/vendored_mod.py": "Y = 2\n",
        "vendor/vendpkg/__init__.py": "",
        "vendor/vendpkg/__pycache__/x.pyc": "junk",
        "tests/test_app.py": "def test(): pass\n",
        ".fw/config.json": "{}\n",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".venv/pyvenv.cfg": "home = /usr\n",
        "lib/env/pyvenv.cfg": "home = /usr\n",
        "lib/env/lib/site.py": "",
        "README.md": "# demo\n",
        ".DS_Store": "junk",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _build(project: Path, **kwargs) -> PackageResult:
    kwargs.setdefault("runtime", "python3.12")
    return build_package(project, project / ".fw" / "out", **kwargs)


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_zip_holds_app_lib_vendor_and_runtime_only(tmp_path: Path) -> None:
    result = _build(_project(tmp_path))
    names = _names(result.function_zip.path)
    project_names = [n for n in names if not n.startswith("microframework/")]
    assert project_names == [
        "app.py",
        "lib/__init__.py",
        "lib/data/names.json",
        "lib/util.py",
        "vendored_mod.py",
        "vendpkg/__init__.py",
    ]
    assert names == sorted(names)
    assert result.function_zip.path == tmp_path / ".fw" / "out" / "deployment.zip"


def test_runtime_is_copied_as_sources_only(tmp_path: Path) -> None:
    names = _names(_build(_project(tmp_path)).function_zip.path)
    runtime = [n for n in names if n.startswith("microframework/")]
    assert "microframework/__init__.py" in runtime
    assert "microframework/py.typed" in runtime
    assert all(n.endswith((".py", "/py.typed")) for n in runtime)


def test_every_runtime_module_is_shipped_or_local_only_on_purpose() -> None:
    # A new module must be put in one list: shipped by accident, emulation would bloat every
    # zip; left out by accident, a deployed function would fail to import.
    import microframework

    modules = {p.stem for p in Path(microframework.__file__).parent.glob("*.py")}
    lists = (RUNTIME_MODULES, ON_DEMAND_MODULES, LOCAL_ONLY_MODULES)
    assert sum(len(m) for m in lists) == len(frozenset().union(*lists))
    known = RUNTIME_MODULES | ON_DEMAND_MODULES | LOCAL_ONLY_MODULES
    assert modules == known, (
        f"put {sorted(modules - known)} in RUNTIME_MODULES, ON_DEMAND_MODULES or "
        f"LOCAL_ONLY_MODULES (deployer/package/runtime.py); drop {sorted(known - modules)}"
    )


def test_shipped_modules_import_only_shipped_modules_even_lazily() -> None:
    # Importing every module would miss an import inside a function (app.route_table's routing).
    import ast

    import microframework

    root = Path(microframework.__file__).parent
    wanted: dict[str, set[str]] = {}
    for module in RUNTIME_MODULES | ON_DEMAND_MODULES:
        for node in ast.walk(ast.parse((root / f"{module}.py").read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = (
                    [node.module.removeprefix("microframework.")]
                    if node.module.startswith("microframework.")
                    else []
                )
            elif isinstance(node, ast.Import):
                names = [
                    a.name.removeprefix("microframework.")
                    for a in node.names
                    if a.name.startswith("microframework.")
                ]
            else:
                continue
            wanted.setdefault(module, set()).update(n.partition(".")[0] for n in names)
    # importlib.import_module(f".{module}") in __init__ reads its targets from _LAZY.
    wanted["__init__"].update(microframework._LAZY.values())
    # An on-demand module ships with the apps that reach it; the zip test below imports every
    # runtime module from a package without it, so none imports it at module level.
    shipped = RUNTIME_MODULES | ON_DEMAND_MODULES
    unshipped = {m: sorted(n - shipped) for m, n in wanted.items() if n - shipped}
    assert unshipped == {}


# Imports each shipped module with only the unzipped package on the path, as Lambda's task
# root; the emulation must be absent, not merely unused.
_IMPORT_ALL = """
import importlib, sys
shipped, local = sys.argv[1].split(","), sys.argv[2].split(",")
for name in shipped:
    module = importlib.import_module(name)
    assert module.__file__.startswith(sys.path[0]), module.__file__
for name in local:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:
        assert err.name == name, err
    else:
        raise SystemExit(f"{name} is importable from the package")
print("ok")
"""


def test_the_zip_ships_every_runtime_module_and_no_emulation(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "app.py").write_text("from microframework import App\napp = App('hello')\n")
    zip_path = _build(project).function_zip.path
    assert {n for n in _names(zip_path) if n.endswith(".py")} == {
        "app.py",
        *(f"microframework/{m}.py" for m in RUNTIME_MODULES),
    }
    task = tmp_path / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    shipped = [
        "microframework" if m == "__init__" else f"microframework.{m}" for m in RUNTIME_MODULES
    ]
    local = [f"microframework.{m}" for m in LOCAL_ONLY_MODULES]
    # -I -S: no site-packages, no PYTHONPATH, so the installed fw cannot stand in.
    script = f"import sys; sys.path.insert(0, {str(task)!r})" + _IMPORT_ALL
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", script, ",".join(shipped), ",".join(local)],
        cwd=task,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (out.returncode, out.stdout.strip()) == (0, "ok"), out.stderr


def test_same_inputs_give_byte_identical_zips(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _build(project)
    first_bytes = first.function_zip.path.read_bytes()
    for path in project.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = _build(project)
    assert second.function_zip.path.read_bytes() == first_bytes
    assert second == first


def test_hashes_match_lambdas_code_sha256_form(tmp_path: Path) -> None:
    artifact = _build(_project(tmp_path)).function_zip
    digest = hashlib.sha256(artifact.path.read_bytes()).digest()
    assert artifact.sha256_hex == digest.hex()
    assert artifact.code_sha256 == base64.b64encode(digest).decode()
    assert artifact.size == artifact.path.stat().st_size


def test_entries_have_fixed_timestamps_and_modes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    tool = project / "vendor" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o775)
    (project / "lib" / "util.py").chmod(0o600)
    with zipfile.ZipFile(_build(project).function_zip.path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert {info.date_time for info in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert infos["lib/util.py"].external_attr >> 16 == 0o100644
    assert infos["tool"].external_attr >> 16 == 0o100755
    unzipped = _build(project).function_zip.unzipped_size
    assert sum(info.file_size for info in infos.values()) == unzipped


def test_changing_app_changes_the_hash(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _build(project).function_zip.sha256_hex
    (project / "app.py").write_text("app = None\n")
    assert _build(project).function_zip.sha256_hex != first


def test_missing_app_py_is_a_packaging_error(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="No app.py in"):
        _build(tmp_path)
    assert not (tmp_path / ".fw" / "out").exists()


def test_requirements_are_installed_at_the_zip_root(tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    result = _build(project)
    names = _names(result.function_zip.path)
    assert {"purepkg/__init__.py", "purepkg-1.0.dist-info/METADATA"} <= set(names)
    assert not any(n.startswith("wheels/") or "__pycache__" in n for n in names)
    assert result.layer_zip is None


def test_app_change_rezips_without_running_pip_again(tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    first = _build(project)
    # pip cannot find purepkg any more, so the next build succeeds only from the cache.
    shutil.rmtree(project / "wheels")
    (project / "app.py").write_text("app = 'changed'\n")
    second = _build(project)
    assert second.function_zip.sha256_hex != first.function_zip.sha256_hex
    assert "purepkg/__init__.py" in _names(second.function_zip.path)
    assert len([p for p in (project / ".fw" / "cache" / "deps").iterdir() if p.is_dir()]) == 1


def test_automatic_layer_moves_requirements_to_python_dir(tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    result = _build(project, automatic_layer=True)
    assert result.layer_zip is not None
    assert result.layer_zip.path.name == LAYER_ZIP_NAME
    layer = _names(result.layer_zip.path)
    assert "python/purepkg/__init__.py" in layer
    assert all(n.startswith("python/") for n in layer)
    function = _names(result.function_zip.path)
    assert not any(n.startswith("purepkg") for n in function)
    assert "vendpkg/__init__.py" in function  # vendor/ stays with the function
    again = _build(project, automatic_layer=True)
    assert again.layer_zip == result.layer_zip


def test_no_layer_without_requirements_and_no_stale_layer(tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    layered = _build(project, automatic_layer=True)
    assert layered.layer_zip is not None
    assert _build(project).layer_zip is None
    assert not layered.layer_zip.path.exists()
    (project / "requirements.txt").unlink()
    assert _build(project, automatic_layer=True).layer_zip is None


def test_zip_over_the_direct_upload_limit_needs_s3(tmp_path: Path) -> None:
    project = _project(tmp_path)
    small = _build(project)
    assert small.needs_s3_upload is False
    check_limits(small, can_use_s3=False)
    limit = small.function_zip.size - 1
    big = _build(project, max_zipped=limit)
    assert big.needs_s3_upload is True
    check_limits(big, can_use_s3=True, max_zipped=limit)
    with pytest.raises(PackagingError, match="deployment.zip is .* limit for direct upload: .*S3"):
        check_limits(big, can_use_s3=False, max_zipped=limit)


def test_unzipped_limit_lists_the_largest_packages(tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    (project / "vendor" / "bigpkg").mkdir()
    (project / "vendor" / "bigpkg" / "blob.bin").write_bytes(b"x" * 300_000)
    with pytest.raises(PackagingError) as info:
        _build(project, automatic_layer=True, max_unzipped=200_000)
    message = str(info.value)
    assert "over Lambda's 195.3 KB limit" in message
    assert "largest: bigpkg (293.0 KB), microframework (" in message
    assert message.count("(") == 5 and "\n" not in message
    assert not (project / ".fw" / "out" / "deployment.zip").exists()


def _project_with_dependency(root: Path) -> Path:
    project = _project(root)
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    return project


def test_cached_dependency_entries_match_a_fresh_zip(tmp_path: Path) -> None:
    project = _project_with_dependency(tmp_path)
    built = _build(project).function_zip
    deps = install_dependencies(project, runtime="python3.12", architecture="x86_64")
    assert deps is not None
    files = {**tree_files(deps, project_tree=False), **collect_function_files(project)}
    fresh = write_zip(files, tmp_path / "fresh.zip")
    assert fresh.sha256_hex == built.sha256_hex
    assert fresh.unzipped_size == built.unzipped_size


def test_zips_pass_crc_checks_and_keep_unicode_names(tmp_path: Path) -> None:
    project = _project_with_dependency(tmp_path)
    (project / "lib" / "données.txt").write_text("é\n")
    result = _build(project, automatic_layer=True)
    for artifact in (result.function_zip, result.layer_zip):
        assert artifact is not None
        with zipfile.ZipFile(artifact.path) as archive:
            assert archive.testzip() is None
    with zipfile.ZipFile(result.function_zip.path) as archive:
        assert archive.read("lib/données.txt") == "é\n".encode()


def test_damaged_dependency_cache_zip_is_rebuilt(tmp_path: Path) -> None:
    project = _project_with_dependency(tmp_path)
    first = _build(project).function_zip.sha256_hex
    (cached,) = (project / ".fw" / "cache" / "deps").glob("*.zip")
    cached.write_bytes(b"not a zip")
    assert _build(project).function_zip.sha256_hex == first


# --- bytecode -----------------------------------------------------------------------------------

_HOST_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
_PYC_SCRIPT = """
import sys
from pathlib import Path
{imports}
from deployer.package.build import bytecode_files
from deployer.package.runtime import runtime_files
out = bytecode_files(runtime_files(), Path(sys.argv[1]), sys.argv[2])
print(sorted((name, path.read_bytes().hex()) for name, path in out.items()))
"""


def test_bytecode_is_the_same_whatever_the_building_process_imported(tmp_path: Path) -> None:
    # marshal marks objects that other code also references, so a cold cache used to give
    # different bytes in `fw package` and in `fw deploy`, or on another machine.
    outputs = []
    for index, imports in enumerate(["", "import json, click, boto3, botocore.session"]):
        script = _PYC_SCRIPT.format(imports=imports)
        run = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / f"cache{index}"), _HOST_RUNTIME],
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(run.stdout)
    assert "microframework/__pycache__/app." in outputs[0]
    assert outputs[0] == outputs[1]


def test_zip_does_not_depend_on_what_the_bytecode_cache_saw_before(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "app.py").write_text("import lib\n")
    (project / "lib" / "__init__.py").write_text("")
    _build(project, runtime=_HOST_RUNTIME)
    # Another empty module: the same source as lib/__init__.py, but another file.
    (project / "vendor" / "vendpkg").mkdir(parents=True)
    (project / "vendor" / "vendpkg" / "__init__.py").write_text("")
    warm = _build(project, runtime=_HOST_RUNTIME).function_zip.path.read_bytes()
    shutil.rmtree(project / ".fw" / "cache")
    cold = _build(project, runtime=_HOST_RUNTIME).function_zip.path.read_bytes()
    assert warm == cold


def test_shipped_bytecode_is_what_python_imports(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "app.py").write_text("import lib.util\n")
    (project / "lib" / "__init__.py").write_text("")
    (project / "lib" / "util.py").write_text("VALUE = {'a', 'b'}\n")
    artifact = _build(project, runtime=_HOST_RUNTIME).function_zip
    task = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as archive:
        assert f"lib/__pycache__/util.{sys.implementation.cache_tag}.pyc" in archive.namelist()
        archive.extractall(task)
    # -v reports where each module's code object came from; -B so Python writes no pyc itself.
    run = subprocess.run(
        [sys.executable, "-v", "-B", "-c", "import app, lib.util; print(sorted(lib.util.VALUE))"],
        cwd=task,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == "['a', 'b']\n"
    assert f"code object from '{task}/lib/__pycache__/util." in run.stderr


_BUILD_EIGHT_TIMES = """
import sys
from pathlib import Path
from deployer.package.build import build_package
for _ in range(8):
    build_package(Path(sys.argv[1]), Path(sys.argv[2]), runtime="python3.12")
"""


def test_two_processes_building_into_one_directory_do_not_collide(tmp_path: Path) -> None:
    project = _project(tmp_path / "demo")
    for index in range(300):  # enough to zip that the two runs' writes overlap
        (project / "lib" / f"mod{index}.py").write_text(f"VALUE = {index!r} * 100\n" * 50)
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD_EIGHT_TIMES, str(project), str(out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        assert archive.testzip() is None
        assert "lib/mod299.py" in archive.namelist()
    assert sorted(p.name for p in out.iterdir()) == ["deployment.zip"]  # no temp file left
