"""A Chalice project's ``.chalice/config.json``, read by fw: keys, warnings, policy files, the test
client, and the CLI-mode variables every command that imports the app sets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import pytest
from chalice.config import Config as ChaliceConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from deployer.errors import ConfigError
from deployer.package.check import runs_here
from deployer.project.chalice_layout import CHALICE_UNSUPPORTED, new_command
from deployer.project.config import load_config
from microframework import App
from microframework.testing import Client

ROLE = "arn:aws:iam::123456789012:role/my-role"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def chalice_project(root: Path, config: dict[str, Any], app: str | None = None) -> Path:
    (root / ".chalice").mkdir(parents=True, exist_ok=True)
    (root / ".chalice" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if app is not None:
        (root / "app.py").write_text(app, encoding="utf-8")
    return root


@attrs.frozen
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> Result:
    """``fw`` as the console script runs it: errors are one line on stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["--project-dir", str(project), *args])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return Result(int(info.value.code or 0), out, err)


# --- the file and its versions -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.0", "1.0", 2.0, None], ids=["2.0", "1.0", "number", "none"])
def test_chalice_versions_are_read(tmp_path: Path, version: Any) -> None:
    data = {"app_name": "shop", "stages": {"dev": {"api_gateway_stage": "v1"}}}
    if version is not None:
        data["version"] = version
    config = load_config(chalice_project(tmp_path, data), "dev")
    assert (config.app_name, config.api_gateway_stage) == ("shop", "v1")
    assert config.config_dir == tmp_path / ".chalice"


def test_errors_name_the_chalice_file(tmp_path: Path) -> None:
    chalice_project(tmp_path, {"app_name": "shop", "version": "3.0"})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (
        ".chalice/config.json: invalid version '3.0'; it must be '1.0' or '2.0'"
    )


def test_fw_layout_wins_with_a_one_line_note_once_per_command(tmp_path: Path, capsys) -> None:
    chalice_project(tmp_path, {"app_name": "from-chalice"})
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"app_name": "from-fw"}')
    new_command()
    assert load_config(tmp_path).app_name == "from-fw"
    assert load_config(tmp_path).app_name == "from-fw"
    assert capsys.readouterr().err == (
        "Note: fw reads .fw/config.json and not .chalice/config.json, since both exist\n"
    )
    new_command()
    load_config(tmp_path)
    assert capsys.readouterr().err.count("Note: ") == 1


# --- keys fw shares with Chalice behave as Chalice's --------------------------------------------

ORACLE: dict[str, Any] = {
    "version": "2.0",
    "app_name": "shop",
    "environment_variables": {"A": "top", "B": "top"},
    "tags": {"team": "a"},
    "lambda_memory_size": 256,
    "lambda_timeout": 30,
    "xray": True,
    "reserved_concurrency": None,
    "layers": [LAYER],
    "log_retention_in_days": 14,
    "api_gateway_stage": "v1",
    "lambda_architecture": "arm64",
    "subnet_ids": ["subnet-1"],
    "security_group_ids": ["sg-1"],
    "autogen_policy": True,
    "stages": {
        "dev": {
            "environment_variables": {"B": "dev", "C": "dev"},
            "tags": {"env": "dev"},
            "lambda_timeout": None,
            "lambda_memory_size": 512,
            "api_gateway_endpoint_type": "REGIONAL",
            "automatic_layer": True,
            "lambda_functions": {
                "worker": {
                    "lambda_timeout": 120,
                    "environment_variables": {"C": "worker"},
                    "reserved_concurrency": 2,
                    "manage_iam_role": False,
                    "iam_role_arn": ROLE,
                    "xray": None,
                    "tags": {"fn": "w"},
                    "autogen_policy": False,
                    "iam_policy_file": "worker.json",
                },
                "api_handler": {"lambda_memory_size": 1024, "layers": []},
            },
        },
        "prod": {"manage_iam_role": False, "iam_role_arn": "${IAM_ROLE_ARN}"},
    },
    "lambda_functions": {"worker": {"lambda_memory_size": 2048, "log_retention_in_days": 30}},
}
# fw's name -> Chalice's Config property.
SHARED = {
    "environment_variables": "environment_variables",
    "tags": "tags",
    "lambda_memory_size": "lambda_memory_size",
    "lambda_timeout": "lambda_timeout",
    "xray": "xray_enabled",
    "reserved_concurrency": "reserved_concurrency",
    "layers": "layers",
    "log_retention_in_days": "log_retention_in_days",
    "architecture": "lambda_architecture",
    "subnet_ids": "subnet_ids",
    "security_group_ids": "security_group_ids",
    "autogen_policy": "autogen_policy",
    "iam_role_arn": "iam_role_arn",
    "manage_iam_role": "manage_iam_role",
    "automatic_layer": "automatic_layer",
}
FW_DEFAULTS = {"lambda_memory_size": 128, "lambda_timeout": 60, "xray": False, "layers": ()}


@pytest.mark.parametrize("function", ["api_handler", "worker", "other"])
def test_shared_keys_resolve_as_chalice_resolves_them(tmp_path: Path, function: str) -> None:
    fw = load_config(chalice_project(tmp_path, ORACLE), "dev").function(function)
    chalice = ChaliceConfig(chalice_stage="dev", function_name=function, config_from_disk=ORACLE)
    for fw_key, chalice_key in SHARED.items():
        expected = getattr(chalice, chalice_key)
        if fw_key == "tags":
            expected = {k: v for k, v in expected.items() if k != "aws-chalice"}
        if expected is None:
            expected = FW_DEFAULTS.get(fw_key)
        actual = getattr(fw, fw_key)
        assert (list(actual) if isinstance(actual, tuple) else actual) == (
            list(expected) if isinstance(expected, tuple) else expected
        ), fw_key
    stage = load_config(tmp_path, "dev")
    assert stage.api_gateway_stage == chalice.api_gateway_stage
    assert stage.api_gateway_endpoint_type == chalice.api_gateway_endpoint_type


# --- keys fw does not support, or does not know -------------------------------------------------


@pytest.mark.parametrize("key", sorted(CHALICE_UNSUPPORTED))
def test_unsupported_chalice_keys_are_warned_once_by_name(tmp_path: Path, capsys, key: str) -> None:
    data = {"app_name": "shop", key: {"x": 1}, "stages": {"dev": {key: "v"}}}
    chalice_project(tmp_path, data)
    new_command()
    load_config(tmp_path, "dev")
    load_config(tmp_path, "dev")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"Warning: .chalice/config.json: {where} is a Chalice setting fw does not support yet;"
        f" ignored ({CHALICE_UNSUPPORTED[key]})"
        for where in (key, f"stages.dev.{key}")
    ]


def test_unknown_keys_are_warned_not_fatal_in_the_chalice_layout(tmp_path: Path, capsys) -> None:
    data = {
        "app_name": "shop",
        "stages": {
            "dev": {
                "lambda_timout": 3,
                "IOT_ENDPOINT": "x",
                "lambda_functions": {"f": {"api_gateway_stage": "v2"}},
            }
        },
    }
    new_command()
    config = load_config(chalice_project(tmp_path, data), "dev")
    assert config.function("f").lambda_timeout == 60
    assert config.api_gateway_stage == "api"
    assert capsys.readouterr().err.splitlines() == [
        "Warning: .chalice/config.json: stages.dev.lambda_timout is not a Chalice or fw setting;"
        " ignored, as Chalice ignores it; did you mean 'lambda_timeout'?",
        "Warning: .chalice/config.json: stages.dev.IOT_ENDPOINT is not a Chalice or fw setting;"
        " ignored, as Chalice ignores it",
        "Warning: .chalice/config.json: stages.dev.lambda_functions.f.api_gateway_stage is"
        " ignored: it applies to the whole stage (Chalice ignores it here too); set it on the"
        " stage or at the top level",
    ]


def test_top_level_function_variables_apply_with_a_warning(tmp_path: Path, capsys) -> None:
    data = {"app_name": "shop", "lambda_functions": {"f": {"environment_variables": {"A": "1"}}}}
    new_command()
    config = load_config(chalice_project(tmp_path, data), "dev")
    assert config.function("f").environment_variables == {"A": "1"}
    assert "lambda_functions.f.environment_variables applies in fw, where Chalice ignores it" in (
        capsys.readouterr().err
    )


def test_warnings_go_to_stderr_once_per_cli_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = "from microframework import App\napp = App('shop')\n"
    project = chalice_project(tmp_path, {"app_name": "shop", "minimum_compression_size": 100}, app)
    for _ in range(2):  # a second command warns again
        result = run(capsys, project, "gen-policy")
        assert result.exit_code == 0, result.stdout + result.stderr
        assert result.stderr.count("minimum_compression_size") == 1
        assert "minimum_compression_size" not in result.stdout


# --- only the stage in use is validated ---------------------------------------------------------

HELLO = "from microframework import App\napp = App('shop')\n\n@app.route('/')\ndef index():\n    return {}\n"


@pytest.mark.parametrize(
    "prod",
    [
        {"manage_iam_role": False, "iam_role_arn": "${IAM_ROLE_ARN}"},
        {"lambda_memory_size": "${MEMORY}"},
        {"environment_variables": {"AWS_REGION": "x"}},
        {"lambda_functions": {"f": {"subnet_ids": ["s"]}}},
    ],
    ids=["role-placeholder", "memory-placeholder", "reserved-variable", "half-vpc"],
)
def test_another_stages_bad_value_never_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prod: dict[str, Any]
) -> None:
    data = {"version": "2.0", "app_name": "shop", "stages": {"dev": {}, "prod": prod}}
    project = chalice_project(tmp_path, data, HELLO)
    assert run(capsys, project, "package", "--stage", "dev", str(tmp_path / "out")).exit_code == 0
    assert run(capsys, project, "gen-policy", "--stage", "dev").exit_code == 0
    result = run(capsys, project, "package", "--stage", "prod", str(tmp_path / "out2"))
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("Error: .chalice/config.json: ") and "prod" in message
    assert "\n" not in message and "Traceback" not in (result.stdout + result.stderr)


# --- policy files beside the config file -------------------------------------------------------


def test_policy_stage_json_is_the_default_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {"app_name": "shop", "stages": {"prod": {"autogen_policy": False}}}
    project = chalice_project(tmp_path, data, HELLO)
    (project / ".chalice" / "policy-prod.json").write_text(json.dumps(POLICY))
    result = run(capsys, project, "gen-policy", "--stage", "prod")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == POLICY
    assert load_config(project, "prod").function().iam_policy_file == "policy-prod.json"
    missing = run(capsys, project, "gen-policy", "--stage", "other")
    assert missing.exit_code == 0  # autogen for a stage that does not say otherwise
    (project / ".chalice" / "policy-prod.json").unlink()
    result = run(capsys, project, "gen-policy", "--stage", "prod")
    assert result.exit_code == 1
    assert "policy-prod.json' does not exist" in result.stderr
    assert str(project / ".chalice" / "policy-prod.json") in result.stderr
    assert "read from policy-<stage>.json beside the config, as Chalice does" in result.stderr


def test_policy_file_per_function_and_autogen_as_in_chalice(tmp_path: Path) -> None:
    # Chalice reads iam_policy_file only when autogen_policy is false (appgraph's role rule).
    data = {
        "app_name": "shop",
        "iam_policy_file": "shared.json",
        "stages": {
            "prod": {
                "autogen_policy": False,
                "lambda_functions": {"worker": {"iam_policy_file": "worker.json"}},
            }
        },
    }
    project = chalice_project(tmp_path, data, HELLO)
    dev = load_config(project, "dev").function()
    assert (dev.autogen_policy, dev.iam_policy_file) == (True, None)
    prod = load_config(project, "prod")
    assert prod.function().iam_policy_file == "shared.json"
    assert prod.function("worker").iam_policy_file == "worker.json"


def test_fw_layout_defaults_to_policy_stage_json_in_fw_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".fw").mkdir()
    data = {"app_name": "shop", "autogen_policy": False}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(data))
    (tmp_path / ".fw" / "policy-dev.json").write_text(json.dumps(POLICY))
    (tmp_path / "app.py").write_text(HELLO)
    result = run(capsys, tmp_path, "gen-policy")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == POLICY


# --- the test client ------------------------------------------------------------------------


def test_the_test_client_reads_the_chalice_config(tmp_path: Path) -> None:
    data = {
        "version": "2.0",
        "app_name": "shop",
        "environment_variables": {"TABLE": "top"},
        "stages": {
            "dev": {"api_gateway_stage": "v1"},
            "prod": {"api_gateway_stage": "live", "environment_variables": {"TABLE": "prod"}},
        },
    }
    chalice_project(tmp_path, data)
    app = App("shop")

    @app.route("/")
    def index() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        return {"stage": request.context["stage"], "table": os.environ.get("TABLE")}

    for stage, expected in (("dev", ["v1", "top"]), ("prod", ["live", "prod"])):
        body = Client(app, stage_name=stage, project_dir=str(tmp_path)).http.get("/").json_body
        assert [body["stage"], body["table"]] == expected
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"app_name": "shop"}')
    body = Client(app, project_dir=str(tmp_path)).http.get("/").json_body
    assert body["stage"] == "api"  # .fw/ wins, as for fw deploy


# --- AWS_CHALICE_CLI_MODE while a command imports the app ---------------------------------------

PROBE = """\
import json
import os

from microframework import App

app = App("probe")
MODES = ("AWS_CHALICE_CLI_MODE", "FW_CLI_MODE")
with open(os.environ["PROBE_FILE"], "a") as probe:
    probe.write(json.dumps([os.environ.get(name) for name in MODES]) + "\\n")


@app.route("/")
def index():
    return {"modes": [os.environ.get(name) for name in MODES]}


@app.lambda_function()
def job(event, context):
    return [os.environ.get(name) for name in MODES]
"""


def probe_project(tmp_path: Path) -> tuple[Path, Path]:
    probe = tmp_path / "probe.jsonl"
    data = {
        "version": "2.0",
        "app_name": "probe",
        "environment_variables": {"PROBE_FILE": str(probe)},
    }
    return chalice_project(tmp_path / "p", data, PROBE), probe


def imports(probe: Path) -> list[list[str | None]]:
    lines = probe.read_text().splitlines() if probe.exists() else []
    probe.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


CLI = ["true", "true"]


def test_commands_that_import_the_app_set_cli_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, probe = probe_project(tmp_path)
    assert "AWS_CHALICE_CLI_MODE" not in os.environ

    result = run(capsys, project, "gen-policy")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert imports(probe) == [CLI]

    (tmp_path / "event.json").write_text("{}")
    result = run(
        capsys, project, "invoke", "job", "--local", "--event", str(tmp_path / "event.json")
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == CLI  # while the handler runs too
    assert imports(probe) == [CLI]

    result = run(capsys, project, "package", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stdout + result.stderr
    seen = imports(probe)
    assert seen[0] == CLI
    # The package check imports the app as Lambda will, where neither variable is set.
    function = load_config(project).function()
    if runs_here(function.runtime, function.architecture):
        assert seen[1:] == [[None, None]]
    assert "AWS_CHALICE_CLI_MODE" not in os.environ and "FW_CLI_MODE" not in os.environ


# --- any file: a config error or a config, never a crash ---------------------------------------

_KEYS = sorted({*SHARED, *CHALICE_UNSUPPORTED, "lambda_architecture", "api_gateway_stage",
                "api_gateway_endpoint_type", "iam_policy_file", "runtime", "lambda_functions",
                "stages", "x"})  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20000) | st.sampled_from(["", "x", "arm64", ROLE]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(top=st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=5), dev=_JSON)
def test_any_chalice_config_is_a_config_or_one_line(tmp_path: Path, top: Any, dev: Any) -> None:
    data = {**top, "app_name": "shop", "version": "2.0", "stages": {"dev": dev}}
    chalice_project(tmp_path, data)
    try:
        config = load_config(tmp_path, "dev")
    except ConfigError as err:
        assert str(err).startswith(".chalice/config.json: ") and "\n" not in str(err)
    else:
        config.function("worker")
