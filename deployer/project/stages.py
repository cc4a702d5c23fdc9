"""The stages a project knows, so that a mistyped ``--stage`` does not deploy a second copy of
the app (a new role, functions and API) under the typo.

A stage is known when the config names it under ``stages``, when it has a record (it was
deployed before, e.g. with ``--new-stage``), or when it is ``dev``: the stage every command uses
without ``--stage``, which Chalice's new projects also name, and which a config without a
``stages`` object (a hand-written one, or one ported from an older Chalice) deploys to.
Requiring a ``stages.dev`` entry would stop the first deploy of such a project for no gain: a
typo never produces the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deployer.errors import ConfigError, closest
from deployer.project.chalice_layout import locate_config, read_config

__all__ = ["DEFAULT_STAGE", "UnknownStageError", "known_stages", "unknown_stage"]

DEFAULT_STAGE = "dev"


class UnknownStageError(ConfigError):
    """``--stage`` names a stage the project does not know; a usage error (exit 2)."""

    exit_code = 2


def known_stages(project_dir: Path) -> tuple[str, ...]:
    """The stages the config names, those with a record, and ``dev``; sorted."""
    data = read_config(locate_config(Path(project_dir)))
    stages = data.get("stages") if isinstance(data, Mapping) else None
    names = (
        {name for name in stages if isinstance(name, str)} if isinstance(stages, Mapping) else set()
    )
    records = Path(project_dir) / ".fw" / "deployed"
    if records.is_dir():
        names |= {path.stem for path in records.glob("*.json")}
    names.add(DEFAULT_STAGE)
    return tuple(sorted(names))


def unknown_stage(project_dir: Path, stage: str) -> str | None:
    """None when ``stage`` is known; else the fact, the known stages and a close match."""
    known = known_stages(project_dir)
    if stage in known:
        return None
    label = locate_config(Path(project_dir)).label
    match = closest(stage, known)
    hint = f"; did you mean {match!r}?" if match else ""
    return f"stage {stage!r} is not in {label} (known stages: {', '.join(known)}){hint}"
