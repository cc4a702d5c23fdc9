"""``fw url``: print a deployed stage's REST API URL and its WebSocket API's ``wss://`` URL."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("url")
@click.option("--stage", default="dev", show_default=True, help="The deployed stage.")
@click.pass_context
def command(ctx: click.Context, stage: str) -> None:
    """Print the REST and websocket API URLs of a deployed stage (from its deployment record)."""
    from deployer.deploy.run import stage_urls

    project_dir: Path = ctx.obj["project_dir"]
    for url in stage_urls(project_dir, stage):
        click.echo(url)
