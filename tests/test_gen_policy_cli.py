"""``fw gen-policy`` through the CLI group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from deployer.errors import PolicyError
from deployer.policy.role_policy import generate_policy


def run(project: Path, *args: str):
    return CliRunner().invoke(cli, ["--project-dir", str(project), "gen-policy", *args])


def test_prints_the_generated_policy_json(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import boto3\nboto3.client('stepfunctions').start_execution()\n"
    )
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(generate_policy(tmp_path).document, indent=2) + "\n"
    assert json.loads(result.stdout)["Statement"][1]["Action"] == ["states:StartExecution"]
    assert result.stderr == ""


def test_warnings_go_to_stderr_and_keep_stdout_json(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import boto3\n\ndef f(name):\n    boto3.client(name)\n")
    result = run(tmp_path)
    assert result.exit_code == 0
    assert (
        result.stderr
        == "Warning: app.py:4: cannot resolve the service name of boto3.client(name)\n"
    )
    json.loads(result.stdout)


def test_filename_option(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text("import boto3\nboto3.client('sns').publish()\n")
    result = run(tmp_path, "--filename", "other.py")
    assert "sns:Publish" in result.stdout


def _config(project: Path, **keys: object) -> None:
    (project / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "demo", "stages": {"dev": {}}, **keys}
    (project / ".fw" / "config.json").write_text(json.dumps(config))


def test_reads_policy_settings_from_config(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import boto3\nboto3.client('sqs').send_message()\n")
    _config(tmp_path, autogen_policy=False, iam_policy_file="policy-dev.json")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    (tmp_path / ".fw" / "policy-dev.json").write_text(json.dumps(document))
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == document


def test_syntax_error_fails_with_the_location(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def broken(:\n")
    result = run(tmp_path)
    assert result.exit_code != 0
    assert isinstance(result.exception, PolicyError)
    assert str(result.exception).startswith("app.py:1: syntax error:")


def test_error_printed_as_one_line_by_main(tmp_path: Path, capsys) -> None:
    from cli.main import main

    (tmp_path / "app.py").write_text("def broken(:\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--project-dir", str(tmp_path), "gen-policy"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: app.py:1: syntax error:") and err.count("\n") == 1


def test_what_the_app_prints_at_import_stays_off_the_json(tmp_path: Path) -> None:
    # Chalice apps log under the CLI (AWS_CHALICE_CLI_MODE); stdout must stay a policy document.
    (tmp_path / "app.py").write_text(
        "import os\nfrom microframework import App\napp = App('noisy')\n"
        "print('hello from import')\n"
        "if os.environ.get('AWS_CHALICE_CLI_MODE'):\n    app.log.error('cli mode')\n"
    )
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "noisy"}')
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "gen-policy"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["Version"] == "2012-10-17"
    assert "hello from import" in result.stderr and "cli mode" in result.stderr


def test_an_app_that_does_not_import_here_still_gets_its_code_policy(tmp_path: Path) -> None:
    # A dependency not installed on this machine: the code's calls are read from the source.
    (tmp_path / "app.py").write_text(
        "import boto3\nimport not_installed_here\nfrom microframework import App\n"
        "app = App('a')\n\n@app.route('/')\ndef i():\n    boto3.client('s3').list_buckets()\n"
    )
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "a"}')
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "gen-policy"])
    assert result.exit_code == 0, result.output
    actions = [a for s in json.loads(result.stdout)["Statement"] for a in s["Action"]]
    assert "s3:ListAllMyBuckets" in actions
    assert result.stderr.count("\n") == 1 and "not_installed_here" in result.stderr
    assert "statements for the app's triggers and VPC are left out" in result.stderr
