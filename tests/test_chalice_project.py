"""A project made by Chalice's own ``chalice new-project``, with its import lines changed and
nothing else: fw packages it, serves it, tests it, deploys it to moto and deletes it; fw's deploy
records stay in ``.fw/deployed/`` beside Chalice's own files."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest
from conftest import free_port

from cli.main import main

FW = [sys.executable, "-c", "from cli.main import main; main()"]
# The import lines a port changes, and nothing else.
PORTED_IMPORTS = {
    "from chalice import Chalice": "from microframework import Chalice",
    "from chalice.test import Client": "from microframework.testing import Client",
}


def run_fw(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([*args])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def chalice_new_project(where: Path, name: str) -> Path:
    """``chalice new-project -t rest-api NAME``, from the Chalice release in the dev dependencies."""
    script = Path(sys.executable).parent / "chalice"
    subprocess.run(
        [str(script), "new-project", "-t", "rest-api", name],
        cwd=where,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return where / name


def port_imports(project: Path) -> list[str]:
    """Change the import lines of every .py file; return the lines changed."""
    changed = []
    for path in sorted(project.rglob("*.py")):
        lines = path.read_text().split("\n")
        new = [PORTED_IMPORTS.get(line, line) for line in lines]
        rel = path.relative_to(project).as_posix()
        changed += [f"{rel}: {line}" for old, line in zip(lines, new, strict=True) if old != line]
        path.write_text("\n".join(new))
    return changed


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    project = chalice_new_project(tmp_path, "shop")
    assert json.loads((project / ".chalice" / "config.json").read_text())["version"] == "2.0"
    assert port_imports(project) == [
        "app.py: from microframework import Chalice",
        "tests/test_app.py: from microframework.testing import Client",
    ]
    return project


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_scaffold_packages_serves_and_passes_its_tests(
    scaffold: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_fw(capsys, "--project-dir", str(scaffold), "package", str(tmp_path / "o"))
    assert code == 0, err
    assert "Warning" not in err  # the scaffold's config has nothing fw would warn about
    with zipfile.ZipFile(tmp_path / "o" / "deployment.zip") as archive:
        names = archive.namelist()
    assert "app.py" in names and "chalicelib/__init__.py" in names
    assert not [n for n in names if n.startswith((".chalice/", "tests/"))]
    template = json.loads((tmp_path / "o" / "sam.json").read_text())
    assert "shop" in json.dumps(template)

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=scaffold,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout

    port = free_port()
    server = subprocess.Popen(
        [*FW, "--project-dir", str(scaffold), "local", "--port", str(port), "--no-autoreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"hello": "world"})
        conn.close()
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=10)
    assert server.returncode == 130, stderr  # stopped by Ctrl-C


def test_the_scaffold_deploys_to_moto_and_deletes(
    aws: str, scaffold: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_fw(capsys, "--project-dir", str(scaffold), "deploy")
    assert code == 0, err
    url = out.strip().removeprefix("Rest API URL: ")
    assert url.startswith("https://") and url.endswith("/api/")  # the config's api_gateway_stage
    assert (scaffold / ".fw" / "deployed" / "dev.json").is_file()
    assert not (scaffold / ".chalice" / "deployed").exists()
    assert boto3.client("lambda").get_function(FunctionName="shop-dev")
    assert len(boto3.client("apigateway").get_rest_apis()["items"]) == 1
    assert run_fw(capsys, "--project-dir", str(scaffold), "url")[1].strip() == url

    code, out, err = run_fw(capsys, "--project-dir", str(scaffold), "delete")
    assert code == 0, err
    assert not (scaffold / ".fw" / "deployed" / "dev.json").exists()
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("apigateway").get_rest_apis()["items"] == []


# --- deploy records -----------------------------------------------------------------------------

TOOLS = """\
from microframework import Chalice

app = Chalice(app_name="tools")


@app.lambda_function()
def job(event, context):
    return {"echo": event}
"""
# What Chalice itself writes after a deploy (schema 2.0): fw must neither read nor touch it.
CHALICE_RECORD = {
    "resources": [
        {
            "name": "job",
            "resource_type": "lambda_function",
            "lambda_arn": "arn:aws:lambda:us-west-2:123456789012:function:tools-dev-job",
        }
    ],
    "schema_version": "2.0",
    "backend": "api",
}


def test_fw_records_live_in_fw_deployed_for_every_command(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "tools"
    (project / ".chalice" / "deployed").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "tools", "stages": {"dev": {}}})
    )
    chalice_record = project / ".chalice" / "deployed" / "dev.json"
    chalice_record.write_text(json.dumps(CHALICE_RECORD))
    before = chalice_record.read_bytes()
    (project / "app.py").write_text(TOOLS)
    args = ["--project-dir", str(project)]

    code, out, err = run_fw(capsys, *args, "deploy")
    assert code == 0, err
    record = json.loads((project / ".fw" / "deployed" / "dev.json").read_text())
    assert record["app_name"] == "tools" and "function:tools-dev-job" in record["resources"]

    # moto does not run Lambda code; it answers from a queue of canned results.
    body = json.dumps({"results": ['{"echo": 1}'], "region": "us-east-1"}).encode()
    request = urllib.request.Request(
        f"{aws}/moto-api/static/lambda-simple/response", data=body, method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()
    event = tmp_path / "event.json"
    event.write_text("{}")
    code, out, err = run_fw(capsys, *args, "invoke", "job", "--event", str(event))
    assert (code, json.loads(out)) == (0, {"echo": 1}), err
    code, out, err = run_fw(capsys, *args, "logs", "--name", "job")
    assert code == 0, err  # found tools-dev-job in fw's record, not Chalice's
    code, out, err = run_fw(capsys, *args, "url")
    assert (code, err.strip()) == (1, "Error: stage 'dev' has no deployed API (REST or WebSocket); run"
                                   " 'fw deploy --stage dev' first")  # fmt: skip

    code, out, err = run_fw(capsys, *args, "delete")
    assert code == 0, err
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert not (project / ".fw" / "deployed" / "dev.json").exists()
    assert chalice_record.read_bytes() == before


def test_deploy_and_local_import_the_app_in_cli_mode(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_chalice_layout import CLI, imports, probe_project

    project, probe = probe_project(tmp_path)
    code, out, err = run_fw(capsys, "--project-dir", str(project), "deploy")
    assert code == 0, err
    assert imports(probe)[0] == CLI  # then the package check's import, as Lambda's: unset
    assert "AWS_CHALICE_CLI_MODE" not in os.environ

    port = free_port()
    server = subprocess.Popen(
        [*FW, "--project-dir", str(project), "local", "--port", str(port), "--no-autoreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.endswith("CLI_MODE")},
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert json.loads(conn.getresponse().read()) == {"modes": CLI}  # per request too
        conn.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert imports(probe) == [CLI]
