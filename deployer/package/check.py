"""Refuse a package that lacks a module the app imports, before it is written or uploaded.

``build_stage_package`` runs both checks, so ``fw package`` and ``fw deploy`` alike:

- statically, always: every module that the app imports, at any depth (at module level or inside
  a function, absolutely or relatively), is in the package, in the standard library, or one the
  Lambda Python runtime provides (boto3 and its dependencies); fw's local emulation
  (``microframework.testing`` and the like) is never in the package. Importing alone would miss an
  import inside a function, which runs only when the function is called;
- when this machine can run the package (the local Python is the stage's runtime, on Linux and
  the stage's architecture, since compiled dependencies are built for that target): import the
  app in a subprocess that sees only the package's files laid out as Lambda lays them, the
  standard library and boto3. That catches what reading cannot: a dependency's own missing
  dependency, a compiled module that does not load, ``import_module(name)``, a file the app
  reads at import time.

A failure is one line: the importing ``file:line``, the module, and the fix.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from deployer.errors import PackagingError
from deployer.package.build import LAYER_PREFIX, StagedPackage
from deployer.package.dependencies import REQUIREMENTS_FILE
from deployer.package.imports import ImportSite, ShippedCode, local_root, module_files, shipped_code
from deployer.package.runtime import local_only_module, needs_on_demand
from deployer.project.app_loader import PLACEHOLDER_REGION

__all__ = ["check_imports", "check_package", "import_app", "runs_here"]

# "Deploy Python Lambda functions with .zip file archives" (Dependency search path and
# runtime-included libraries): the runtime includes the AWS SDK for Python (Boto3) and its
# dependencies, searched after the function's own files and its layers.
_SDK_DISTRIBUTION = "boto3"
# "Packaging your layer content" (Layer paths for each Lambda runtime): a layer's python/ and
# python/lib/python3.x/site-packages are on the search path.
_LAYER_SITE = "lib/{runtime}/site-packages/"
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_IMPORT_TIMEOUT = 120  # seconds; a heavy scientific stack imports in a few
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# Run by ``python -I -S``: no site-packages, no PYTHON* variables, no script directory on the
# path. The path is then the one Lambda sets: the task root, the layer's two folders, the
# standard library, the runtime's SDK.
_IMPORT_SCRIPT = """\
import sys
task, layer, sdk, result = sys.argv[1:]
sys.path[:0] = [task, layer + "/lib/python%d.%d/site-packages" % sys.version_info[:2], layer]
sys.path.append(sdk)
try:
    import app
except BaseException as err:
    import json, traceback
    frames = [[f.filename, f.lineno] for f in traceback.extract_tb(err.__traceback__)]
    if isinstance(err, SyntaxError) and err.filename:
        frames.append([err.filename, err.lineno or 0])
    outcome = json.dumps({
        "type": type(err).__name__,
        "module": type(err).__module__,
        "message": str(err),
        "missing": err.name if isinstance(err, ModuleNotFoundError) else None,
        "frames": frames,
    })
else:
    outcome = "{}"
with open(result, "w", encoding="utf-8") as out:
    out.write(outcome)
# A non-daemon thread the app started at import would keep a normal exit waiting; the answer
# is written, so leave at once.
import os
os._exit(0)
"""


# Standard-library modules the stage's runtime no longer has though the local Python may:
# "What's New In Python 3.12" (Removed: distutils, imp, asynchat, asyncore, smtpd) and "What's
# New In Python 3.13" (PEP 594's "dead batteries", and lib2to3).
_REMOVED_STDLIB: dict[tuple[int, int], frozenset[str]] = {
    (3, 12): frozenset({"asynchat", "asyncore", "distutils", "imp", "smtpd"}),
    (3, 13): frozenset({
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap",
        "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau",
        "telnetlib", "uu", "xdrlib",
    }),
}  # fmt: skip


def removed_stdlib_modules(runtime: str) -> frozenset[str]:
    """Standard-library modules that ``runtime`` (``pythonX.Y``) no longer ships."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    if match is None:
        return frozenset()
    version = (int(match.group(1)), int(match.group(2)))
    removed = [names for since, names in _REMOVED_STDLIB.items() if version >= since]
    return frozenset().union(*removed)


def check_package(
    staged: StagedPackage,
    *,
    environment: Mapping[str, str],
    region: str | None = None,
    report: Callable[[str], None] | None = None,
) -> None:
    """Raise PackagingError if the package lacks a module the app imports."""
    code = shipped_code(staged.project_dir)
    check_imports(staged, code)
    if runs_here(staged.runtime, staged.architecture):
        if report is not None:
            # A fresh interpreter importing the app and its dependencies: about a second.
            report("Checking that the app imports from the package alone, as in Lambda")
        import_app(staged, code, environment=environment, region=region)


def runs_here(runtime: str, architecture: str) -> bool:
    """Whether this interpreter can import the package as the stage's functions will."""
    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    machine = _MACHINES.get(platform.machine().lower())
    return (
        runtime == local
        and machine == architecture
        and sys.platform == "linux"
        and sys.implementation.name == "cpython"
    )


def check_imports(staged: StagedPackage, code: ShippedCode) -> None:
    """Every module the app imports is in the package, the stdlib or Lambda's runtime."""
    names = _package_names(staged)
    available = {_top_level(name) for name in names}
    available.update(sys.stdlib_module_names, sys.builtin_module_names)
    local = f"python{sys.version_info.major}.{sys.version_info.minor}"
    removed = removed_stdlib_modules(staged.runtime)
    # Modules this Python dropped that the (older) runtime still has count as there.
    available |= removed_stdlib_modules(local) - removed
    available -= removed
    available.update(_top_level(name) for name in _sdk_modules())
    imported = code.imported_by("app.py")
    for site in code.imports:
        if site.optional or site.file not in imported:
            continue
        if local_only_module(site.module) and not _has_module(names, site.module):
            raise PackagingError(_missing(site, staged.project_dir))
        on_demand = needs_on_demand(site.module)
        if on_demand and not _has_module(names, on_demand):
            raise PackagingError(_missing(site, staged.project_dir))
        if local_root(staged.project_dir, site.module) is not None:
            # The project's own module: the file itself must be in the package.
            if site.maybe_attribute or _has_module(names, site.module):
                continue
        elif site.module.partition(".")[0] in available or site.maybe_attribute:
            continue  # a third-party module: its own files are pip's business
        top = site.module.partition(".")[0]
        if top in removed:
            raise PackagingError(
                f"{site.file}:{site.line}: {site.statement!r} needs module {top!r}, which the"
                f" standard library of {staged.runtime} (the stage's runtime) no longer has:"
                " use its replacement, or add a distribution that provides it to"
                f" {REQUIREMENTS_FILE}."
            )
        raise PackagingError(_missing(site, staged.project_dir))


def import_app(
    staged: StagedPackage,
    code: ShippedCode,
    *,
    environment: Mapping[str, str],
    region: str | None = None,
) -> None:
    """Import ``app`` in a subprocess that sees only the package, as Lambda would."""
    with tempfile.TemporaryDirectory(prefix="fw-check-", dir=_scratch_dir()) as tmp:
        root = Path(tmp)
        task, opt, sdk = root / "task", root / "opt", root / "sdk"
        # The project's own files are copied, so a path computed from __file__ stays in the
        # package; the runtime and dependencies are linked, which is much faster.
        _place(task, staged.function, copy=set(code.files))
        _place(opt, staged.layer, copy=set())
        _place(sdk, _sdk_modules(), copy=set())
        (opt / "python").mkdir(parents=True, exist_ok=True)
        result = root / "result.json"
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-S", "-B", "-c", _IMPORT_SCRIPT]
                + [str(task), str(opt / "python"), str(sdk), str(result)],
                cwd=task,
                env=_lambda_environment(environment, region, task, root),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_IMPORT_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise PackagingError(
                f"app.py: importing the app from the package took over {_IMPORT_TIMEOUT} s: "
                "keep network calls and long work out of module level."
            ) from None
        if not result.is_file():
            lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
            raise PackagingError(
                f"app.py: importing the app from the package crashed Python: {lines[-1]}"
            )
        outcome = json.loads(result.read_text("utf-8"))
        if outcome:
            message = _import_failure(outcome, (task, opt), staged.project_dir)
            if message:
                raise PackagingError(message)


def _import_failure(outcome: dict[str, Any], roots: tuple[Path, ...], project: Path) -> str:
    """The line for a failed import; empty when the failure says nothing about the package."""
    if outcome["module"].startswith("botocore"):
        # The app calls AWS while it is imported, which needs the function's credentials; the
        # check has none. Everything imported up to that call was found.
        return ""
    frames: list[tuple[str, int, Path]] = []
    for filename, line in outcome["frames"]:
        path = Path(filename)
        for root in roots:
            if path.is_relative_to(root):
                frames.append((path.relative_to(root).as_posix(), line, path))
    if not frames:
        return (
            f"app.py: importing the app from the package failed: {outcome['type']}: "
            f"{outcome['message']}"
        )
    name, line, path = frames[-1]
    via = ""
    if frames[0][0] != name:
        via = f" (imported from {frames[0][0]}:{frames[0][1]})"
    if outcome["missing"]:
        site = ImportSite(name, line, outcome["missing"], _source_line(path, line))
        return _missing(site, project, via=via)
    # The paths of the check's own copy mean nothing to the user; the package's names do.
    message = outcome["message"]
    for root in roots:
        message = message.replace(f"{root}{os.sep}", "")
    hint = ""
    if outcome["type"] == "ImportError":
        hint = " (on Lambda only the package, the standard library and boto3 are importable)"
    return (
        f"{name}:{line}: importing the app from the package failed{via}: {outcome['type']}: "
        f"{message}{hint}"
    )


def _missing(site: ImportSite, project_dir: Path, *, via: str = "") -> str:
    """One line: where, what, and how to get it into the package."""
    where = f"{site.file}:{site.line}: {site.statement!r}{via} needs"
    module = site.module
    on_demand = needs_on_demand(module)
    if on_demand is not None:
        return (
            f"{where} {on_demand!r}, which fw ships only to apps that use websockets and this"
            " package lacks: fw decides from the app's websocket handlers and from the imports"
            f" and names its code reads, so add 'import {on_demand}' to app.py."
        )
    emulation = local_only_module(module)
    if emulation is not None:
        return (
            f"{where} {emulation!r}, fw's local emulation, which is not in the package since "
            "Lambda never runs it: import it only in tests and local tools, not in the app."
        )
    if local_root(project_dir, module) is not None:
        wanted = next(
            (f for f in module_files(module) if (project_dir / f).is_file()),
            module_files(module)[0],
        )
        if not (project_dir / wanted).is_file():
            return f"{where} {wanted}, which is not in the project: create it, or fix the import."
        top = module.partition(".")[0]
        return (
            f"{where} {wanted}, which is not in the package: fw ships the modules beside app.py "
            f"that the app's code names in an import, so add 'import {top}' to the module that "
            "loads it (or move it into lib/)."
        )
    top = module.partition(".")[0]
    distribution = _distribution_of(top)
    location = _location(top)
    if distribution:
        fix = f"add {distribution!r} to {REQUIREMENTS_FILE} (or put the package in vendor/)."
    elif location is not None:
        fix = (
            f"it is {str(location)!r}, outside the project: move it beside app.py, or into vendor/."
        )
    else:
        fix = f"add the distribution that provides it to {REQUIREMENTS_FILE} (or vendor/), or fix the name."
    return f"{where} module {module!r}, which is not in the package: {fix}"


def _distribution_of(top: str) -> str | None:
    """The installed distribution (as pip names it) that provides the top-level module."""
    if _location(top) is None:
        return None
    names = importlib.metadata.packages_distributions().get(top)
    return names[0] if names else None


def _location(top: str) -> Path | None:
    """Where this Python finds ``top`` (without importing it), if anywhere."""
    if not top.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin) if spec.origin and spec.has_location else None


def _source_line(path: Path, line: int) -> str:
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return "import"
    return lines[line - 1].strip() if 0 < line <= len(lines) else "import"


def _package_names(staged: StagedPackage) -> set[str]:
    """Every file as it is found on ``sys.path``: from the task root or a layer folder."""
    names = set(staged.function)
    site = _LAYER_SITE.format(runtime=staged.runtime)
    for name in staged.layer:
        if name.startswith(LAYER_PREFIX):
            names.add(name.removeprefix(LAYER_PREFIX).removeprefix(site))
    return names


def _has_module(names: set[str], module: str) -> bool:
    if any(name in names for name in module_files(module)):
        return True
    folder = module.replace(".", "/") + "/"  # a namespace package: a folder of modules
    return any(name.startswith(folder) for name in names)


def _top_level(name: str) -> str:
    """The importable top-level name a zip entry provides ("six.py" -> "six")."""
    first, slash, _ = name.partition("/")
    return first if slash else first.partition(".")[0]


@functools.cache
def _sdk_modules() -> dict[str, Path]:
    """boto3 and its dependencies, as installed next to fw: entry name -> file or folder."""
    found: dict[str, Path] = {}
    todo, seen = [_SDK_DISTRIBUTION], set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in dist.requires or []:
            match = _NAME_RE.match(requirement)
            if match and "extra" not in requirement.partition(";")[2]:
                todo.append(match.group())
        for entry in _top_entries(dist.files or []):
            found[entry] = Path(str(dist.locate_file(entry)))
    return found


def _top_entries(files: Iterable[Any]) -> set[str]:
    entries = set()
    for file in files:
        first = file.parts[0]
        if len(file.parts) > 1:
            if first.isidentifier() and first != "__pycache__":
                entries.add(first)
        elif first.endswith((".py", ".so", ".pyd")) and first.partition(".")[0].isidentifier():
            entries.add(first)
    return entries


def _scratch_dir() -> str | None:
    """/dev/shm (memory) where there is one: the copy is made and removed on every build, and
    on a busy disk each of its few hundred unlinks can cost milliseconds."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _place(root: Path, files: Mapping[str, Path], *, copy: set[str]) -> None:
    made: set[Path] = set()
    for name, source in files.items():
        target = root / name
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        if name in copy:
            shutil.copyfile(source, target)
        else:
            os.symlink(source, target)


def _lambda_environment(
    variables: Mapping[str, str], region: str | None, task: Path, root: Path
) -> dict[str, str]:
    """The function's environment, with no way to the developer's AWS credentials."""
    region = (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or PLACEHOLDER_REGION  # Lambda always sets one; before deploy fw may not know it
    )
    # Not AWS_CHALICE_CLI_MODE/FW_CLI_MODE (deployer.project.app_loader.cli_mode): this import stands for
    # Lambda's, where neither is set, so an app that picks local resources under the CLI is
    # checked on the branch it takes when deployed. The environment is built whole, so the
    # command's own CLI-mode variables do not leak in.
    # "Using Lambda environment variables" (Defined runtime environment variables): LANG, TZ and
    # PATH may be overridden by the function's configuration; the AWS_* and LAMBDA_* ones not.
    return {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": os.defpath,
        **variables,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(task),
        # The app is only imported: an AWS call at import time must fail fast (it is then
        # ignored), not find the developer's credentials or wait for an instance role.
        "AWS_CONFIG_FILE": str(root / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
