"""``fw deploy``: package the app and bring a stage in AWS up to date, changing only what differs."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("deploy")
@click.option("--stage", default="dev", show_default=True, help="The stage to deploy.")
@click.option("--profile", default=None, help="The AWS profile to use (default: boto3's).")
@click.option("--region", default=None, help="The AWS region (default: boto3's).")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option(
    "--new-stage", is_flag=True, help="Deploy a stage the config does not name (else it asks)."
)
@click.pass_context
def command(
    ctx: click.Context,
    stage: str,
    profile: str | None,
    region: str | None,
    dry_run: bool,
    as_json: bool,
    new_stage: bool,
) -> None:
    """Deploy the app: IAM role, Lambda functions, REST API and event wiring.

    Progress goes to stderr, one line per change, so --json output on stdout stays clean.
    """
    from deployer.deploy.run import deploy

    from ..output import Progress
    from ..stages import check_new_stage

    project_dir: Path = ctx.obj["project_dir"]
    check_new_stage(project_dir, stage, new_stage=new_stage, dry_run=dry_run)
    with Progress() as progress:
        result = deploy(
            project_dir,
            stage,
            profile=profile,
            region=region,
            dry_run=dry_run,
            report=progress,
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    elif any(u.url for u in result.urls):
        for u in result.urls:
            if u.url:
                click.echo(f"{u.label}: {u.url}")
    elif not dry_run:
        click.echo(f"Deployed {result.app_name} ({result.stage}); it has no REST API.")
