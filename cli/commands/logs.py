"""``fw logs``: print a deployed function's CloudWatch Logs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("logs")
@click.option("--name", default=None, help="The handler's name (default: the REST API handler).")
@click.option("--stage", default="dev", show_default=True, help="The deployed stage.")
@click.option("--since", default="10m", show_default=True, help="How far back: 30s, 10m, 2h, 1d.")
@click.option("--follow", is_flag=True, help="Keep printing new events until interrupted.")
@click.option("--profile", default=None, help="The AWS profile to use (default: boto3's).")
@click.option("--region", default=None, help="The AWS region (default: the deployed one).")
@click.pass_context
def command(
    ctx: click.Context,
    name: str | None,
    stage: str,
    since: str,
    follow: bool,
    profile: str | None,
    region: str | None,
) -> None:
    """Print the log events of one function of the stage, oldest first."""
    from deployer.deploy.aws import create_context
    from deployer.logs import format_event, function_for_logs, parse_since, read_events

    project_dir: Path = ctx.obj["project_dir"]
    seconds = parse_since(since)
    function, recorded_region = function_for_logs(project_dir, stage, name)
    aws = create_context(profile=profile, region=region or recorded_region)
    waiting = "; waiting for new ones (Ctrl-C to stop)" if follow else ""

    def none() -> None:
        click.echo(f"No log events from {function} in the last {since}{waiting}.", err=True)

    for event in read_events(aws, function, since_seconds=seconds, follow=follow, on_none=none):
        click.echo(format_event(event))
