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

from cli.local_server import Unavailable
from cli.reloader import AppSlot, Reloader, forget_project_modules, watched_files
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


def test_slot_serves_the_last_good_load_or_its_error() -> None:
    outcomes = iter(["v1", FwError("app.py:3: syntax error: invalid syntax"), "v2"])

    def load() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    slot: AppSlot[str] = AppSlot(load)
    assert slot.reload() is None and slot.get() == "v1"
    assert slot.reload() == "app.py:3: syntax error: invalid syntax"
    with pytest.raises(Unavailable, match="syntax error"):
        slot.get()
    assert slot.reload() is None and slot.get() == "v2"


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


def test_live_server_picks_up_edits_and_survives_a_syntax_error(tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(CONFIG)
    (tmp_path / "helpers.py").write_text("NAME = 'one'\n")
    (tmp_path / "app.py").write_text(app_source("hello"))
    port = free_port()
    proc = subprocess.Popen(
        [*FW, "--project-dir", str(tmp_path), "local", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, NO_COLOR="1"),
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert _get(port) == (200, {"greeting": "hello", "helper": "one"})

        (tmp_path / "app.py").write_text(app_source("changed"))
        assert _until(port, lambda a: a[1].get("greeting") == "changed")[0] == 200

        (tmp_path / "helpers.py").write_text("NAME = 'two'\n")  # not app.py: still reloaded
        assert _until(port, lambda a: a[1].get("helper") == "two")[1]["helper"] == "two"

        (tmp_path / "app.py").write_text("def broken(:\n")
        status, body = _until(port, lambda a: a[0] == 500)
        assert status == 500
        assert body == {"Code": "AppLoadError", "Message": "app.py:1: syntax error: invalid syntax"}

        (tmp_path / "app.py").write_text(app_source("recovered"))
        assert _until(port, lambda a: a[0] == 200) == (
            200,
            {"greeting": "recovered", "helper": "two"},
        )
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Reload failed (app.py): app.py:1: syntax error" in err and "Reloaded (app.py)" in err


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
