"""``fw gen-policy``: print the IAM policy ``fw deploy`` would attach to the app's role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _stage_config(project_dir: Path, stage: str) -> Any:
    """The stage's config, or None outside a project (a lone file to analyze)."""
    from deployer.project.chalice_layout import find_config
    from deployer.project.config import load_config

    if find_config(project_dir, note=False) is None:
        return None
    return load_config(project_dir, stage)


def _trigger_statements(project_dir: Path, config: Any, filename: str) -> list[dict[str, Any]]:
    """What AWS checks the stage's role for beyond the code's calls (its functions' triggers and
    VPC), as fw deploy adds it; ARNs carry "*" where the account and region would be."""
    from deployer.policy.triggers import WILDCARD_SCOPE, role_statements
    from deployer.project.app_loader import import_environment, load_app

    with import_environment(config.function(None).environment_variables):
        app = load_app(project_dir, app_filename=filename)
    return role_statements(app, config, WILDCARD_SCOPE)


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
    """Print the IAM policy JSON generated from the app's boto3 calls and its triggers.

    In an fw project, the statements AWS checks the role for (trigger pollers, VPC interfaces)
    are added as fw deploy adds them, with "*" for the account and region.

    Warnings about calls the analyzer cannot resolve go to stderr, so the JSON on stdout can be
    redirected into a policy file.
    """
    from deployer.policy.role_policy import build_policy
    from deployer.policy.triggers import extend_document

    project_dir: Path = ctx.obj["project_dir"]
    config = _stage_config(project_dir, stage)
    rest = config.function(None) if config is not None else None
    autogen_policy = rest.autogen_policy if rest is not None else True
    result = build_policy(
        project_dir,
        autogen_policy=autogen_policy,
        iam_policy_file=rest.iam_policy_file if rest is not None else None,
        app_filename=filename,
        policy_dir=config.config_dir if config is not None else None,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    document = result.document
    if config is not None and autogen_policy:
        # Only an fw project declares triggers; a lone file is analyzed for its calls alone.
        from deployer.project.app_loader import AppLoadError

        try:
            document = extend_document(document, _trigger_statements(project_dir, config, filename))
        except AppLoadError as err:
            # The calls come from reading the source, which needs no import; as Chalice's
            # gen-policy does, print them rather than nothing, and say what is missing.
            click.echo(
                f"Warning: {err}; the statements for the app's triggers and VPC are left out"
                " (fw deploy adds them once the app imports)",
                err=True,
            )
    click.echo(json.dumps(document, indent=2))
