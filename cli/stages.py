"""``fw deploy --stage NAME`` for a stage the project does not know: ask on a terminal, refuse
otherwise unless ``--new-stage`` says it is meant (see ``deployer.project.stages``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deployer.project.stages import UnknownStageError, unknown_stage

from .output import echo


def check_new_stage(project_dir: Path, stage: str, *, new_stage: bool, dry_run: bool) -> None:
    """Return when deploying ``stage`` is meant; raise UnknownStageError (exit 2) otherwise."""
    if new_stage:
        return
    message = unknown_stage(project_dir, stage)
    if message is None:
        return
    fix = f"to deploy a new stage {stage!r} (a second copy of the app), pass --new-stage"
    # After "did you mean 'prod'?" the fix is a sentence of its own.
    fix = f" T{fix[1:]}" if message.endswith("?") else f"; {fix}"
    if dry_run:  # writes nothing to AWS: say it, and show the plan the new stage would get
        echo(f"Warning: {message}{fix}", err=True)
        return
    if sys.stdin.isatty():
        question = f"{message[0].upper()}{message[1:]}. Deploy a new stage {stage!r}?"
        if click.confirm(question.replace("?.", "?"), default=False, err=True):
            return
    raise UnknownStageError(f"{message}{fix}")
