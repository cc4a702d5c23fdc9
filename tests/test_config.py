"""Tests for deployer.project.config: defaults, lookup order, merging, and every validation message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployer.errors import ConfigError, FwError
from deployer.project.config import (
    RUNTIME_DEFAULT,
    FunctionConfig,
    StageConfig,
    load_config,
    write_default_config,
)

ROLE = "arn:aws:iam::123456789012:role/my-role"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"


def write(project: Path, data: dict[str, Any]) -> Path:
    (project / ".fw").mkdir(exist_ok=True)
    (project / ".fw" / "config.json").write_text(json.dumps(data), encoding="utf-8")
    return project


def load(tmp_path: Path, data: dict[str, Any], stage: str = "dev", **overrides: Any) -> StageConfig:
    return load_config(write(tmp_path, {"app_name": "app", **data}), stage, overrides=overrides)


# --- defaults and basics ---------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, {})
    assert (config.app_name, config.stage, config.project_dir) == ("app", "dev", tmp_path)
    assert (config.api_gateway_stage, config.api_gateway_endpoint_type) == ("api", "EDGE")
    assert config.function() == FunctionConfig(
        name="api_handler",
        environment_variables={},
        lambda_memory_size=128,
        lambda_timeout=60,
        autogen_policy=True,
        iam_policy_file=None,
        manage_iam_role=True,
        iam_role_arn=None,
        reserved_concurrency=None,
        layers=(),
        automatic_layer=False,
        subnet_ids=(),
        security_group_ids=(),
        source_kms_key_arn=None,
        tags={},
        xray=False,
        log_retention_in_days=None,
        runtime=RUNTIME_DEFAULT,
        architecture="x86_64",
    )


def test_runtime_default_is_local_python() -> None:
    import sys

    assert RUNTIME_DEFAULT == f"python{sys.version_info[0]}.{sys.version_info[1]}"


def test_function_none_means_api_handler(tmp_path: Path) -> None:
    config = load(tmp_path, {"lambda_functions": {"api_handler": {"lambda_timeout": 30}}})
    assert config.function(None).lambda_timeout == 30
    assert config.function("api_handler").lambda_timeout == 30
    assert config.function("worker").lambda_timeout == 60
    assert config.function("worker").name == "worker"


def test_convenience_properties_delegate_to_api_handler(tmp_path: Path) -> None:
    api = {
        "runtime": "python3.12",
        "architecture": "arm64",
        "environment_variables": {"A": "1"},
        "autogen_policy": False,
        "iam_policy_file": "policy.json",
        "manage_iam_role": False,
        "iam_role_arn": ROLE,
        "automatic_layer": True,
        "tags": {"team": "x"},
        "xray": True,
        "layers": [LAYER],
    }
    config = load(tmp_path, {"lambda_functions": {"api_handler": api}})
    for key, value in api.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(config, key) == expected, key


def test_models_are_frozen(tmp_path: Path) -> None:
    config = load(tmp_path, {})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.stage = "prod"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.function().lambda_timeout = 1  # type: ignore[misc]


def test_stage_config_built_directly_uses_defaults(tmp_path: Path) -> None:
    config = StageConfig(
        project_dir=tmp_path,
        app_name="app",
        stage="dev",
        api_gateway_stage="api",
        api_gateway_endpoint_type="EDGE",
    )
    assert config.function("worker").lambda_memory_size == 128


# --- lookup order ----------------------------------------------------------------------------

LEVELS = {
    "top": {"lambda_memory_size": 256},
    "top_function": {"lambda_functions": {"worker": {"lambda_memory_size": 512}}},
    "stage": {"stages": {"dev": {"lambda_memory_size": 1024}}},
    "stage_function": {
        "stages": {"dev": {"lambda_functions": {"worker": {"lambda_memory_size": 2048}}}}
    },
}


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge config fragments so each case can stack levels."""
    result: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = _merge(result[key], value)
            else:
                result[key] = value
    return result


@pytest.mark.parametrize(
    ("levels", "override", "expected"),
    [
        ([], None, 128),
        (["top"], None, 256),
        (["top", "top_function"], None, 512),
        (["top", "top_function", "stage"], None, 1024),
        (["top", "top_function", "stage", "stage_function"], None, 2048),
        (["top", "top_function", "stage", "stage_function"], 4096, 4096),
        (["stage"], None, 1024),
        (["top_function", "stage"], None, 1024),
    ],
    ids=[
        "default",
        "top-level",
        "top-level-function",
        "stage",
        "stage-function",
        "override",
        "stage-alone",
        "stage-beats-top-function",
    ],
)
def test_lookup_level_wins(
    tmp_path: Path, levels: list[str], override: int | None, expected: int
) -> None:
    data = _merge(*(LEVELS[name] for name in levels))
    config = load(tmp_path, data, lambda_memory_size=override)
    assert config.function("worker").lambda_memory_size == expected


def test_function_overrides_only_apply_to_that_function(tmp_path: Path) -> None:
    config = load(tmp_path, LEVELS["top_function"])
    assert config.function("worker").lambda_memory_size == 512
    assert config.function("other").lambda_memory_size == 128
    assert config.function().lambda_memory_size == 128


def test_stage_not_named_in_file_uses_top_level(tmp_path: Path) -> None:
    data = {"lambda_timeout": 10, "stages": {"dev": {"lambda_timeout": 20}}}
    assert load(tmp_path, data, stage="prod").function().lambda_timeout == 10
    assert load(tmp_path, data, stage="dev").function().lambda_timeout == 20


def test_stage_only_keys_resolve_by_stage(tmp_path: Path) -> None:
    data = {
        "api_gateway_endpoint_type": "REGIONAL",
        "stages": {"prod": {"api_gateway_stage": "v1"}},
    }
    prod = load(tmp_path, data, stage="prod")
    assert (prod.api_gateway_stage, prod.api_gateway_endpoint_type) == ("v1", "REGIONAL")
    dev = load(tmp_path, data, stage="dev", api_gateway_stage="test")
    assert dev.api_gateway_stage == "test"


def test_none_override_means_flag_not_given(tmp_path: Path) -> None:
    config = load(tmp_path, {"lambda_timeout": 30}, lambda_timeout=None)
    assert config.function().lambda_timeout == 30


def test_override_applies_to_every_function(tmp_path: Path) -> None:
    config = load(tmp_path, LEVELS["top_function"], xray=True)
    assert config.function("worker").xray and config.function().xray


# --- merging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["environment_variables", "tags"], ids=["env", "tags"])
def test_dicts_merge_across_levels(tmp_path: Path, key: str) -> None:
    data = {
        key: {"A": "top", "B": "top", "C": "top", "D": "top"},
        "lambda_functions": {"worker": {key: {"B": "top-fn"}}},
        "stages": {
            "dev": {
                key: {"C": "stage"},
                "lambda_functions": {"worker": {key: {"D": "stage-fn"}}},
            }
        },
    }
    config = load(tmp_path, data, **{key: {"E": "flag"}})
    assert getattr(config.function("worker"), key) == {
        "A": "top",
        "B": "top-fn",
        "C": "stage",
        "D": "stage-fn",
        "E": "flag",
    }
    assert getattr(config.function(), key) == {
        "A": "top",
        "B": "top",
        "C": "stage",
        "D": "top",
        "E": "flag",
    }


def test_lists_override_rather_than_merge(tmp_path: Path) -> None:
    other = LAYER.replace("deps:3", "other:1")
    data = {"layers": [LAYER], "stages": {"dev": {"layers": [other]}}}
    assert load(tmp_path, data).function().layers == (other,)


# --- validation messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lambda_memroy_size": 256}, "unknown key 'lambda_memroy_size'; did you mean 'lambda_memory_size'?"),
        ({"stages": {"dev": {"enviroment_variables": {}}}},
         "unknown key 'stages.dev.enviroment_variables'; did you mean 'environment_variables'?"),
        ({"lambda_functions": {"f": {"timeout": 3}}},
         "unknown key 'lambda_functions.f.timeout'; did you mean 'lambda_timeout'?"),
        ({"zzz": 1}, "unknown key 'zzz'; valid keys are version, app_name"),
    ],
    ids=["top-level", "in-stage", "in-function", "no-close-match"],
)  # fmt: skip
def test_unknown_key_suggestion(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match="^.fw/config.json: ") as err:
        load(tmp_path, data)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lambda_memory_size": 64}, "invalid lambda_memory_size 64; it must be an integer from 128 to 10240"),
        ({"lambda_memory_size": 10241}, "invalid lambda_memory_size 10241; it must be an integer from 128 to 10240"),
        ({"lambda_memory_size": "256"}, "invalid lambda_memory_size '256'; it must be an integer from 128 to 10240"),
        ({"lambda_timeout": 0}, "invalid lambda_timeout 0; it must be an integer from 1 to 900"),
        ({"lambda_timeout": True}, "invalid lambda_timeout True; it must be an integer from 1 to 900"),
        ({"stages": {"dev": {"lambda_timeout": 901}}},
         "invalid stages.dev.lambda_timeout 901; it must be an integer from 1 to 900"),
        ({"lambda_functions": {"f": {"lambda_timeout": 1000}}},
         "invalid lambda_functions.f.lambda_timeout 1000; it must be an integer from 1 to 900"),
        ({"autogen_policy": "yes"}, "invalid autogen_policy 'yes'; it must be true or false"),
        ({"xray": 1}, "invalid xray 1; it must be true or false"),
        ({"iam_policy_file": 3}, "invalid iam_policy_file 3; it must be a non-empty string or null"),
        ({"iam_role_arn": "my-role"}, "invalid iam_role_arn 'my-role'; it must be an IAM role ARN"),
        ({"reserved_concurrency": -1}, "invalid reserved_concurrency -1; it must be an integer from 0 to"),
        ({"layers": "arn"}, "invalid layers 'arn'; it must be a list of strings"),
        ({"layers": [LAYER, 5]}, "invalid layers[1] 5; it must be a non-empty string"),
        ({"layers": ["arn:aws:lambda:us-east-1:1:layer:x"]}, "invalid layers[0] 'arn:aws:lambda:us-east-1:1:layer:x'; it must be a layer"),
        ({"subnet_ids": "subnet-1"}, "invalid subnet_ids 'subnet-1'; it must be a list of strings"),
        ({"environment_variables": ["A"]}, "invalid environment_variables ['A']; it must be an object of"),
        ({"environment_variables": {"1A": "x"}}, "invalid variable name '1A'"),
        ({"environment_variables": {"A-B": "x"}}, "invalid variable name 'A-B'"),
        ({"environment_variables": {"AWS_REGION": "x"}}, "sets 'AWS_REGION', which Lambda reserves"),
        ({"environment_variables": {"PORT": 80}},
         "invalid environment_variables.PORT 80; it must be a string (quote numbers and booleans)"),
        ({"environment_variables": {"BIG": "x" * 4096}}, "over Lambda's 4 KB limit"),
        ({"tags": {"aws:owner": "x"}}, "invalid tag key 'aws:owner'"),
        ({"tags": {"team": 1}}, "invalid tags.team 1; it must be a string of at most 256 characters"),
        ({"api_gateway_stage": "my stage"}, "invalid api_gateway_stage 'my stage'; it must be 1 to 128 letters"),
        ({"api_gateway_endpoint_type": "edge"},
         "invalid api_gateway_endpoint_type 'edge'; it must be one of 'EDGE', 'REGIONAL', 'PRIVATE'"),
        ({"log_retention_in_days": 10}, "invalid log_retention_in_days 10; it must be null or one of CloudWatch"),
        ({"runtime": "python2.7"}, "invalid runtime 'python2.7'; it must be a Python 3 Lambda runtime such as 'python3.12'"),
        ({"runtime": "nodejs20.x"}, "invalid runtime 'nodejs20.x'"),
        ({"architecture": "aarch64"}, "invalid architecture 'aarch64'; it must be one of 'x86_64', 'arm64'"),
        ({"version": "3.0"}, "invalid version '3.0'; it must be '1.0' or '2.0'"),
        ({"app_name": "my app"}, "invalid app_name 'my app'; it must be letters, digits, '-' and '_'"),
        ({"app_name": 7}, "invalid app_name 7; it must be letters, digits, '-' and '_' (it is part of AWS names)"),
        ({"stages": []}, "invalid stages []; it must be an object"),
        ({"stages": {"dev": 1}}, "invalid stages.dev 1; it must be an object"),
        ({"lambda_functions": {"my fn": {}}}, "function name 'my fn' in lambda_functions may only"),
        ({"lambda_functions": {"f": {"api_gateway_stage": "v1"}}},
         "'lambda_functions.f.api_gateway_stage' applies to the whole stage"),
        ({"stages": {"dev": {"lambda_functions": {"f": {"api_gateway_endpoint_type": "EDGE"}}}}},
         "'stages.dev.lambda_functions.f.api_gateway_endpoint_type' applies to the whole stage"),
        ({"subnet_ids": ["subnet-1"]}, "sets only one of subnet_ids and security_group_ids"),
        ({"stages": {"dev": {"lambda_functions": {"f": {"security_group_ids": ["sg-1"]}}}}},
         "function 'f' in stage 'dev' sets only one of subnet_ids and security_group_ids"),
        ({"source_kms_key_arn": "alias/aws/sqs"},
         "invalid source_kms_key_arn 'alias/aws/sqs'; it must be a KMS key ARN"),
    ],
    ids=[
        "memory-low", "memory-high", "memory-string", "timeout-zero", "timeout-bool",
        "timeout-in-stage", "timeout-in-function", "autogen-string", "xray-int",
        "policy-file-int", "role-arn-shape", "concurrency-negative", "layers-not-list",
        "layers-item-type", "layers-item-arn", "subnets-not-list", "env-not-object",
        "env-name-digit", "env-name-dash", "env-reserved", "env-value-int", "env-too-big",
        "tag-aws-prefix", "tag-value-int", "api-stage-space", "endpoint-type-case",
        "log-retention", "runtime-py2", "runtime-node", "architecture", "version",
        "app-name-space", "app-name-int", "stages-list", "stage-not-object",
        "function-name", "stage-only-in-function", "stage-only-in-stage-function",
        "vpc-half", "vpc-half-in-stage-function", "kms-alias",
    ],
)  # fmt: skip
def test_validation_error(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_manage_iam_role_false_needs_role_arn(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="manage_iam_role false but no iam_role_arn"):
        load(tmp_path, {"manage_iam_role": False})
    config = load(tmp_path, {"manage_iam_role": False, "iam_role_arn": ROLE})
    assert (config.manage_iam_role, config.iam_role_arn) == (False, ROLE)


def test_role_arn_can_come_from_another_level(tmp_path: Path) -> None:
    data = {"iam_role_arn": ROLE, "stages": {"dev": {"manage_iam_role": False}}}
    assert load(tmp_path, data).function().iam_role_arn == ROLE


OTHER_STAGE_PROBLEMS = {
    "ci-placeholder": {"manage_iam_role": False, "iam_role_arn": "${IAM_ROLE_ARN}"},
    "cross-key": {"lambda_functions": {"f": {"manage_iam_role": False}}},
    "bad-type": {"lambda_timeout": "60"},
    "typo": {"lambda_timout": 60},
    "not-an-object": [],
}


@pytest.mark.parametrize("problem", OTHER_STAGE_PROBLEMS.values(), ids=OTHER_STAGE_PROBLEMS)
def test_only_the_used_stage_is_validated(tmp_path: Path, problem: Any) -> None:
    data = {"stages": {"dev": {"lambda_timeout": 30}, "prod": problem, "bad name": 1}}
    assert load(tmp_path, data, stage="dev").function().lambda_timeout == 30
    with pytest.raises(ConfigError) as err:
        load(tmp_path, data, stage="prod")
    assert "stages.prod" in str(err.value) or "stage 'prod'" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_ci_placeholder_in_the_used_stage_is_named(tmp_path: Path) -> None:
    data = {"stages": {"prod": {"manage_iam_role": False, "iam_role_arn": "${IAM_ROLE_ARN}"}}}
    with pytest.raises(ConfigError) as err:
        load(tmp_path, data, stage="prod")
    assert str(err.value) == (
        ".fw/config.json: invalid stages.prod.iam_role_arn '${IAM_ROLE_ARN}' (it looks like a"
        " placeholder your CI did not substitute); it must be an IAM role ARN"
        " (arn:aws:iam::<account>:role/<name>) or null"
    )


def test_top_level_values_are_validated_as_part_of_every_stage(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid lambda_timeout 0"):
        load(tmp_path, {"lambda_timeout": 0, "stages": {"dev": {"lambda_timeout": 30}}})


def test_missing_app_name(tmp_path: Path) -> None:
    write(tmp_path, {"version": "1.0"})
    with pytest.raises(ConfigError, match="'app_name' is missing"):
        load_config(tmp_path)


def test_top_level_must_be_object(tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text("[1]")
    with pytest.raises(ConfigError, match=r"invalid top level \[1\]; it must be a JSON object"):
        load_config(tmp_path)


@pytest.mark.parametrize("stage", ["my stage", "", "a/b"], ids=["space", "empty", "slash"])
def test_bad_requested_stage_name(tmp_path: Path, stage: str) -> None:
    with pytest.raises(ConfigError, match=f"invalid stage name {stage!r}"):
        load(tmp_path, {}, stage=stage)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"lambda_timeout": 0},
            "command-line option: invalid lambda_timeout 0; it must be an integer",
        ),
        ({"lambda_tmeout": 3}, "unknown key 'lambda_tmeout'; did you mean 'lambda_timeout'?"),
        ({"manage_iam_role": False}, "manage_iam_role false but no iam_role_arn"),
    ],
    ids=["bad-value", "unknown-key", "cross-key"],
)
def test_bad_override(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, {}, **overrides)
    assert message in str(err.value)


# The file is the same for every example, so sharing tmp_path across examples is safe.
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(memory=st.integers(min_value=-(2**40), max_value=2**40) | st.integers(0, 11000))
def test_memory_accepted_exactly_in_lambda_range(tmp_path: Path, memory: int) -> None:
    write(tmp_path, {"app_name": "app"})
    if 128 <= memory <= 10240:
        config = load_config(tmp_path, overrides={"lambda_memory_size": memory})
        assert config.function().lambda_memory_size == memory
    else:
        with pytest.raises(ConfigError, match=f"invalid lambda_memory_size {memory}; "):
            load_config(tmp_path, overrides={"lambda_memory_size": memory})


# --- reading and writing the file ------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (
        f"no .fw/config.json (or Chalice's .chalice/config.json) in {str(tmp_path)!r}:"
        " run 'fw new-project' or create it"
    )
    assert isinstance(err.value, FwError) and err.value.exit_code != 0


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{"app_name": "app",}', "line 1:20"),
        ('{\n  "app_name": "app"\n  "stages": {}\n}', "line 3:3"),
        ("", "line 1:1"),
    ],
    ids=["trailing-comma", "missing-comma", "empty"],
)
def test_bad_json(tmp_path: Path, text: str, position: str) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(text)
    with pytest.raises(ConfigError, match=f"^.fw/config.json is not valid JSON at {position}: "):
        load_config(tmp_path)


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"app_name": "a", "app_name": "b"}')
    with pytest.raises(ConfigError, match="key 'app_name' appears twice"):
        load_config(tmp_path)


def test_write_default_config_round_trips(tmp_path: Path) -> None:
    path = write_default_config(tmp_path, "my-app")
    assert path == tmp_path / ".fw" / "config.json"
    assert json.loads(path.read_text()) == {
        "version": "1.0",
        "app_name": "my-app",
        "stages": {"dev": {"api_gateway_stage": "api"}},
    }
    assert path.read_text().startswith('{\n  "version"')
    config = load_config(tmp_path)
    assert (config.app_name, config.stage, config.api_gateway_stage) == ("my-app", "dev", "api")


def test_write_default_config_rejects_bad_app_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid app_name 'my app'; it must be letters"):
        write_default_config(tmp_path, "my app")
    assert not (tmp_path / ".fw").exists()


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("memory", "lambda_memory_size"), ("env", "environment_variables"), ("retention", "log_retention_in_days")],
    ids=["memory", "env", "retention"],
)  # fmt: skip
def test_unknown_key_that_is_part_of_one_key_suggests_it(
    tmp_path: Path, key: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, {"lambda_functions": {"f": {key: 1}}})
    assert str(err.value).endswith(
        f"unknown key 'lambda_functions.f.{key}'; did you mean {suggestion!r}?"
    )


@pytest.mark.parametrize("runtime", ["python3.6", "python3.8"])
def test_runtime_lambda_no_longer_offers_is_refused(tmp_path: Path, runtime: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, {"runtime": runtime})
    assert f"invalid runtime {runtime!r}; it must be a Python 3 Lambda runtime" in str(err.value)


def test_current_runtimes_are_accepted(tmp_path: Path) -> None:
    for runtime in ("python3.9", "python3.13", "python3.14"):
        assert load(tmp_path, {"runtime": runtime}).runtime == runtime
