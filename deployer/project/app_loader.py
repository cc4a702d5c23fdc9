"""Import a project's ``app.py`` to read what it declares (routes, handlers, authorizers).

The deployer, ``fw package`` and ``fw local`` all need the app object; importing it the same way
everywhere means they all see the same app.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deployer.errors import FwError


class AppLoadError(FwError):
    """``app.py`` is missing, fails to import, or defines no ``app``."""


# Chalice's CLI sets AWS_CHALICE_CLI_MODE=true for every command it runs (chalice/cli/__init__.py,
# _configure_cli_env_vars), so an app can tell "run by the CLI" (local resources, no AWS calls at
# import) from "running in Lambda"; fw sets it, and its own name, wherever it imports the app.
CLI_MODE_VARIABLES = {"AWS_CHALICE_CLI_MODE": "true", "FW_CLI_MODE": "true"}

# Lambda sets AWS_REGION for every function, so module-level ``boto3.client(...)`` calls work
# there; a build machine may have no region at all, and packaging makes no AWS calls.
PLACEHOLDER_REGION = "us-east-1"


@contextlib.contextmanager
def import_environment(
    variables: Mapping[str, str], *, region: str | None = None
) -> Iterator[None]:
    """While importing app.py only to read it: the stage's variables, and a region.

    ``region`` is the one the app will run in (deploy knows it); without it, a placeholder is
    set only if nothing configures one. The environment is restored afterwards.
    """
    wanted = dict(variables)
    if region is not None:
        # Lambda sets both; module-level boto3 clients in app.py read one of them.
        wanted.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    elif not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        import botocore.session

        if not botocore.session.Session().get_config_variable("region"):
            wanted.setdefault("AWS_DEFAULT_REGION", PLACEHOLDER_REGION)
    with _environment(wanted):
        yield


@contextlib.contextmanager
def cli_mode() -> Iterator[None]:
    """While an fw command runs the app: ``AWS_CHALICE_CLI_MODE`` and ``FW_CLI_MODE`` set."""
    with _environment(CLI_MODE_VARIABLES):
        yield


@contextlib.contextmanager
def _environment(wanted: Mapping[str, str]) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def load_stage_app(project_dir: Path, config: Any, *, region: str | None = None) -> Any:
    """Import the app as the stage's REST function would: with its environment variables."""
    with import_environment(config.function(None).environment_variables, region=region):
        return load_app(project_dir)


def function_names(app: Any) -> list[str | None]:
    """Every Lambda function the app deploys, by config name (None: the REST handler)."""
    from deployer.deploy.graph import app_graph

    return [function.name for function in app_graph(app).functions]


def load_app(project_dir: Path, *, app_filename: str = "app.py", module_name: str = "app") -> Any:
    """Import ``<project_dir>/app.py`` fresh and return its ``app`` object.

    The project directory and its ``vendor/`` go first on ``sys.path`` (as in the Lambda zip) so
    that ``lib`` and vendored packages resolve; any previously imported app module and modules
    named like the project's shipped ones (``lib``, ``chalicelib``, ``helpers``...: see
    ``deployer.package.imports``) are dropped, so a reload, or another project with a module of the same
    name, sees the files as they are now.
    """
    from deployer.package.imports import shipped_code

    project_dir = Path(project_dir).resolve()
    app_path = project_dir / app_filename
    if not app_path.is_file():
        raise AppLoadError(
            f"no {app_filename} in {project_dir}: run 'fw new-project' or pass --project-dir"
        )
    for path in (project_dir / "vendor", project_dir):
        if path.is_dir() and str(path) not in sys.path:
            sys.path.insert(0, str(path))
    own = {root.removesuffix(".py") for root in shipped_code(project_dir, app_filename).roots}
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if name == module_name or (top in own and top != module_name and _project_module(name)):
            del sys.modules[name]
    spec = importlib.util.spec_from_file_location(module_name, app_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        # What the app prints or logs while it is imported goes to stderr: stdout carries the
        # JSON of `fw gen-policy` and `fw deploy --json`.
        with cli_mode(), contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except SyntaxError as err:
        del sys.modules[module_name]
        where = _display_path(Path(err.filename), project_dir) if err.filename else app_filename
        raise AppLoadError(f"{where}:{err.lineno}: syntax error: {err.msg}") from err
    except Exception as err:
        del sys.modules[module_name]
        frames = project_frames(err, project_dir) or [app_filename]
        via = f" (imported from {frames[0]})" if len(frames) > 1 else ""
        raise AppLoadError(
            f"{frames[-1]}: importing the app failed{via}: {type(err).__name__}: {err}"
        ) from err
    app = getattr(module, "app", None)
    if app is None:
        raise AppLoadError(
            f"{app_filename} defines no 'app' object: add app = App({project_dir.name!r})"
        )
    return app


def _project_module(name: str) -> bool:
    """Whether a loaded module may be a project's own (of this project or one loaded before).

    The host's standard library and installed packages stay: a project file that shares their
    name must not evict the module fw itself runs on.
    """
    if name.partition(".")[0] in sys.stdlib_module_names:
        return False
    location = getattr(sys.modules.get(name), "__file__", None) or ""
    return not any(part in ("site-packages", "dist-packages") for part in Path(location).parts)


# Installed packages, even inside the project directory (a virtualenv there), are not its code.
_NOT_PROJECT_DIRS = frozenset({"site-packages", "dist-packages", ".venv", "venv"})


def project_frames(err: BaseException, project_dir: Path) -> list[str]:
    """``file:line`` of each frame of ``err``'s traceback in the project's own code, outermost
    first.

    The last is where to look: an error in ``lib/db.py`` is fixed there, not on the app.py line
    that imported it.
    """
    project_dir = Path(project_dir).resolve()
    found = []
    tb = err.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename)
        if path.is_absolute() and path.is_relative_to(project_dir):
            if not _NOT_PROJECT_DIRS.intersection(path.relative_to(project_dir).parts):
                found.append(f"{_display_path(path, project_dir)}:{tb.tb_lineno}")
        tb = tb.tb_next
    return found


def _display_path(path: Path, project_dir: Path) -> str:
    """``path`` relative to the project (as ``lib/db.py``), or as it is if outside it."""
    try:
        return path.resolve().relative_to(project_dir).as_posix()
    except ValueError:
        return str(path)
