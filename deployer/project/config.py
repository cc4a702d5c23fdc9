"""The project's config file: validated for the stage in use, resolved per function.

The file is ``.fw/config.json``, or a Chalice project's ``.chalice/config.json`` (see
``deployer.project.chalice_layout``). It has three levels (top level, ``stages.<stage>``, and ``lambda_functions.<name>`` under
either), plus CLI-flag overrides on top. A function's value is the most specific one set:
override > stage's function > stage > top-level function > top level > default.
``environment_variables`` and ``tags`` merge across those levels instead (more specific wins per key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from deployer.errors import ConfigError
from deployer.project.chalice_layout import (
    FW_CONFIG_FILE,
    ConfigSource,
    adapt_chalice_config,
    locate_config,
    read_config,
)
from deployer.project.config_schema import (
    ENV_TOTAL_BYTES,
    FUNCTION_KEYS,
    MERGED_KEYS,
    NAME_RE,
    RUNTIME_DEFAULT,
    STAGE_KEYS,
    STAGE_ONLY_KEYS,
    TOP_KEYS,
    checked_stage,
    pattern,
    validate_file,
    validate_overrides,
)

__all__ = [
    "API_HANDLER_NAME",
    "CONFIG_FILE",
    "RUNTIME_DEFAULT",
    "FunctionConfig",
    "StageConfig",
    "load_config",
    "write_default_config",
]

API_HANDLER_NAME = "api_handler"
CONFIG_FILE = FW_CONFIG_FILE


@attrs.frozen
class FunctionConfig:
    """Fully resolved settings for one Lambda function in one stage."""

    name: str
    environment_variables: dict[str, str]
    lambda_memory_size: int
    lambda_timeout: int
    autogen_policy: bool
    iam_policy_file: str | None
    manage_iam_role: bool
    iam_role_arn: str | None
    reserved_concurrency: int | None
    layers: tuple[str, ...]
    automatic_layer: bool
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    source_kms_key_arn: str | None
    tags: dict[str, str]
    xray: bool
    log_retention_in_days: int | None
    runtime: str
    architecture: str


@attrs.frozen
class StageConfig:
    """One stage of a project; ``function(name)`` resolves any function's settings on demand."""

    project_dir: Path
    app_name: str
    stage: str
    api_gateway_stage: str
    api_gateway_endpoint_type: str
    # Relative to project_dir: .fw/config.json, or Chalice's .chalice/config.json.
    config_file: Path = CONFIG_FILE
    # The validated raw levels, kept so functions the file never names still resolve.
    _top: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    _stage_values: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    _overrides: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    def function(self, name: str | None = None) -> FunctionConfig:
        """Resolve one function's settings; ``None`` means the REST API handler."""
        return _resolve(
            self._source,
            self.stage,
            name or API_HANDLER_NAME,
            self._top,
            self._stage_values,
            self._overrides,
        )

    @property
    def config_dir(self) -> Path:
        """The config file's folder, where policy files are read from (as Chalice's .chalice/)."""
        return self.project_dir / self.config_file.parent

    @property
    def _source(self) -> ConfigSource:
        return ConfigSource(self.project_dir, self.config_file)

    @property
    def runtime(self) -> str:
        return self.function().runtime

    @property
    def architecture(self) -> str:
        return self.function().architecture

    @property
    def environment_variables(self) -> dict[str, str]:
        return self.function().environment_variables

    @property
    def autogen_policy(self) -> bool:
        return self.function().autogen_policy

    @property
    def iam_policy_file(self) -> str | None:
        return self.function().iam_policy_file

    @property
    def manage_iam_role(self) -> bool:
        return self.function().manage_iam_role

    @property
    def iam_role_arn(self) -> str | None:
        return self.function().iam_role_arn

    @property
    def automatic_layer(self) -> bool:
        return self.function().automatic_layer

    @property
    def tags(self) -> dict[str, str]:
        return self.function().tags

    @property
    def xray(self) -> bool:
        return self.function().xray

    @property
    def layers(self) -> tuple[str, ...]:
        return self.function().layers


# --- resolution ----------------------------------------------------------------------------


def _levels(
    name: str, top: Mapping[str, Any], stage: Mapping[str, Any], overrides: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The levels that apply to function ``name``, least specific first."""
    return [
        top,
        top.get("lambda_functions", {}).get(name, {}),
        stage,
        stage.get("lambda_functions", {}).get(name, {}),
        overrides,
    ]


def _resolve(
    source: ConfigSource,
    stage_name: str,
    name: str,
    top: Mapping[str, Any],
    stage: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> FunctionConfig:
    levels = _levels(name, top, stage, overrides)
    values: dict[str, Any] = {}
    for key, spec in FUNCTION_KEYS.items():
        if key in MERGED_KEYS:
            merged: dict[str, str] = {}
            for level in levels:
                merged.update(level.get(key, {}))
            values[key] = merged
        else:
            values[key] = spec.default
            for level in levels:
                if key in level:
                    values[key] = level[key]
    if not values["autogen_policy"] and values["iam_policy_file"] is None:
        # As in Chalice: a hand-written policy per stage, beside the config file.
        values["iam_policy_file"] = f"policy-{stage_name}.json"
    elif values["autogen_policy"] and source.chalice:
        # Chalice reads iam_policy_file only when autogen_policy is false (fw's own layout adds
        # the file's statements to the generated ones).
        values["iam_policy_file"] = None
    config = FunctionConfig(name=name, **values)
    _check_function(source.label, stage_name, config)
    return config


def _check_function(source: str, stage: str, config: FunctionConfig) -> None:
    """Rules that span keys, checked on the resolved values (they may come from different levels)."""
    where = f"{source}: function {config.name!r} in stage {stage!r}"
    if not config.manage_iam_role and not config.iam_role_arn:
        raise ConfigError(
            f"{where} has manage_iam_role false but no iam_role_arn; set iam_role_arn to the"
            " role to use, or set manage_iam_role to true"
        )
    if bool(config.subnet_ids) != bool(config.security_group_ids):
        raise ConfigError(
            f"{where} sets only one of subnet_ids and security_group_ids; a function in a VPC"
            " needs both, so set both or neither"
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in config.environment_variables.items())
    if size > ENV_TOTAL_BYTES:
        raise ConfigError(
            f"{where} has {size} bytes of environment_variables, over Lambda's 4 KB limit;"
            " move large values to SSM Parameter Store or S3"
        )


def _stage_value(key: str, *levels: Mapping[str, Any]) -> Any:
    value = STAGE_ONLY_KEYS[key].default
    for level in levels:
        value = level.get(key, value)
    return value


# --- public entry points -------------------------------------------------------------------


def load_config(
    project_dir: Path, stage: str = "dev", *, overrides: Mapping[str, Any] | None = None
) -> StageConfig:
    """Read the config file and validate the top level and ``stage``; return ``stage``'s view.

    Other stages are not read (each is checked when it is used), so another stage's CI
    placeholder never blocks this one. ``overrides`` are CLI-flag values (the
    per-function keys, plus the stage-only keys) that win over the file for every function;
    a ``None`` value means the flag was not given.
    """
    project_dir = Path(project_dir)
    checked_stage(stage)
    source = locate_config(project_dir)
    data = read_config(source)
    if source.chalice:
        data = adapt_chalice_config(
            source,
            data,
            stage,
            top_keys=TOP_KEYS,
            stage_keys=STAGE_KEYS,
            function_keys=tuple(FUNCTION_KEYS),
            stage_only=tuple(STAGE_ONLY_KEYS),
        )
    app_name, top, stage_level = validate_file(source.label, data, stage)
    checked_overrides = validate_overrides(overrides or {})
    # Resolve every named function of the stage now, so cross-key rules fail before any deploy.
    names = {API_HANDLER_NAME, *top["lambda_functions"], *stage_level["lambda_functions"]}
    for name in sorted(names):
        _resolve(source, stage, name, top, stage_level, checked_overrides)
    config = StageConfig(
        project_dir=project_dir,
        app_name=app_name,
        stage=stage,
        config_file=source.relative,
        api_gateway_stage=_stage_value("api_gateway_stage", top, stage_level, checked_overrides),
        api_gateway_endpoint_type=_stage_value(
            "api_gateway_endpoint_type", top, stage_level, checked_overrides
        ),
        top=top,
        stage_values=stage_level,
        overrides=checked_overrides,
    )
    return config


def write_default_config(project_dir: Path, app_name: str, runtime: str | None = None) -> Path:
    """Write a minimal ``.fw/config.json`` for a new project (overwriting any) and return its path.

    ``runtime`` is pinned at the top level when given, so the deployed runtime stays put when the
    local Python changes.
    """
    pattern(NAME_RE, "letters, digits, '-' and '_' (it is part of AWS names)")(
        "project name", "app_name", app_name
    )
    path = Path(project_dir) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"version": "1.0", "app_name": app_name}
    if runtime is not None:
        data["runtime"] = FUNCTION_KEYS["runtime"].check("runtime", "runtime", runtime)
    data["stages"] = {"dev": {"api_gateway_stage": "api"}}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
