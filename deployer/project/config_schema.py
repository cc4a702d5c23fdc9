"""The keys a config file may hold: each key's check and default, and the file's structure.

``deployer.project.config`` reads the file with these and resolves each function's settings.
A new key is one entry in ``FUNCTION_KEYS`` (or ``STAGE_ONLY_KEYS``) and one field of
``FunctionConfig``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from deployer.errors import ConfigError, closest

__all__ = [
    "ENV_TOTAL_BYTES",
    "FUNCTION_KEYS",
    "MERGED_KEYS",
    "NAME_RE",
    "RUNTIME_DEFAULT",
    "STAGE_KEYS",
    "STAGE_ONLY_KEYS",
    "TOP_KEYS",
    "Key",
    "checked_stage",
    "pattern",
    "validate_file",
    "validate_overrides",
]

RUNTIME_DEFAULT: str = f"python{sys.version_info.major}.{sys.version_info.minor}"
_SOURCE_OVERRIDE = "command-line option"

# Names that end up inside AWS resource names (function names, role names, log groups).
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_ENV_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def checked_stage(stage: object) -> str:
    """``stage`` if it is a valid stage name: it names AWS resources and the files under
    ``.fw/deployed/``, so a name like ``../x`` must never reach a path."""
    if not isinstance(stage, str) or not NAME_RE.fullmatch(stage):
        raise ConfigError(f"invalid stage name {stage!r}: use only letters, digits, '-' and '_'")
    return stage


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
ENV_TOTAL_BYTES = 4096


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


def pattern(regex: re.Pattern[str], what: str, *, optional: bool = False) -> _Check:
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
class Key:
    check: _Check
    default: Any


# Keys that may differ per function (and so may appear under lambda_functions.<name>).
FUNCTION_KEYS: dict[str, Key] = {
    "environment_variables": Key(_check_env, {}),
    "lambda_memory_size": Key(_int_range(128, 10240), 128),
    "lambda_timeout": Key(_int_range(1, 900), 60),
    "autogen_policy": Key(_check_bool, True),
    "iam_policy_file": Key(_check_optional_str, None),
    "manage_iam_role": Key(_check_bool, True),
    "iam_role_arn": Key(
        pattern(
            _ROLE_ARN_RE,
            "an IAM role ARN (arn:aws:iam::<account>:role/<name>) or null",
            optional=True,
        ),
        None,
    ),
    "reserved_concurrency": Key(_int_range(0, 2**31 - 1, optional=True), None),
    "layers": Key(
        _str_list(
            pattern(
                _LAYER_ARN_RE,
                "a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)",
            )
        ),
        (),
    ),
    "automatic_layer": Key(_check_bool, False),
    "subnet_ids": Key(_str_list(), ()),
    "security_group_ids": Key(_str_list(), ()),
    # The customer managed key of the function's queue or stream: Lambda's poller decrypts with
    # the function's role, so fw grants kms:Decrypt on it (trigger_policy).
    "source_kms_key_arn": Key(
        pattern(
            _KMS_KEY_ARN_RE,
            "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) or null",
            optional=True,
        ),
        None,
    ),
    "tags": Key(_check_tags, {}),
    "xray": Key(_check_bool, False),
    "log_retention_in_days": Key(_check_log_retention, None),
    "runtime": Key(
        pattern(_RUNTIME_RE, "a Python 3 Lambda runtime such as 'python3.12' (python3.9 or later)"),
        RUNTIME_DEFAULT,
    ),
    "architecture": Key(_choice("x86_64", "arm64"), "x86_64"),
}
MERGED_KEYS = ("environment_variables", "tags")

# Keys that describe the stage's REST API, so they cannot differ per function.
STAGE_ONLY_KEYS: dict[str, Key] = {
    "api_gateway_stage": Key(pattern(_API_STAGE_RE, "1 to 128 letters, digits, '-' or '_'"), "api"),
    "api_gateway_endpoint_type": Key(_choice("EDGE", "REGIONAL", "PRIVATE"), "EDGE"),
}
STAGE_KEYS = (*FUNCTION_KEYS, *STAGE_ONLY_KEYS, "lambda_functions")
TOP_KEYS = ("version", "app_name", "stages", *STAGE_KEYS)


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
        spec = FUNCTION_KEYS.get(key) or STAGE_ONLY_KEYS.get(key)
        if key not in allowed:
            if key in STAGE_ONLY_KEYS:
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
    level = _validate_keys(source, path, data, TOP_KEYS if not path else STAGE_KEYS)
    functions_path = _join(path, "lambda_functions")
    functions = _object(source, functions_path, data.get("lambda_functions", {}))
    level["lambda_functions"] = {}
    for name, entry in functions.items():
        entry_path = f"{functions_path}.{name}"
        if not NAME_RE.fullmatch(name):
            raise ConfigError(
                f"{source}: function name {name!r} in {functions_path} may only contain"
                " letters, digits, '-' and '_'"
            )
        entry = _object(source, entry_path, entry)
        level["lambda_functions"][name] = _validate_keys(
            source, entry_path, entry, tuple(FUNCTION_KEYS)
        )
    return level


# Chalice writes "2.0" (its format since functions could be configured per stage), fw "1.0";
# the keys they share mean the same in both.
_VERSIONS = ("1.0", "2.0")


def validate_file(source: str, data: Any, stage: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
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
    app_name = pattern(NAME_RE, "letters, digits, '-' and '_' (it is part of AWS names)")(
        source, "app_name", data["app_name"]
    )
    stages = _object(source, "stages", data.get("stages", {}))
    stage_level: dict[str, Any] = {"lambda_functions": {}}
    if stage in stages:
        stage_level = _validate_level(source, f"stages.{stage}", stages[stage])
    return app_name, top, stage_level


def validate_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    # A None value means the CLI flag was not given, so it overrides nothing.
    given = {key: value for key, value in overrides.items() if value is not None}
    return _validate_keys(_SOURCE_OVERRIDE, "", given, (*FUNCTION_KEYS, *STAGE_ONLY_KEYS))
