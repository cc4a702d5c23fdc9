"""Autoreload: file watching, the app slot, and a live ``fw local`` picking up edits."""

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

from cli.local import Unavailable
from cli.reloader import (
    AppSlot,
    Reloader,
    UserInterrupt,
    forget_project_modules,
    watched_files,
)
from deployer.errors import FwError

FW = [sys.executable, "-c", "from cli.main import main; main()"]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


CONFIG = '{"version": "1.0", "app_name": "live", "stages": {"dev": {}}}'


def app_source(greeting: str) -> str:
    return (
        "from microframework import App\n"
        "import helpers\n\n"
        "app = App('live')\n\n\n"
        "@app.route('/')\n"
        "def index():\n"
        f"    return {{'greeting': {greeting!r}, 'helper': helpers.NAME}}\n"
    )


def test_check_reports_changed_added_and_removed_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import helpers\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "vendor").mkdir()
    (tmp_path / ".venv").mkdir()
    seen: list[list[str]] = []
    reloader = Reloader(tmp_path, seen.append)
    assert reloader.check() == []
    (tmp_path / "app.py").write_text("import helpers  # changed\n")
    (tmp_path / "helpers.py").write_text("")
    for ignored in ("__pycache__/x.py", "vendor/dep.py", ".venv/y.py", "notes.txt", "t.py"):
        (tmp_path / ignored).write_text("")
    assert reloader.check() == [str(tmp_path / "app.py"), str(tmp_path / "helpers.py")]
    (tmp_path / "helpers.py").unlink()
    assert reloader.check() == [str(tmp_path / "helpers.py")]
    assert len(seen) == 2 and reloader.check() == []


def test_only_the_code_that_ships_is_watched(tmp_path: Path) -> None:
    # The same files packaging ships: a test or a script beside app.py never reloads the app.
    (tmp_path / "app.py").write_text("from chalicelib import db\n\ndef f():\n    import util\n")
    for name in ("chalicelib/__init__.py", "chalicelib/db.py", "lib/x.py", "util.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "test_app.py").write_text("import app\n")
    (tmp_path / "setup.py").write_text("")
    assert sorted(watched_files(tmp_path)) == [
        str(tmp_path / name)
        for name in ("app.py", "chalicelib/__init__.py", "chalicelib/db.py", "lib/x.py", "util.py")
    ]


def test_config_file_is_watched(tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text("{}")
    assert str(tmp_path / ".fw" / "config.json") in set(watched_files(tmp_path))


def test_a_chalice_projects_config_is_watched_until_fw_has_its_own(tmp_path: Path) -> None:
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text("{}")
    assert set(watched_files(tmp_path)) == {str(tmp_path / ".chalice" / "config.json")}
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text("{}")
    assert set(watched_files(tmp_path)) == {str(tmp_path / ".fw" / "config.json")}


def test_slot_keeps_the_last_good_load_and_errors_until_there_is_one() -> None:
    outcomes = iter(
        [
            FwError("app.py:1: syntax error: invalid syntax"),
            "v1",
            FwError("app.py:3: syntax error: invalid syntax"),
            SystemExit(3),
            "v2",
        ]
    )

    def load() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    slot: AppSlot[str] = AppSlot(load)
    assert slot.reload() == "app.py:1: syntax error: invalid syntax" and not slot.loaded
    with pytest.raises(Unavailable, match="syntax error"):
        slot.get()
    assert slot.reload() is None and slot.get() == "v1"
    assert slot.reload() == "app.py:3: syntax error: invalid syntax"
    assert slot.get() == "v1"  # the old app keeps serving
    assert slot.reload() == "SystemExit: 3" and slot.get() == "v1"
    assert slot.reload() is None and slot.get() == "v2"


def test_ctrl_c_during_a_load_is_not_swallowed() -> None:
    def load() -> str:
        raise UserInterrupt

    with pytest.raises(UserInterrupt):
        AppSlot(load).reload()


def test_forget_project_modules_drops_only_the_projects(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "app.py").write_text("import fw_reload_probe\n")
    (tmp_path / "fw_reload_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fw_reload_probe  # noqa: F401

    forget_project_modules(tmp_path)
    assert "fw_reload_probe" not in sys.modules and "json" in sys.modules


def _get(port: int) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _until(port: int, predicate) -> tuple[int, dict]:
    deadline = time.monotonic() + 20
    while True:
        answer = _get(port)
        if predicate(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


class LiveServer:
    """``fw local`` with autoreload as a subprocess; its stdout and stderr go to files that the
    test reads while it runs."""

    def __init__(self, project: Path, *extra: str) -> None:
        self.port = free_port()
        self.out = project.parent / f"{project.name}.out"
        self.err = project.parent / f"{project.name}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [*FW, "--project-dir", str(project), "local", "--port", str(self.port), *extra],
                stdout=out,
                stderr=err,
                text=True,
                env=dict(os.environ, NO_COLOR="1"),
            )
        deadline = time.monotonic() + 30
        while not _listening(self.port):
            assert self.proc.poll() is None, self.err.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def wait_for(self, text: str, count: int = 1, stream: str = "err") -> str:
        path = self.err if stream == "err" else self.out
        deadline = time.monotonic() + 20
        while path.read_text().count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} never came:\n{path.read_text()}"
            time.sleep(0.05)
        return path.read_text()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"fw local did not stop:\n{self.err.read_text()}") from None


def project(root: Path, app: str) -> Path:
    root.mkdir()
    (root / ".fw").mkdir()
    (root / ".fw" / "config.json").write_text(CONFIG)
    (root / "helpers.py").write_text("NAME = 'one'\n")
    (root / "app.py").write_text(app)
    return root


def test_live_server_picks_up_edits_and_survives_a_syntax_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p", app_source("hello"))
    server = LiveServer(root)
    try:
        assert _get(server.port) == (200, {"greeting": "hello", "helper": "one"})

        (root / "app.py").write_text(app_source("changed"))
        assert _until(server.port, lambda a: a[1].get("greeting") == "changed")[0] == 200

        (root / "helpers.py").write_text("NAME = 'two'\n")  # not app.py: still reloaded
        assert _until(server.port, lambda a: a[1].get("helper") == "two")[1]["helper"] == "two"

        (root / "app.py").write_text("def broken(:\n")
        server.wait_for("Reload failed (app.py): app.py:1: syntax error: invalid syntax;")
        # The last version that loaded keeps serving.
        assert _get(server.port) == (200, {"greeting": "changed", "helper": "two"})

        (root / "app.py").write_text(app_source("recovered"))
        assert _until(server.port, lambda a: a[1].get("greeting") == "recovered") == (
            200,
            {"greeting": "recovered", "helper": "two"},
        )
    finally:
        assert server.stop() == 130  # stopped by Ctrl-C
    # The route table again after each good reload.
    assert server.out.read_text().count("GET     /     index") == 4


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("import sys; sys.exit(3)", "app.py:10: importing the app failed: SystemExit: 3"),
        ("import sys; sys.exit()", "app.py:10: importing the app failed: SystemExit"),
        ("raise KeyboardInterrupt", "app.py:10: importing the app failed: KeyboardInterrupt"),
        (
            "class Stop(BaseException): pass\nraise Stop('halt')",
            "app.py:11: importing the app failed: Stop: halt",
        ),
        ("import helpers; helpers.stop()", "helpers.py:2: importing the app failed: SystemExit: 9"),
    ],
    ids=["sys-exit-3", "sys-exit", "keyboard-interrupt", "base-exception", "in-a-module"],
)
def test_whatever_app_py_raises_at_import_the_old_app_keeps_serving(
    tmp_path: Path, line: str, shown: str
) -> None:
    root = project(tmp_path / "p", app_source("hello"))
    server = LiveServer(root)
    try:
        (root / "helpers.py").write_text("NAME = 'one'\ndef stop(): raise SystemExit(9)\n")
        server.wait_for("Reloaded (helpers.py)")
        (root / "app.py").write_text(app_source("hello") + line + "\n")
        server.wait_for(f"Reload failed (app.py): {shown}; still serving the last version")
        assert _get(server.port) == (200, {"greeting": "hello", "helper": "one"})

        (root / "app.py").write_text(app_source("fixed"))  # the next save reloads
        assert _until(server.port, lambda a: a[1].get("greeting") == "fixed")[0] == 200
    finally:
        assert server.stop() == 130  # stopped by Ctrl-C
    err = server.err.read_text()
    assert "Traceback" not in err, err


def test_a_first_load_that_fails_serves_a_500_until_a_save_fixes_it(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "import sys\nsys.exit('no config')\n")
    server = LiveServer(root)
    try:
        err = server.wait_for("Requests get a 500 until you save a fix.")
        assert (
            "The app failed to load: app.py:2: importing the app failed: SystemExit: no config"
            in err
        )
        assert _get(server.port) == (
            500,
            {
                "Code": "AppLoadError",
                "Message": "app.py:2: importing the app failed: SystemExit: no config",
            },
        )
        (root / "app.py").write_text(app_source("fixed"))
        assert _until(server.port, lambda a: a[0] == 200) == (
            200,
            {"greeting": "fixed", "helper": "one"},
        )
        server.wait_for("GET     /     index", stream="out")
    finally:
        assert server.stop() == 130  # stopped by Ctrl-C


def test_outside_a_project_fw_local_stops_at_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [*FW, "--project-dir", str(tmp_path), "local", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: no .fw/config.json")


def test_without_autoreload_a_failed_first_load_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "import sys\nsys.exit(4)\n")
    result = subprocess.run(
        [*FW, "--project-dir", str(root), "local", "--port", str(free_port()), "--no-autoreload"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == "Error: app.py:2: importing the app failed: SystemExit: 4\n"


def test_a_virtualenv_inside_the_project_is_neither_watched_nor_forgotten(
    tmp_path: Path, monkeypatch
) -> None:
    # `python -m venv .venv` (or any name: a venv is the folder with pyvenv.cfg) inside the
    # project holds fw itself and the app's dependencies: forgetting them on a reload would
    # re-import fw's own modules under the running server.
    (tmp_path / "app.py").write_text("")
    for venv in (".venv", "env"):
        site = tmp_path / venv / "lib" / "site-packages"
        site.mkdir(parents=True)
        (tmp_path / venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (site / f"fw_probe_dep_{venv.strip('.')}.py").write_text("VALUE = 1\n")
        (tmp_path / venv / "bin").mkdir()
        (tmp_path / venv / "bin" / "activate_this.py").write_text("")
        monkeypatch.syspath_prepend(str(site))
    import fw_probe_dep_env  # noqa: F401
    import fw_probe_dep_venv  # noqa: F401

    assert list(watched_files(tmp_path)) == [str(tmp_path / "app.py")]
    forget_project_modules(tmp_path)
    assert "fw_probe_dep_venv" in sys.modules and "fw_probe_dep_env" in sys.modules
