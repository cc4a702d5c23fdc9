"""``fw package`` through the CLI: the files it writes and how it fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from _dists import make_wheel, write_requirements
from click.testing import CliRunner

from cli.main import cli, main
from deployer.errors import ConfigError
from deployer.package.build import build_package

APP = """\
import boto3
from microframework import App

app = App("demo")
s3 = boto3.client("s3")


@app.route("/items/{item_id}", cors=True)
def item(item_id):
    return s3.get_object(Bucket="b", Key=item_id)


@app.on_sqs_message(queue="jobs")
def job(event):
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    (root / ".fw").mkdir(parents=True)
    (root / "app.py").write_text(APP)
    config = {"version": "1.0", "app_name": "demo", "stages": {"dev": {"api_gateway_stage": "v1"}}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    return root


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["--project-dir", str(project), "package", *args])


def test_writes_zip_and_json_template(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(project, str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["deployment.zip", "sam.json"]
    template = json.loads((out / "sam.json").read_text())
    handler = template["Resources"]["APIHandler"]["Properties"]
    assert handler["CodeUri"] == "./deployment.zip"
    assert template["Resources"]["RestAPI"]["Properties"]["StageName"] == "v1"
    assert "Job" in template["Resources"]
    assert f"Wrote {out / 'sam.json'}" in result.output


def test_zip_is_the_one_build_package_writes(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(project, str(out)).exit_code == 0
    direct = build_package(project, tmp_path / "direct", runtime=_runtime(out))
    assert (out / "deployment.zip").read_bytes() == direct.function_zip.path.read_bytes()


def test_policy_comes_from_the_app_source(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(project, str(out)).exit_code == 0
    template = json.loads((out / "sam.json").read_text())
    (policy,) = template["Resources"]["APIHandler"]["Properties"]["Policies"]
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert "s3:GetObject" in actions


def test_yaml_template(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(project, "--template-format", "yaml", "--stage", "prod", str(out))
    assert result.exit_code == 0, result.output
    template = yaml.safe_load((out / "sam.yaml").read_text())
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert not (out / "sam.json").exists()


def test_automatic_layer_writes_the_layer_zip(project: Path, tmp_path: Path) -> None:
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    config = json.loads((project / ".fw" / "config.json").read_text())
    config["automatic_layer"] = True
    (project / ".fw" / "config.json").write_text(json.dumps(config))
    out = tmp_path / "out"
    result = run(project, str(out))
    assert result.exit_code == 0, result.output
    assert (out / "layer-deployment.zip").is_file()
    template = json.loads((out / "sam.json").read_text())
    layer = template["Resources"]["ManagedLayer"]["Properties"]
    assert layer["ContentUri"] == "./layer-deployment.zip"
    assert {"Ref": "ManagedLayer"} in template["Resources"]["Job"]["Properties"]["Layers"]


def test_s3_handler_gets_a_note(project: Path, tmp_path: Path) -> None:
    source = (project / "app.py").read_text()
    source += "\n\n@app.on_s3_event('uploads')\ndef uploaded(event):\n    pass\n"
    (project / "app.py").write_text(source)
    result = CliRunner().invoke(
        cli, ["--project-dir", str(project), "package", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "Note: the template cannot subscribe 'uploaded' to the existing bucket 'uploads'" in (
        result.stderr
    )


def test_bad_template_format_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    result = run(project, "--template-format", "xml", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "'xml' is not one of 'json', 'yaml'" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_stage_fails_before_writing(project: Path, tmp_path: Path) -> None:
    result = run(project, "--stage", "no such stage", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert not (tmp_path / "out").exists()


def test_errors_print_one_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app.py").unlink()
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-dir", str(project), "package", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: no app.py")
    assert err.count("\n") == 1


def _runtime(out: Path) -> str:
    template = json.loads((out / "sam.json").read_text())
    return template["Resources"]["APIHandler"]["Properties"]["Runtime"]


def _set_config(project: Path, **values: object) -> None:
    config = json.loads((project / ".fw" / "config.json").read_text())
    config.update(values)
    (project / ".fw" / "config.json").write_text(json.dumps(config))


def test_a_function_on_another_architecture_with_requirements_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pip installs requirements for one architecture: one zip cannot serve x86_64 and arm64.
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    _set_config(project, lambda_functions={"job": {"architecture": "arm64"}})
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-dir", str(project), "package", str(tmp_path / "out")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'job' runs on python" in err and "/arm64" in err and "'api_handler'" in err
    assert not (tmp_path / "out" / "deployment.zip").exists()


def test_functions_that_all_override_the_target_get_a_zip_built_for_it(
    project: Path, tmp_path: Path
) -> None:
    (project / "app.py").write_text(APP.replace('@app.route("/items/{item_id}", cors=True)', ""))
    make_wheel(project / "wheels", "purepkg")
    write_requirements(project, "purepkg")
    _set_config(project, automatic_layer=True, lambda_functions={"job": {"architecture": "arm64"}})
    out = tmp_path / "out"
    result = run(project, str(out))
    assert result.exit_code == 0, result.output
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    assert resources["Job"]["Properties"]["Architectures"] == ["arm64"]
    assert resources["ManagedLayer"]["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_without_requirements_functions_may_differ_in_runtime(
    project: Path, tmp_path: Path
) -> None:
    _set_config(project, lambda_functions={"job": {"runtime": "python3.9"}})
    out = tmp_path / "out"
    result = run(project, str(out))
    assert result.exit_code == 0, result.output
    resources = json.loads((out / "sam.json").read_text())["Resources"]
    assert resources["Job"]["Properties"]["Runtime"] == "python3.9"


def test_app_importing_stage_variables_and_making_clients_packages_without_aws_config(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a CI machine: no region anywhere. Lambda always provides one; packaging calls no AWS.
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    source = APP.replace(
        's3 = boto3.client("s3")', 'table = boto3.resource("dynamodb").Table(os.environ["TABLE"])'
    )
    (project / "app.py").write_text(
        "import os\n"
        + source.replace('s3.get_object(Bucket="b", Key=item_id)', "table.get_item(Key={})")
    )
    _set_config(project, environment_variables={"TABLE": "items"})
    result = run(project, str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "TABLE" not in os.environ and "AWS_DEFAULT_REGION" not in os.environ
