from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _dists import make_sdist, make_wheel, write_requirements

from deployer.errors import PackagingError
from deployer.package.dependencies import (
    CACHE_DIR,
    cache_key,
    has_requirements,
    install_dependencies,
    lambda_platforms,
    python_version,
)


def _install(project: Path, runtime: str = "python3.12", architecture: str = "x86_64"):
    return install_dependencies(project, runtime=runtime, architecture=architecture)


def _names(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [("python3.12", "3.12"), ("python3.9", "3.9"), ("python3.13", "3.13")],
    ids=["3.12", "3.9", "3.13"],
)
def test_python_version_from_runtime(runtime: str, expected: str) -> None:
    assert python_version(runtime) == expected


@pytest.mark.parametrize("runtime", ["nodejs20.x", "python2.7", "python3", "3.12"])
def test_unknown_runtime_is_a_packaging_error(runtime: str) -> None:
    with pytest.raises(PackagingError, match=f"'{runtime}'"):
        python_version(runtime)


def test_platforms_follow_the_runtime_glibc_and_architecture() -> None:
    x86 = lambda_platforms("python3.12", "x86_64")
    assert x86[0] == "manylinux_2_34_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(x86)
    assert lambda_platforms("python3.11", "x86_64")[0] == "manylinux_2_26_x86_64"
    arm = lambda_platforms("python3.12", "arm64")
    assert all(tag.endswith("_aarch64") for tag in arm)
    assert "manylinux2014_aarch64" in arm and "manylinux_2_16_aarch64" not in arm


def test_unknown_architecture_names_the_value() -> None:
    with pytest.raises(PackagingError, match="'amd64'.*'x86_64' or 'arm64'"):
        lambda_platforms("python3.12", "amd64")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("\n  \n# just a comment\n", False),
        ("--no-index\n--find-links wheels\n", False),
        ("requests==2.31  # pinned\n", True),
        ("-r other.txt\n", True),
    ],
    ids=["empty", "comments", "options-only", "requirement", "include"],
)
def test_has_requirements(text: str, expected: bool) -> None:
    assert has_requirements(text) is expected


def test_cache_key_depends_on_requirements_runtime_and_architecture() -> None:
    base = cache_key("a==1\n", "python3.12", "x86_64")
    assert base == cache_key("a==1\n", "python3.12", "x86_64")
    others = {
        cache_key("a==2\n", "python3.12", "x86_64"),
        cache_key("a==1\n", "python3.11", "x86_64"),
        cache_key("a==1\n", "python3.12", "arm64"),
    }
    assert base not in others and len(others) == 3


def test_no_requirements_runs_no_pip(tmp_path: Path) -> None:
    assert _install(tmp_path) is None
    (tmp_path / "requirements.txt").write_text("# nothing yet\n")
    assert _install(tmp_path) is None
    assert not (tmp_path / ".fw").exists()


def test_pure_wheel_is_installed_into_the_cache(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "purepkg")
    write_requirements(tmp_path, "purepkg==1.0")
    tree = _install(tmp_path)
    assert tree is not None and tree.parent == tmp_path / CACHE_DIR
    names = _names(tree)
    assert "purepkg/__init__.py" in names
    assert "purepkg-1.0.dist-info/METADATA" in names
    assert not any("__pycache__" in n or n.startswith("bin/") for n in names)


def test_manylinux_wheel_is_chosen_for_its_architecture_only(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "fastpkg", tag="cp312-cp312-manylinux_2_17_aarch64")
    write_requirements(tmp_path, "fastpkg")
    tree = _install(tmp_path, architecture="arm64")
    assert tree is not None and "fastpkg/__init__.py" in _names(tree)
    with pytest.raises(PackagingError, match="'fastpkg' for python3.12/x86_64"):
        _install(tmp_path, architecture="x86_64")


def test_pure_sdist_is_built_into_a_wheel(tmp_path: Path) -> None:
    make_sdist(tmp_path / "wheels", "sdistpkg", "2.0")
    write_requirements(tmp_path, "sdistpkg")
    tree = _install(tmp_path)
    assert tree is not None
    assert {"sdistpkg/__init__.py", "sdistpkg-2.0.dist-info/METADATA"} <= _names(tree)


def test_sdist_needed_by_a_wheel_is_built_too(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "toppkg", requires=("leafpkg>=1",))
    make_sdist(tmp_path / "wheels", "leafpkg")
    write_requirements(tmp_path, "toppkg")
    tree = _install(tmp_path)
    assert tree is not None
    assert {"toppkg/__init__.py", "leafpkg/__init__.py"} <= _names(tree)


def test_platform_only_wheel_fails_with_one_line_naming_the_package(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "nativepkg", tag="cp311-cp311-linux_x86_64")
    write_requirements(tmp_path, "nativepkg")
    with pytest.raises(PackagingError) as info:
        _install(tmp_path)
    message = str(info.value)
    assert "'nativepkg'" in message and "linux_x86_64" in message
    assert "\n" not in message
    assert not any((tmp_path / CACHE_DIR).iterdir())  # no half-built cache left behind


def test_sdist_that_builds_a_platform_wheel_is_rejected(tmp_path: Path) -> None:
    make_sdist(tmp_path / "wheels", "cextpkg", wheel_tag="cp311-cp311-linux_x86_64")
    write_requirements(tmp_path, "cextpkg")
    with pytest.raises(PackagingError, match="'cextpkg'.*cextpkg-1.0-cp311-cp311-linux_x86_64"):
        _install(tmp_path)


def test_wheel_refused_by_requires_python_is_reported(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "newpkg", requires_python=">=3.13")
    write_requirements(tmp_path, "newpkg")
    with pytest.raises(PackagingError, match="python3.12/x86_64: .*'newpkg' requires a different"):
        _install(tmp_path)


def test_missing_package_fails_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    write_requirements(tmp_path, "ghostpkg==1.0")
    with pytest.raises(PackagingError, match="'ghostpkg'"):
        _install(tmp_path)


def test_cached_tree_is_reused_without_pip(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "purepkg")
    write_requirements(tmp_path, "purepkg")
    first = _install(tmp_path)
    # Without its wheel, pip would fail: success proves pip did not run again.
    shutil.rmtree(tmp_path / "wheels")
    assert _install(tmp_path) == first
    assert len(list((tmp_path / CACHE_DIR).iterdir())) == 1


def test_changed_requirements_build_a_new_tree(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels", "purepkg", "1.0")
    make_wheel(tmp_path / "wheels", "purepkg", "2.0")
    write_requirements(tmp_path, "purepkg==1.0")
    first = _install(tmp_path)
    write_requirements(tmp_path, "purepkg==2.0")
    second = _install(tmp_path)
    assert first != second and second is not None
    assert "purepkg-2.0.dist-info/METADATA" in _names(second)


def test_old_trees_are_pruned_and_recent_ones_kept(tmp_path: Path) -> None:
    cache = tmp_path / CACHE_DIR
    for age in range(5):
        old = cache / f"{age:032x}"
        old.mkdir(parents=True)
        old.with_name(old.name + ".zip").write_bytes(b"")
        os.utime(old, (1_000_000 + age, 1_000_000 + age))
    make_wheel(tmp_path / "wheels", "purepkg")
    write_requirements(tmp_path, "purepkg")
    tree = _install(tmp_path)
    assert tree is not None
    kept = [tree.name, f"{4:032x}", f"{3:032x}", f"{2:032x}"]
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [*kept, *(f"{n:032x}.zip" for n in (2, 3, 4))]
    )
