"""``fw new-project NAME``: a runnable project with config, requirements and passing tests."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from importlib import resources
from pathlib import Path

import click

from deployer.errors import FwError

from ..output import echo, style

# The app name becomes part of AWS names (<app>-<stage>-<handler>, at most 64 characters).
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
TEMPLATES = ("minimal", "rest", "events")
# Template files whose names cannot be shipped as-is (a leading dot is dropped by some packagers).
_RENAMES = {"gitignore": ".gitignore"}


def _template_files(template: str) -> list[tuple[str, str]]:
    """(relative path, text) of every file of ``template``, the common files first."""
    root = resources.files("cli") / "templates"
    files: dict[str, str] = {}
    for part in ("common", template):
        stack = [(root / part, "")]
        while stack:
            node, prefix = stack.pop()
            for child in node.iterdir():
                relative = f"{prefix}{child.name}"
                if child.is_dir():
                    if child.name != "__pycache__":
                        stack.append((child, relative + "/"))
                elif not child.name.endswith(".pyc"):
                    files[relative] = child.read_text(encoding="utf-8")
    return sorted(files.items())


def _render(text: str, name: str, bucket: str) -> str:
    # S3 bucket and queue names in the events template: lowercase, no underscores.
    prefix = name.lower().replace("_", "-")
    text = text.replace("{{uploads_bucket}}", bucket)
    return text.replace("{{app_name}}", name).replace("{{resource_prefix}}", prefix)


def _bucket_name(name: str) -> str:
    # Bucket names are global across all AWS accounts, so "<app>-uploads" is likely someone
    # else's already; a random suffix makes the generated one free to create (at most 57 of S3's
    # 63 characters).
    import secrets

    return f"{name.lower().replace('_', '-')}-uploads-{secrets.token_hex(4)}"


def create_project(
    parent: Path, name: str, template: str = "minimal", runtime: str | None = None
) -> Path:
    """Create ``parent/name`` from ``template``; refuses a bad name or an existing path.

    ``runtime`` is pinned in the config (the caller picks it with ``deployer.project.runtimes``).
    """
    from deployer.project.config import write_default_config

    if not _NAME_RE.fullmatch(name):
        raise FwError(
            f"invalid project name {name!r}: start with a letter and use up to 40 letters, "
            "digits, '-' and '_' (it becomes part of AWS resource names)"
        )
    target = parent / name
    if target.exists() or target.is_symlink():
        raise FwError(f"{str(target)!r} already exists: choose another name or remove it")
    files = _template_files(template)
    bucket = _bucket_name(name)
    target.mkdir(parents=True)
    try:
        for relative, text in files:
            head, _, base = relative.rpartition("/")
            path = target / head / _RENAMES.get(base, base)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render(text, name, bucket), encoding="utf-8")
        write_default_config(target, name, runtime)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half-made project left behind
        raise
    return target


@click.command("new-project")
@click.argument("name")
@click.option(
    "--template",
    type=click.Choice(TEMPLATES),
    default="minimal",
    show_default=True,
    help="minimal: hello world; rest: a CRUD API; events: schedule, S3 and SQS handlers.",
)
@click.pass_context
def command(ctx: click.Context, name: str, template: str) -> None:
    """Create the project NAME in the current directory (or under --project-dir)."""
    from deployer.project.runtimes import pin_runtime

    choice = pin_runtime()
    target = create_project(ctx.obj["project_dir"], name, template, choice.runtime)
    echo(f"Created {style(name, 'bold')} from the {template!r} template in {target}")
    echo(f"Runtime {choice.runtime}, pinned in .fw/config.json ('runtime') for every deploy")
    if choice.note:
        echo(f"Note: {choice.note}")
    shown = os.path.relpath(target)
    if shown.startswith(".."):
        shown = str(target)
    echo("Next:")
    echo(f"  cd {shlex.quote(shown)} && fw local   # serve it on http://127.0.0.1:8000/")
    # pytest is not one of fw's own dependencies: the project's requirements-dev.txt brings it.
    echo("  python -m pip install -r requirements-dev.txt   # once: pytest, for the tests")
    echo("  python -m pytest tests   # run its tests")
