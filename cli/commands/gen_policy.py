"""``fw gen-policy``: print the IAM policy ``fw deploy`` would attach to the app's role."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _policy_settings(project_dir: Path, stage: str) -> tuple[bool, str | None]:
    """``autogen_policy`` and ``iam_policy_file`` from the config; the defaults without one."""
    from deployer.config import load_config

    if not (project_dir / ".fw" / "config.json").is_file():
        return True, None
    function = load_config(project_dir, stage).function(None)
    return function.autogen_policy, function.iam_policy_file


@click.command("gen-policy")
@click.option(
    "--filename",
    default="app.py",
    show_default=True,
    help="The app file to analyze, relative to the project directory.",
)
@click.option("--stage", default="dev", show_default=True, help="The stage whose config to read.")
@click.pass_context
def command(ctx: click.Context, filename: str, stage: str) -> None:
    """Print the IAM policy JSON generated from the app's boto3 calls.

    Warnings about calls the analyzer cannot resolve go to stderr, so the JSON on stdout can be
    redirected into a policy file.
    """
    from deployer.policy import build_policy

    project_dir: Path = ctx.obj["project_dir"]
    autogen_policy, iam_policy_file = _policy_settings(project_dir, stage)
    result = build_policy(
        project_dir,
        autogen_policy=autogen_policy,
        iam_policy_file=iam_policy_file,
        app_filename=filename,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(json.dumps(result.document, indent=2))
