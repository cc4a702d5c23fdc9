"""``fw url``: print a deployed stage's REST API URL."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("url")
@click.option("--stage", default="dev", show_default=True, help="The deployed stage.")
@click.pass_context
def command(ctx: click.Context, stage: str) -> None:
    """Print the REST API URL of a deployed stage (read from its deployment record)."""
    from deployer.deploy.run import stage_url

    project_dir: Path = ctx.obj["project_dir"]
    click.echo(stage_url(project_dir, stage))
