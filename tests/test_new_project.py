"""``fw new-project``: files, refusals, and generated projects whose tests pass as generated."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port

from cli.main import main
from deployer.project.runtimes import pin_runtime

FW = [sys.executable, "-c", "from cli.main import main; main()"]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_fw(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([*args])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


@pytest.mark.parametrize("template", ["minimal", "rest", "events"])
def test_creates_a_complete_project(tmp_path: Path, capsys, template: str) -> None:
    code, out, _ = run_fw(
        capsys, "--project-dir", str(tmp_path), "new-project", "shop", "--template", template
    )
    assert code == 0 and "Created shop" in out
    project = tmp_path / "shop"
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        ".fw/config.json",
        ".gitignore",
        "app.py",
        "requirements-dev.txt",
        "requirements.txt",
        "tests/conftest.py",
        "tests/test_app.py",
    ]
    config = json.loads((project / ".fw" / "config.json").read_text())
    assert config["app_name"] == "shop"
    assert config["runtime"] == pin_runtime().runtime
    assert f"Runtime {config['runtime']}, pinned in .fw/config.json" in out
    assert 'App("shop", log_level="INFO")' in (project / "app.py").read_text()
    assert (
        "{{" not in (project / "app.py").read_text() + (project / "tests/test_app.py").read_text()
    )


def test_next_steps_cd_into_the_project_from_where_the_user_is(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_fw(capsys, "--project-dir", "work", "new-project", "shop")
    assert code == 0
    assert f"  cd {os.path.join('work', 'shop')} && fw local" in out


def test_gitignore_keeps_vendor_and_config_but_not_deploy_state(tmp_path: Path, capsys) -> None:
    # vendor/ is where users put packages pip cannot build for Lambda: it must be committed.
    run_fw(capsys, "--project-dir", str(tmp_path), "new-project", "shop")
    project = tmp_path / "shop"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    paths = [
        "vendor/native.so",
        ".fw/config.json",
        ".fw/deployed/dev.json",
        ".fw/deployments/dev/deployment.zip",
        "a/__pycache__/x.pyc",
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        cwd=project,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == [
        ".fw/deployed/dev.json",
        ".fw/deployments/dev/deployment.zip",
        "a/__pycache__/x.pyc",
    ]


def test_an_existing_directory_is_refused_and_left_alone(tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    code, _, err = run_fw(capsys, "--project-dir", str(tmp_path), "new-project", "taken")
    assert code == 1
    assert (
        err
        == f"Error: {str(tmp_path / 'taken')!r} already exists: choose another name or remove it\n"
    )
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("name", ["my app", "1st", "a/b", "x" * 41, "émoji", ".hidden"])
def test_a_bad_name_is_refused_with_one_line(tmp_path: Path, capsys, name: str) -> None:
    code, _, err = run_fw(capsys, "--project-dir", str(tmp_path), "new-project", name)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"Error: invalid project name {name!r}")
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_template_is_a_usage_error(tmp_path: Path, capsys) -> None:
    code, _, err = run_fw(
        capsys, "--project-dir", str(tmp_path), "new-project", "x", "--template", "nope"
    )
    assert code == 2 and "Invalid value for '--template'" in err and "Traceback" not in err


def test_generated_tests_pass_and_the_app_serves(tmp_path: Path) -> None:
    projects = []
    for template in ("minimal", "rest", "events"):
        subprocess.run(
            [
                *FW,
                "--project-dir",
                str(tmp_path / template),
                "new-project",
                "demo",
                "--template",
                template,
            ],
            check=True,
            capture_output=True,
        )
        projects.append(tmp_path / template / "demo")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for project in projects
    ]
    for project, run in zip(projects, runs, strict=True):
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, f"{project}:\n{out}"
        assert " passed" in out

    port = free_port()
    server = subprocess.Popen(
        [*FW, "--project-dir", str(projects[0]), "local", "--port", str(port), "--no-autoreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/")
        assert json.loads(conn.getresponse().read()) == {"hello": "world"}
        conn.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert server.returncode == 130  # stopped by Ctrl-C


def _next_steps(out: str) -> list[str]:
    """The commands `fw new-project` prints after "Next:", without their comments."""
    lines = out.split("Next:\n", 1)[1].splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.startswith("  ")]


def test_next_steps_install_what_the_generated_tests_import(tmp_path: Path, capsys) -> None:
    # fw's own install (pip install -e .) brings microframework but not pytest: the printed
    # steps must install every other module the generated tests import before running them.
    import ast

    code, out, _ = run_fw(
        capsys, "--project-dir", str(tmp_path), "new-project", "shop", "--template", "events"
    )
    project = tmp_path / "shop"
    steps = _next_steps(out)
    install = steps.index("python -m pip install -r requirements-dev.txt")
    assert steps[install + 1 :] == ["python -m pytest tests"]
    imported = set()
    for path in (project / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    local = {"app", "conftest", "microframework"}  # the project's and fw's own
    # pytest runs them (`python -m pytest`), whether or not a test imports it.
    needed = imported - local - set(sys.stdlib_module_names) | {"pytest"}
    required = (project / "requirements-dev.txt").read_text().splitlines()
    assert needed == {"pytest"}
    assert any(line.startswith("pytest") for line in required)
    assert "-r requirements.txt" in required


def test_create_project_pins_the_runtime_it_is_given(tmp_path: Path) -> None:
    from cli.commands.new_project import create_project

    project = create_project(tmp_path, "old", "minimal", runtime="python3.12")
    assert json.loads((project / ".fw" / "config.json").read_text())["runtime"] == "python3.12"


def test_a_new_projects_app_log_info_shows_in_invoke_local(tmp_path: Path) -> None:
    subprocess.run(
        [*FW, "--project-dir", str(tmp_path), "new-project", "demo", "--template", "events"],
        check=True,
        capture_output=True,
    )
    event = subprocess.run(
        [*FW, "generate-event", "schedule"], check=True, capture_output=True, text=True
    ).stdout
    result = subprocess.run(
        [*FW, "--project-dir", str(tmp_path / "demo"), "invoke", "every_hour", "--local"],
        input=event,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "demo - INFO - scheduled run at " in result.stderr


def test_a_new_projects_app_log_info_shows_in_fw_local(tmp_path: Path) -> None:
    subprocess.run(
        [*FW, "--project-dir", str(tmp_path), "new-project", "demo"],
        check=True,
        capture_output=True,
    )
    app_py = tmp_path / "demo" / "app.py"
    app_py.write_text(
        app_py.read_text()
        + '\n\n@app.route("/seen")\ndef seen():\n    app.log.info("seen by %s", "fw local")\n'
        "    return {}\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [*FW, "--project-dir", str(tmp_path / "demo"), "local", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/seen")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=10)
    assert "demo - INFO - seen by fw local" in out
