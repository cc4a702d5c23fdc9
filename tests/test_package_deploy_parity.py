"""``fw deploy`` uploads exactly the zip ``fw package`` writes for the same stage."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import boto3
from click.testing import CliRunner

from cli.main import cli

APP = """\
from microframework import App

app = App("parity")


@app.route("/")
def index():
    return {"hello": "world"}
"""


def test_deployed_code_is_the_packaged_zip(aws: str, tmp_path: Path) -> None:
    project = tmp_path / "parity"
    (project / ".fw").mkdir(parents=True)
    (project / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "parity"})
    )
    (project / "app.py").write_text(APP)
    runner = CliRunner()
    packaged = runner.invoke(cli, ["--project-dir", str(project), "package", str(tmp_path / "out")])
    assert packaged.exit_code == 0, packaged.output
    digest = hashlib.sha256((tmp_path / "out" / "deployment.zip").read_bytes()).digest()

    deployed = runner.invoke(cli, ["--project-dir", str(project), "deploy"])
    assert deployed.exit_code == 0, deployed.output
    config = boto3.client("lambda").get_function(FunctionName="parity-dev")["Configuration"]
    assert config["CodeSha256"] == base64.b64encode(digest).decode()
