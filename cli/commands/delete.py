"""``fw delete``: remove everything a stage's deployment record holds."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("delete")
@click.option("--stage", default="dev", show_default=True, help="The stage to delete.")
@click.option("--profile", default=None, help="The AWS profile to use (default: boto3's).")
@click.option("--region", default=None, help="The AWS region (default: the deployed one).")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted and change nothing.")
@click.pass_context
def command(
    ctx: click.Context, stage: str, profile: str | None, region: str | None, dry_run: bool
) -> None:
    """Delete the stage's API, functions, wiring and role; running it twice is harmless."""
    from deployer.deploy.run import delete

    from ..output import Progress

    project_dir: Path = ctx.obj["project_dir"]
    with Progress() as progress:
        result = delete(
            project_dir,
            stage,
            profile=profile,
            region=region,
            dry_run=dry_run,
            report=progress,
        )
    if result.actions and not dry_run:
        click.echo(f"Deleted stage {stage!r}.")
