"""One deploy or delete per stage at a time: the lock beside the stage's record."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from deployer.deploy.lock import StageLocked, holder_of, lock_path, locked, stage_lock
from deployer.errors import ConfigError

_HOLD = """
import sys
from pathlib import Path
from deployer.deploy.lock import stage_lock
with stage_lock(Path(sys.argv[1]), "dev", command="fw deploy", report=print):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding stage dev of the project in ``tmp_path``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    yield holder
    holder.communicate("\n", timeout=10)


@locked("fw deploy")
def fake_deploy(
    project_dir: Path, stage: str = "dev", *, dry_run: bool = False, report=print
) -> Path | None:
    """Stands for deployer.deploy.run.deploy: what the lock file says while it runs."""
    return None if dry_run else lock_path(project_dir, stage)


def test_a_second_run_names_the_live_holder(tmp_path: Path, held: subprocess.Popen[str]) -> None:
    with pytest.raises(StageLocked) as raised:
        fake_deploy(tmp_path, "dev")
    message = str(raised.value)
    assert message.startswith("stage 'dev' is being changed by another fw run (fw deploy, PID")
    assert f"PID {held.pid} on {socket.gethostname()}, started " in message
    assert message.endswith("wait for it to finish, then run this command again")


def test_the_cli_prints_one_line_and_fails(
    tmp_path: Path, held: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--project-dir", str(tmp_path), "delete", "--stage", "dev"])
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: stage 'dev' is being changed"), lines


def test_other_stages_are_not_held(tmp_path: Path, held: subprocess.Popen[str]) -> None:
    assert fake_deploy(tmp_path, "prod") == lock_path(tmp_path, "prod")


def test_a_dry_run_takes_no_lock_and_says_who_holds_it(
    tmp_path: Path, held: subprocess.Popen[str]
) -> None:
    notes: list[str] = []
    assert fake_deploy(tmp_path, "dev", dry_run=True, report=notes.append) is None
    assert len(notes) == 1 and f"PID {held.pid}" in notes[0]
    assert notes[0].endswith("this plan may be out of date when it finishes")


def test_the_lock_says_who_holds_it_and_goes_when_done(tmp_path: Path) -> None:
    with stage_lock(tmp_path, "dev", command="fw delete", report=print) as me:
        data = json.loads(lock_path(tmp_path, "dev").read_text())
        assert data["pid"] == os.getpid() and data["command"] == "fw delete"
        assert data["host"] == socket.gethostname() and data["started"].endswith("+00:00")
        assert holder_of(tmp_path, "dev") == me
    assert not lock_path(tmp_path, "dev").exists()


def test_the_lock_goes_when_the_run_fails(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError),
        stage_lock(tmp_path, "dev", command="fw deploy", report=print),
    ):
        raise RuntimeError("AWS said no")
    assert not lock_path(tmp_path, "dev").exists()


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_note(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    left = {"pid": dead_pid, "host": socket.gethostname(), "command": "fw deploy",
            "started": "2026-01-02T03:04:05+00:00"}  # fmt: skip
    path = lock_path(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(left))
    assert holder_of(tmp_path, "dev") is None  # a dry run sees nobody
    notes: list[str] = []
    with stage_lock(tmp_path, "dev", command="fw deploy", report=notes.append):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert notes == [
        "Note: taking over the lock of stage 'dev' left by a run that ended without releasing"
        f" it (fw deploy, PID {dead_pid} on {socket.gethostname()}, started 2026-01-02 03:04:05 UTC)"
    ]


def test_of_two_processes_starting_together_one_runs(tmp_path: Path) -> None:
    hold_a_while = _HOLD.replace("sys.stdin.readline()", "import time; time.sleep(3)")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", hold_a_while, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [run.communicate(timeout=30) for run in runs]
    assert sorted(out for out, _ in outcomes) == ["", "held\n"]
    assert sum("is being changed by another fw run" in err for _, err in outcomes) == 1


def test_folders_made_only_for_the_lock_go_with_it(tmp_path: Path) -> None:
    with stage_lock(tmp_path, "dev", command="fw delete", report=print):
        assert lock_path(tmp_path, "dev").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_project_folder_is_not_created(tmp_path: Path) -> None:
    with stage_lock(tmp_path / "typo", "dev", command="fw deploy", report=print):
        pass
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("command", ["delete", "deploy"])
def test_a_stage_name_with_a_path_in_it_touches_no_file(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stage name becomes a file name under .fw/deployed/: "../../poetry" would be poetry.lock.
    (tmp_path / "app.py").write_text("from microframework import App\napp = App('x')\n")
    victim = tmp_path / "poetry.lock"
    victim.write_text("pinned\n")
    args = ["--project-dir", str(tmp_path), command, "--stage", "../../poetry"]
    if command == "deploy":
        args.append("--new-stage")
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code != 0
    assert "invalid stage name '../../poetry'" in capsys.readouterr().err
    assert victim.read_text() == "pinned\n"
    with pytest.raises(ConfigError):
        lock_path(tmp_path, "../x")


def test_on_windows_the_run_goes_unlocked_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flock is POSIX's: there fw must still deploy, without the lock, and tell the user.
    monkeypatch.setattr(sys, "platform", "win32")
    said: list[str] = []
    with stage_lock(tmp_path, "dev", command="fw deploy", report=said.append):
        assert not lock_path(tmp_path, "dev").exists()
    assert said == ["Note: stage 'dev' is not locked against a second fw run on Windows"]
