"""``fw package``: write the deployment zip(s) and a SAM template, for ``sam deploy`` or CI."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("package")
@click.option("--stage", default="dev", show_default=True, help="The stage to package.")
@click.option(
    "--template-format",
    type=click.Choice(["json", "yaml"]),
    default="json",
    show_default=True,
    help="Write sam.json or sam.yaml.",
)
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def command(ctx: click.Context, stage: str, template_format: str, outdir: Path) -> None:
    """Write OUTDIR/deployment.zip and OUTDIR/sam.json (or sam.yaml).

    With automatic_layer, the dependencies go to OUTDIR/layer-deployment.zip. The template
    refers to the zips by relative path: deploy it with 'sam deploy' from OUTDIR, or run
    'aws cloudformation package' on it first.
    """
    from deployer.package.build import build_stage_package
    from deployer.package.sam import build_template, write_template
    from deployer.policy.role_policy import build_policy
    from deployer.project.app_loader import load_stage_app
    from deployer.project.config import load_config

    from ..output import Progress

    project_dir: Path = ctx.obj["project_dir"]
    config = load_config(project_dir, stage)
    rest = config.function(None)
    app = load_stage_app(project_dir, config)
    policy = None
    if rest.manage_iam_role:
        result = build_policy(
            project_dir,
            autogen_policy=rest.autogen_policy,
            iam_policy_file=rest.iam_policy_file,
            policy_dir=config.config_dir,
        )
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        policy = result.document
    with Progress() as progress:
        package = build_stage_package(project_dir, outdir, config, app, report=progress)
    notes: list[str] = []
    template = build_template(app, config, policy=policy, package=package, notes=notes)
    template_path = outdir / f"sam.{template_format}"
    write_template(template, template_path, template_format)
    for artifact in (package.function_zip, package.layer_zip):
        if artifact is not None:
            click.echo(f"Wrote {artifact.path} ({artifact.size:,} bytes)")
    click.echo(f"Wrote {template_path}")
    for note in notes:
        click.echo(f"Note: {note}", err=True)
    if app.routes and config.api_gateway_endpoint_type == "PRIVATE":
        click.echo(
            "Warning: a PRIVATE API needs a resource policy naming your VPC endpoints; add one"
            " to RestAPI (Auth.ResourcePolicy) before deploying.",
            err=True,
        )
