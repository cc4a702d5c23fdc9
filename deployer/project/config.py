"""The project's config file: validated for the stage in use, resolved per function.

The file is ``.fw/config.json``, or a Chalice project's ``.chalice/config.json`` (see
``deployer.project.chalice_layout``). It has three levels (top level, ``stages.<stage>``, and ``lambda_functions.<name>`` under
either), plus CLI-flag overrides on top. A function's value is the most specific one set:
override > stage's function > stage > top-level function > top level > default.
``environment_variables`` and ``tags`` merge across those levels instead (more specific wins per key).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from deployer.errors import ConfigError, closest
from deployer.project.chalice_layout import (
    FW_CONFIG_FILE,
    ConfigSource,
    adapt_chalice_config,
    locate_config,
    read_config,
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

RUNTIME_DEFAULT: str = f"python{sys.version_info.major}.{sys.version_info.minor}"
API_HANDLER_NAME = "api_handler"
CONFIG_FILE = FW_CONFIG_FILE

_SOURCE_OVERRIDE = "command-line option"

# Names that end up inside AWS resource names (function names, role names, log groups).
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_ENV_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Lambda no longer creates functions on python3.8 and older.
_RUNTIME_RE = re.compile(r"python3\.(9|[1-9][0-9])")
_LAYER_ARN_RE = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+")
_ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
# A key ARN, not an alias: IAM matches kms:Decrypt against the key's ARN.
_KMS_KEY_ARN_RE = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")
# API Gateway stage names: alphanumerics, hyphens and underscores, at most 128 characters.
_API_STAGE_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

# CloudWatch Logs' PutRetentionPolicy rejects any other number of days.
_LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
    731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Lambda refuses to create a function that sets any of these (the runtime owns them).
_RESERVED_ENV_NAMES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
# Lambda caps the combined size of a function's environment variables at 4 KB.
_ENV_TOTAL_BYTES = 4096


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


# --- value checks: each takes (source, path, value) and returns the normalized value ----------

_Check = Callable[[str, str, Any], Any]


def _bad(source: str, path: str, value: Any, what: str) -> ConfigError:
    hint = ""
    if isinstance(value, str) and ("${" in value or "{{" in value):
        # A CI pipeline fills these in before the deploy; one left as it is reaches fw.
        hint = " (it looks like a placeholder your CI did not substitute)"
    return ConfigError(f"{source}: invalid {path} {value!r}{hint}; it must be {what}")


def _is_int(value: Any) -> bool:
    # JSON true/false load as bool, which is a subclass of int: do not let them pass as numbers.
    return isinstance(value, int) and not isinstance(value, bool)


def _int_range(low: int, high: int, *, optional: bool = False) -> _Check:
    def check(source: str, path: str, value: Any) -> int | None:
        if value is None and optional:
            return None
        if not _is_int(value) or not low <= value <= high:
            raise _bad(source, path, value, f"an integer from {low} to {high}")
        return value

    return check


def _check_bool(source: str, path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _bad(source, path, value, "true or false")
    return value


def _check_optional_str(source: str, path: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise _bad(source, path, value, "a non-empty string or null")
    return value


def _pattern(regex: re.Pattern[str], what: str, *, optional: bool = False) -> _Check:
    def check(source: str, path: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise _bad(source, path, value, what)
        return value

    return check


def _choice(*choices: str) -> _Check:
    def check(source: str, path: str, value: Any) -> str:
        if value not in choices:
            raise _bad(source, path, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    return check


def _str_list(item: _Check | None = None) -> _Check:
    def check(source: str, path: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)):
            raise _bad(source, path, value, "a list of strings")
        for index, entry in enumerate(value):
            if not isinstance(entry, str) or not entry:
                raise _bad(source, f"{path}[{index}]", entry, "a non-empty string")
            if item is not None:
                item(source, f"{path}[{index}]", entry)
        return tuple(value)

    return check


def _check_env(source: str, path: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _bad(source, path, value, "an object of string values")
    for key, val in value.items():
        if not _ENV_NAME_RE.fullmatch(key):
            raise ConfigError(
                f"{source}: {path} has an invalid variable name {key!r}; use letters, digits and"
                " '_', starting with a letter"
            )
        if key in _RESERVED_ENV_NAMES:
            raise ConfigError(
                f"{source}: {path} sets {key!r}, which Lambda reserves for its runtime; rename it"
            )
        if not isinstance(val, str):
            raise _bad(source, f"{path}.{key}", val, "a string (quote numbers and booleans)")
    return dict(value)


def _check_tags(source: str, path: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _bad(source, path, value, "an object of string values")
    for key, val in value.items():
        # AWS reserves the "aws:" prefix and limits keys to 128 and values to 256 characters.
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise ConfigError(
                f"{source}: {path} has an invalid tag key {key!r}; use 1 to 128 characters"
                " not starting with 'aws:'"
            )
        if not isinstance(val, str) or len(val) > 256:
            raise _bad(source, f"{path}.{key}", val, "a string of at most 256 characters")
    return dict(value)


def _check_log_retention(source: str, path: str, value: Any) -> int | None:
    if value is not None and (not _is_int(value) or value not in _LOG_RETENTION_DAYS):
        allowed = ", ".join(str(d) for d in _LOG_RETENTION_DAYS)
        raise _bad(source, path, value, f"null or one of CloudWatch Logs' values {allowed}")
    return value


@attrs.frozen
class _Key:
    check: _Check
    default: Any


# Keys that may differ per function (and so may appear under lambda_functions.<name>).
_FUNCTION_KEYS: dict[str, _Key] = {
    "environment_variables": _Key(_check_env, {}),
    "lambda_memory_size": _Key(_int_range(128, 10240), 128),
    "lambda_timeout": _Key(_int_range(1, 900), 60),
    "autogen_policy": _Key(_check_bool, True),
    "iam_policy_file": _Key(_check_optional_str, None),
    "manage_iam_role": _Key(_check_bool, True),
    "iam_role_arn": _Key(
        _pattern(
            _ROLE_ARN_RE,
            "an IAM role ARN (arn:aws:iam::<account>:role/<name>) or null",
            optional=True,
        ),
        None,
    ),
    "reserved_concurrency": _Key(_int_range(0, 2**31 - 1, optional=True), None),
    "layers": _Key(
        _str_list(
            _pattern(
                _LAYER_ARN_RE,
                "a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)",
            )
        ),
        (),
    ),
    "automatic_layer": _Key(_check_bool, False),
    "subnet_ids": _Key(_str_list(), ()),
    "security_group_ids": _Key(_str_list(), ()),
    # The customer managed key of the function's queue or stream: Lambda's poller decrypts with
    # the function's role, so fw grants kms:Decrypt on it (trigger_policy).
    "source_kms_key_arn": _Key(
        _pattern(
            _KMS_KEY_ARN_RE,
            "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null",
            optional=True,
        ),
        None,
    ),
    "tags": _Key(_check_tags, {}),
    "xray": _Key(_check_bool, False),
    "log_retention_in_days": _Key(_check_log_retention, None),
    "runtime": _Key(
        _pattern(
            _RUNTIME_RE, "a Python 3 Lambda runtime such as 'python3.12' (python3.9 or later)"
        ),
        RUNTIME_DEFAULT,
    ),
    "architecture": _Key(_choice("x86_64", "arm64"), "x86_64"),
}
_MERGED_KEYS = ("environment_variables", "tags")

# Keys that describe the stage's REST API, so they cannot differ per function.
_STAGE_ONLY_KEYS: dict[str, _Key] = {
    "api_gateway_stage": _Key(
        _pattern(_API_STAGE_RE, "1 to 128 letters, digits, '-' or '_'"), "api"
    ),
    "api_gateway_endpoint_type": _Key(_choice("EDGE", "REGIONAL", "PRIVATE"), "EDGE"),
}
_STAGE_KEYS = (*_FUNCTION_KEYS, *_STAGE_ONLY_KEYS, "lambda_functions")
_TOP_KEYS = ("version", "app_name", "stages", *_STAGE_KEYS)


# --- structure validation ------------------------------------------------------------------


def _unknown_key(source: str, path: str, key: str, allowed: tuple[str, ...]) -> ConfigError:
    where = f"{path}.{key}" if path else key
    match = closest(key, allowed)
    hint = f"did you mean {match!r}?" if match else "valid keys are " + ", ".join(allowed)
    return ConfigError(f"{source}: unknown key {where!r}; {hint}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(source: str, path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        if not path:
            raise ConfigError(f"{source}: invalid top level {value!r}; it must be a JSON object")
        raise _bad(source, path, value, "an object")
    return value


def _validate_keys(
    source: str, path: str, data: Mapping[str, Any], allowed: tuple[str, ...]
) -> dict[str, Any]:
    """Check every known key's value and reject unknown keys; return normalized values."""
    checked: dict[str, Any] = {}
    for key, value in data.items():
        spec = _FUNCTION_KEYS.get(key) or _STAGE_ONLY_KEYS.get(key)
        if key not in allowed:
            if key in _STAGE_ONLY_KEYS:
                raise ConfigError(
                    f"{source}: {_join(path, key)!r} applies to the whole stage, so it cannot be"
                    " set per function; move it to the stage or the top level"
                )
            raise _unknown_key(source, path, key, allowed)
        if spec is not None:
            checked[key] = spec.check(source, _join(path, key), value)
    return checked


def _validate_level(source: str, path: str, data: Any) -> dict[str, Any]:
    """Validate the top level or one stage: its own keys plus its lambda_functions entries."""
    data = _object(source, path, data)
    level = _validate_keys(source, path, data, _TOP_KEYS if not path else _STAGE_KEYS)
    functions_path = _join(path, "lambda_functions")
    functions = _object(source, functions_path, data.get("lambda_functions", {}))
    level["lambda_functions"] = {}
    for name, entry in functions.items():
        entry_path = f"{functions_path}.{name}"
        if not _NAME_RE.fullmatch(name):
            raise ConfigError(
                f"{source}: function name {name!r} in {functions_path} may only contain"
                " letters, digits, '-' and '_'"
            )
        entry = _object(source, entry_path, entry)
        level["lambda_functions"][name] = _validate_keys(
            source, entry_path, entry, tuple(_FUNCTION_KEYS)
        )
    return level


# Chalice writes "2.0" (its format since functions could be configured per stage), fw "1.0";
# the keys they share mean the same in both.
_VERSIONS = ("1.0", "2.0")


def _validate_file(
    source: str, data: Any, stage: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Validate the top level and ``stage``; return (app_name, top level, stage level).

    Other stages are not read: a CI placeholder in prod must not stop a deploy of dev.
    """
    data = _object(source, "", data)
    top = _validate_level(source, "", data)
    version = data.get("version", "1.0")
    if version not in _VERSIONS and (isinstance(version, bool) or version not in (1, 2)):
        raise _bad(source, "version", version, "'1.0' or '2.0'")
    if "app_name" not in data:
        raise ConfigError(f'{source}: \'app_name\' is missing; add "app_name": "<name>"')
    app_name = _pattern(_NAME_RE, "letters, digits, '-' and '_' (it is part of AWS names)")(
        source, "app_name", data["app_name"]
    )
    stages = _object(source, "stages", data.get("stages", {}))
    stage_level: dict[str, Any] = {"lambda_functions": {}}
    if stage in stages:
        stage_level = _validate_level(source, f"stages.{stage}", stages[stage])
    return app_name, top, stage_level


def _validate_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    # A None value means the CLI flag was not given, so it overrides nothing.
    given = {key: value for key, value in overrides.items() if value is not None}
    return _validate_keys(_SOURCE_OVERRIDE, "", given, (*_FUNCTION_KEYS, *_STAGE_ONLY_KEYS))


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
    for key, spec in _FUNCTION_KEYS.items():
        if key in _MERGED_KEYS:
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
    if size > _ENV_TOTAL_BYTES:
        raise ConfigError(
            f"{where} has {size} bytes of environment_variables, over Lambda's 4 KB limit;"
            " move large values to SSM Parameter Store or S3"
        )


def _stage_value(key: str, *levels: Mapping[str, Any]) -> Any:
    value = _STAGE_ONLY_KEYS[key].default
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
    if not isinstance(stage, str) or not _NAME_RE.fullmatch(stage):
        raise ConfigError(f"invalid stage name {stage!r}: use only letters, digits, '-' and '_'")
    source = locate_config(project_dir)
    data = read_config(source)
    if source.chalice:
        data = adapt_chalice_config(
            source,
            data,
            stage,
            top_keys=_TOP_KEYS,
            stage_keys=_STAGE_KEYS,
            function_keys=tuple(_FUNCTION_KEYS),
            stage_only=tuple(_STAGE_ONLY_KEYS),
        )
    app_name, top, stage_level = _validate_file(source.label, data, stage)
    checked_overrides = _validate_overrides(overrides or {})
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
    _pattern(_NAME_RE, "letters, digits, '-' and '_' (it is part of AWS names)")(
        "project name", "app_name", app_name
    )
    path = Path(project_dir) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"version": "1.0", "app_name": app_name}
    if runtime is not None:
        data["runtime"] = _FUNCTION_KEYS["runtime"].check("runtime", "runtime", runtime)
    data["stages"] = {"dev": {"api_gateway_stage": "api"}}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
