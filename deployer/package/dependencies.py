"""Install ``requirements.txt`` for the Lambda target (not the host) and cache the result.

pip runs with ``--platform``/``--python-version``/``--only-binary=:all:``, so it only takes wheels
that load on Lambda's Amazon Linux: manylinux wheels for the stage's architecture, or pure-Python
ones. A requirement with no such wheel gets a second chance: ``pip wheel --no-deps`` builds its
sdist on the host, and the result is kept only if it is pure Python. The installed tree is cached
under ``<project>/.fw/cache/deps/<key>/``, keyed by everything that can change what pip installs
that fw knows about, so editing ``app.py`` never re-runs pip.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from deployer.errors import PackagingError

__all__ = [
    "ARCHITECTURES",
    "CACHE_DIR",
    "REQUIREMENTS_FILE",
    "cache_key",
    "has_requirements",
    "install_dependencies",
    "lambda_platforms",
    "python_version",
]

REQUIREMENTS_FILE = "requirements.txt"
CACHE_DIR = Path(".fw") / "cache" / "deps"
ARCHITECTURES = ("x86_64", "arm64")

# Bump when the layout of a cached tree changes, so old caches are not reused.
_CACHE_FORMAT = "1"
# Lambda's arm64 is what manylinux calls aarch64.
_MANYLINUX_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}
# glibc of the Lambda base images: python3.12+ run on Amazon Linux 2023 (glibc 2.34), older
# runtimes on Amazon Linux 2 (glibc 2.26). A manylinux_2_N wheel loads only if N <= that.
_GLIBC_AL2023 = 34
_GLIBC_AL2 = 26
_RUNTIME_RE = re.compile(r"python3\.(\d+)")
# Requirement-file lines that only say where to look; they are repeated in the one-package
# requirements file of the sdist pass, and alone they do not make a requirements file non-empty.
_INDEX_OPTIONS = (
    "-f", "--find-links", "-i", "--index-url", "--extra-index-url", "--no-index",
    "--trusted-host", "--pre", "--prefer-binary",
)  # fmt: skip
_NO_MATCH_RE = re.compile(r"No matching distribution found for (.+?)\s*$", re.MULTILINE)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PURE_TAGS = ("py3-none-any", "py2.py3-none-any")
# Each round of the install/build loop fixes one requirement that had no wheel; a real
# requirements file never needs this many.
_MAX_ROUNDS = 50
# Trees kept in the cache: enough for a few stages with different runtimes or architectures.
_KEEP_TREES = 4
_KEY_RE = re.compile(r"[0-9a-f]{32}")


def python_version(runtime: str) -> str:
    """``'python3.12'`` -> ``'3.12'``; anything else is a PackagingError."""
    match = _RUNTIME_RE.fullmatch(runtime)
    if not match:
        raise PackagingError(
            f"Unsupported Lambda runtime {runtime!r}: use a Python 3 runtime such as 'python3.12'."
        )
    return f"3.{match.group(1)}"


def lambda_platforms(runtime: str, architecture: str) -> list[str]:
    """pip ``--platform`` tags whose wheels load on Lambda, most specific (newest glibc) first."""
    if architecture not in _MANYLINUX_ARCH:
        raise PackagingError(
            f"Unsupported Lambda architecture {architecture!r}: use 'x86_64' or 'arm64'."
        )
    arch = _MANYLINUX_ARCH[architecture]
    minor = int(python_version(runtime).split(".")[1])
    glibc_max = _GLIBC_AL2023 if minor >= 12 else _GLIBC_AL2
    # aarch64 wheels start at manylinux2014 (glibc 2.17); x86_64 go back to manylinux1 (2.5).
    glibc_min = 17 if arch == "aarch64" else 5
    tags = [f"manylinux_2_{n}_{arch}" for n in range(glibc_max, glibc_min - 1, -1)]
    legacy = ["manylinux2014"] + (["manylinux2010", "manylinux1"] if arch == "x86_64" else [])
    return tags + [f"{name}_{arch}" for name in legacy]


def has_requirements(text: str) -> bool:
    """True if the requirements text names anything to install (not only comments/options)."""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and not line.startswith(_INDEX_OPTIONS):
            return True
    return False


def cache_key(requirements_text: str, runtime: str, architecture: str) -> str:
    """Hash of what decides the installed tree: requirements, runtime, architecture, pip version."""
    digest = hashlib.sha256()
    for part in (_CACHE_FORMAT, _pip_version(), runtime, architecture, requirements_text):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def install_dependencies(
    project_dir: Path,
    *,
    runtime: str,
    architecture: str,
    report: Callable[[str], None] | None = None,
) -> Path | None:
    """Return the directory holding the project's requirements built for Lambda, or None.

    None means there is nothing to install (no requirements file, or one with no requirements),
    and pip is not run at all. A cached tree is returned as is; otherwise pip builds one, which
    takes seconds to minutes, so it is announced to ``report``.
    """
    platforms = lambda_platforms(runtime, architecture)
    requirements = project_dir / REQUIREMENTS_FILE
    if not requirements.is_file():
        return None
    text = requirements.read_text(encoding="utf-8")
    if not has_requirements(text):
        return None
    cache_root = project_dir / CACHE_DIR
    target = cache_root / cache_key(text, runtime, architecture)
    if target.is_dir():
        # The mtime records last use, for _prune; it is never compared with anything else.
        os.utime(target)
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    if report is not None:
        report(f"Installing {REQUIREMENTS_FILE} for {runtime} ({architecture}) with pip")
    # Build next to the final place and rename, so an interrupted or failed build never leaves
    # a half-installed tree that a later run would trust.
    with tempfile.TemporaryDirectory(prefix=f"{target.name}.", dir=cache_root) as tmp:
        work = Path(tmp)
        tree = work / "tree"
        _install(project_dir, requirements, tree, work, runtime, architecture, platforms)
        _tidy(tree)
        try:
            tree.rename(target)
        except OSError:
            # Another fw process finished the same build first; its tree is as good as ours.
            if not target.is_dir():
                raise
    _prune(cache_root, keep=target)
    return target


def _prune(cache_root: Path, keep: Path) -> None:
    """Delete all but the most recently used trees (several stages may use different ones).

    A tree's sibling ``<key>.zip`` (its compressed form, written by packaging) goes with it.
    """
    trees = [p for p in cache_root.iterdir() if p.is_dir() and _KEY_RE.fullmatch(p.name)]
    trees.sort(key=lambda p: (p != keep, -p.stat().st_mtime_ns, p.name))
    for stale in trees[_KEEP_TREES:]:
        shutil.rmtree(stale, ignore_errors=True)
        stale.with_name(stale.name + ".zip").unlink(missing_ok=True)


def _install(
    project_dir: Path,
    requirements: Path,
    tree: Path,
    work: Path,
    runtime: str,
    architecture: str,
    platforms: list[str],
) -> None:
    wheelhouse = work / "wheelhouse"
    wheelhouse.mkdir()
    target_args = [f"--platform={p}" for p in platforms]
    target_args += [
        f"--python-version={python_version(runtime)}",
        "--implementation=cp",
        "--only-binary=:all:",
    ]
    built: set[str] = set()
    for _ in range(_MAX_ROUNDS):
        if tree.exists():
            shutil.rmtree(tree)
        result = _pip(
            project_dir,
            "install", "--target", str(tree), "--no-compile", "--no-warn-script-location",
            *target_args, "--find-links", str(wheelhouse), "-r", str(requirements),
        )  # fmt: skip
        if result.returncode == 0:
            return
        missing = _NO_MATCH_RE.search(result.stderr)
        if not missing:
            raise PackagingError(
                f"pip could not install {REQUIREMENTS_FILE} for {runtime}/{architecture}: "
                f"{_last_error(result)}; fix the requirement, then run the command again."
            )
        requirement = missing.group(1)
        name = _project_name(requirement)
        if name in built:
            # The wheel built from source was pure Python, yet pip still refused it for the
            # target (typically its Requires-Python excludes the runtime).
            raise _no_wheel(
                name, runtime, architecture, "the one built from its sdist is refused too"
            )
        _build_pure_wheel(project_dir, requirements, requirement, wheelhouse, work, runtime,
                          architecture)  # fmt: skip
        built.add(name)
    raise PackagingError(
        f"Gave up on {REQUIREMENTS_FILE} after building {len(built)} sdists: {sorted(built)!r}."
    )


def _build_pure_wheel(
    project_dir: Path,
    requirements: Path,
    requirement: str,
    wheelhouse: Path,
    work: Path,
    runtime: str,
    architecture: str,
) -> None:
    """Build ``requirement`` from source on the host and keep it only if it is pure Python."""
    name = _project_name(requirement)
    out = Path(tempfile.mkdtemp(prefix="wheel-", dir=work))
    # A one-requirement file that keeps the original's index options (find-links, no-index),
    # so the build looks in the same places as the install did.
    single = work / f"{out.name}.txt"
    options = [
        line
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(_INDEX_OPTIONS)
    ]
    single.write_text("\n".join([*options, requirement, ""]), encoding="utf-8")
    result = _pip(project_dir, "wheel", "--no-deps", "--wheel-dir", str(out), "-r", str(single))
    wheels = sorted(out.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        reason = f"building one from source failed ({_last_error(result)})"
        raise _no_wheel(name, runtime, architecture, reason)
    for wheel in wheels:
        if not wheel.name.endswith(tuple(f"-{tag}.whl" for tag in _PURE_TAGS)):
            reason = f"the only wheel pip can get is {wheel.name}, for this host"
            raise _no_wheel(name, runtime, architecture, reason)
        shutil.move(str(wheel), wheelhouse / wheel.name)


def _no_wheel(name: str, runtime: str, architecture: str, reason: str) -> PackagingError:
    return PackagingError(
        f"No Lambda-compatible wheel of {name!r} for {runtime}/{architecture} "
        f"(manylinux or pure Python): {reason}. Pin a version that ships one, "
        "or build it on Amazon Linux and put the result in vendor/."
    )


def _pip(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Run from the project directory: pip resolves a relative --find-links in a requirements
    # file against that file's directory first, then against the working directory.
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
    env = {**os.environ, "PIP_NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, check=False
    )


def _last_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    chosen = (errors or lines or [f"pip exited with status {result.returncode}"])[-1]
    return chosen.removeprefix("ERROR:").strip()


def _project_name(requirement: str) -> str:
    match = _NAME_RE.match(requirement.strip())
    name = match.group(0) if match else requirement.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def _tidy(tree: Path) -> None:
    """Drop what is useless on Lambda: host-specific console scripts and bytecode."""
    # Console scripts carry a shebang for this machine's Python; nothing on Lambda runs them.
    scripts = tree / "bin"
    if scripts.is_dir() and not (scripts / "__init__.py").exists():
        shutil.rmtree(scripts)
    for cache in sorted(tree.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)


def _pip_version() -> str:
    try:
        return importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
