"""Where a project's config file is, and how a Chalice project's ``.chalice/config.json`` maps
onto fw's keys.

fw reads ``.fw/config.json``; a project ported from Chalice keeps ``.chalice/config.json``, which
fw reads when there is no ``.fw/config.json``. Both have the same three levels and, for every key
fw implements, the same name and meaning. What Chalice accepts and fw does not implement yet is
left out with one warning line per key, never silently and never as an error, since the project
deploys with Chalice as it is. ``deployer.project.config`` then validates what is left as it validates
``.fw/config.json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from deployer.errors import ConfigError, closest

__all__ = [
    "CHALICE_CONFIG_FILE",
    "CHALICE_RENAMED",
    "CHALICE_UNSUPPORTED",
    "FW_CONFIG_FILE",
    "ConfigSource",
    "adapt_chalice_config",
    "find_config",
    "locate_config",
    "new_command",
    "read_config",
    "warn_once",
]

FW_CONFIG_FILE = Path(".fw") / "config.json"
CHALICE_CONFIG_FILE = Path(".chalice") / "config.json"

# Chalice 1.34's config keys that fw does not implement, and what leaving one out means.
CHALICE_UNSUPPORTED: dict[str, str] = {
    "api_gateway_endpoint_vpce": "a PRIVATE API gets no resource policy for these VPC endpoints",
    "api_gateway_policy_file": "the REST API gets no resource policy",
    "minimum_compression_size": "API Gateway does not compress responses",
    "api_gateway_custom_domain": "no custom domain name is created",
    "websocket_api_custom_domain": "the websocket API gets no custom domain name",
}
# Chalice keys fw implements under its own name.
CHALICE_RENAMED: dict[str, str] = {"lambda_architecture": "architecture"}
# Chalice merges these from the stage and its functions only; fw also from top-level functions.
_MERGED = ("environment_variables", "tags")

# What has been reported in this command, per project: a command may load the config more than
# once (fw local reloads it), and a warning repeated on every reload hides the new ones.
_reported: set[tuple[str, str]] = set()


def new_command() -> None:
    """Forget what was reported: the CLI calls this as each command starts."""
    _reported.clear()


def warn_once(project_dir: Path, message: str) -> None:
    """Print ``message`` on stderr unless this command already printed it for this project."""
    key = (str(project_dir), message)
    if key not in _reported:
        _reported.add(key)
        print(message, file=sys.stderr)


@attrs.frozen
class ConfigSource:
    """The config file a project uses: ``relative`` is ``.fw/config.json`` or Chalice's."""

    project_dir: Path
    relative: Path

    @property
    def path(self) -> Path:
        return self.project_dir / self.relative

    @property
    def label(self) -> str:
        """How messages name the file."""
        return self.relative.as_posix()

    @property
    def chalice(self) -> bool:
        return self.relative == CHALICE_CONFIG_FILE


def find_config(project_dir: Path, *, note: bool = True) -> ConfigSource | None:
    """``.fw/config.json``, else ``.chalice/config.json``, else None.

    With both, ``.fw/`` wins: a project that moved to fw's layout and kept Chalice's file (to
    deploy with either) means fw's. ``note`` says so once on stderr.
    """
    project_dir = Path(project_dir)
    fw = (project_dir / FW_CONFIG_FILE).is_file()
    chalice = (project_dir / CHALICE_CONFIG_FILE).is_file()
    if fw and chalice and note:
        warn_once(
            project_dir,
            f"Note: fw reads {FW_CONFIG_FILE.as_posix()} and not"
            f" {CHALICE_CONFIG_FILE.as_posix()}, since both exist",
        )
    if fw:
        return ConfigSource(project_dir, FW_CONFIG_FILE)
    if chalice:
        return ConfigSource(project_dir, CHALICE_CONFIG_FILE)
    return None


def locate_config(project_dir: Path) -> ConfigSource:
    """The project's config file; a ConfigError when it has neither."""
    source = find_config(Path(project_dir))
    if source is None:
        raise ConfigError(
            f"no .fw/config.json (or Chalice's .chalice/config.json) in {str(project_dir)!r}:"
            " run 'fw new-project' or create it"
        )
    return source


def _reject_duplicates(label: str) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # json.loads keeps the last of two equal keys silently; a config typo should not vanish.
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ConfigError(f"{label}: key {key!r} appears twice in one object; keep one")
            result[key] = value
        return result

    return hook


def read_config(source: ConfigSource) -> Any:
    """The file's JSON; a read or parse failure is one ConfigError line."""
    try:
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {str(source.path)!r}: {err}; check the file") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates(source.label))
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{source.label} is not valid JSON at line {err.lineno}:{err.colno}: {err.msg}"
        ) from None


def _suggest(key: str, known: Iterable[str]) -> str:
    match = closest(key, known)
    return f"; did you mean {match!r}?" if match else ""


def _adapt_level(
    source: ConfigSource,
    path: str,
    level: Mapping[str, Any],
    allowed: tuple[str, ...],
    stage_only: tuple[str, ...],
) -> dict[str, Any]:
    """One level (top, stage or function entry) with what fw cannot use taken out, each warned."""
    adapted: dict[str, Any] = {}
    for key, value in level.items():
        where = f"{path}.{key}" if path else key
        # Chalice reads null as "not set here" and looks at the next level.
        if value is None:
            continue
        if key in CHALICE_UNSUPPORTED:
            _warn(source, f"{where} is a Chalice setting fw does not support yet; ignored"
                  f" ({CHALICE_UNSUPPORTED[key]})")  # fmt: skip
            continue
        name = CHALICE_RENAMED.get(key, key)
        if name != key and name in level:
            _warn(source, f"{where} is ignored: {name!r} is set beside it and wins")
            continue
        if name in stage_only and name not in allowed:
            _warn(source, f"{where} is ignored: it applies to the whole stage (Chalice ignores"
                  " it here too); set it on the stage or at the top level")  # fmt: skip
            continue
        if name not in allowed:
            _warn(source, f"{where} is not a Chalice or fw setting; ignored, as Chalice ignores"
                  f" it{_suggest(key, allowed)}")  # fmt: skip
            continue
        adapted[name] = value
    return adapted


def _warn(source: ConfigSource, message: str) -> None:
    warn_once(source.project_dir, f"Warning: {source.label}: {message}")


def adapt_chalice_config(
    source: ConfigSource,
    data: Any,
    stage: str,
    *,
    top_keys: tuple[str, ...],
    stage_keys: tuple[str, ...],
    function_keys: tuple[str, ...],
    stage_only: tuple[str, ...],
) -> Any:
    """``data`` as fw reads it: the top level and ``stage`` adapted, other stages untouched.

    Only the stage in use is read, so only its keys are warned about.
    """
    if not isinstance(data, Mapping):
        return data  # the validator names the problem
    top = _adapt_level(source, "", data, top_keys, stage_only)
    levels = [("", top)]
    stages = top.get("stages")
    if isinstance(stages, Mapping) and isinstance(stages.get(stage), Mapping):
        path = f"stages.{stage}"
        used = _adapt_level(source, path, stages[stage], stage_keys, stage_only)
        top["stages"] = {**stages, stage: used}
        levels.append((path, used))
    for path, level in levels:
        functions = level.get("lambda_functions")
        if isinstance(functions, Mapping):
            level["lambda_functions"] = {
                name: _adapt_entry(source, path, name, entry, function_keys, stage_only)
                for name, entry in functions.items()
                if entry is not None  # Chalice skips a null entry, as a null value
            }
    return top


def _adapt_entry(
    source: ConfigSource,
    path: str,
    name: str,
    entry: Any,
    function_keys: tuple[str, ...],
    stage_only: tuple[str, ...],
) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    entry_path = f"{path}.lambda_functions.{name}" if path else f"lambda_functions.{name}"
    adapted = _adapt_level(source, entry_path, entry, function_keys, stage_only)
    if not path:
        for key in _MERGED:
            if key in adapted:
                _warn(source, f"{entry_path}.{key} applies in fw, where Chalice ignores it (it"
                      " reads this key per function only under a stage)")  # fmt: skip
    return adapted
