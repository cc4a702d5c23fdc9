"""The ``fw`` entry point: version, help, usage mistakes, and plain output off a terminal."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.main import __version__, main
from cli.output import color_enabled, style, table


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([*args])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def test_version_from_the_installed_script() -> None:
    script = shutil.which("fw", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"fw, version {__version__}\n")


def test_help_lists_the_commands(capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("local", "new-project", "generate-event", "invoke", "--project-dir", "--debug"):
        assert name in out


@pytest.mark.parametrize("command", ["local", "new-project", "generate-event", "invoke"])
def test_each_command_has_help(capsys, command: str) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"Usage: fw {command}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch"], "Error: No such command 'nosuch'."),
        (["local", "--port", "99999"], "Error: Invalid value for '--port'"),
        (["local", "--bogus"], "Error: No such option '--bogus'"),
        (["new-project"], "Error: Missing argument 'NAME'."),
        (["invoke"], "Error: Missing argument 'NAME'."),
    ],
)
def test_usage_mistakes_exit_2_with_one_error_line(capsys, args: list[str], message: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and err.startswith(message)
    assert err.count("\n") == 1 and err.rstrip().endswith("--help')")


@pytest.mark.parametrize("args", [[], ["generate-event"]], ids=["fw", "group"])
def test_a_group_without_a_command_shows_its_help(capsys, args: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code in (0, 2)  # click 8.1 exits 0 here, 8.2 exits 2
    shown = out + err
    assert shown.startswith(f"Usage: fw {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND")
    assert "Error" not in shown and "see 'fw" not in shown


def test_failures_exit_1_with_one_line(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "--project-dir", str(tmp_path), "local")
    assert (code, out) == (1, "")
    assert (
        err
        == f"Error: no .fw/config.json (or Chalice's .chalice/config.json) in {str(tmp_path)!r}:"
        " run 'fw new-project' or create it\n"
    )


def test_local_refuses_an_app_that_does_not_import(capsys, tmp_path: Path) -> None:
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "x"}')
    (tmp_path / "app.py").write_text("import no_such_module_here\n")
    # Without autoreload no save can fix it (with it, the server starts: tests/test_reloader.py).
    code, _, err = run(capsys, "--project-dir", str(tmp_path), "local", "--no-autoreload")
    assert code == 1 and err.count("\n") == 1 and "No module named 'no_such_module_here'" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert (
        color_enabled(_Terminal()) and style("x", "red", stream=_Terminal()) == "\x1b[31mx\x1b[0m"
    )
    assert not color_enabled(io.StringIO()) and style("x", "red", stream=io.StringIO()) == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_enabled(_Terminal()) and style("x", "red", stream=_Terminal()) == "x"


def test_table_aligns_columns() -> None:
    assert table(["A", "LONGER"], [["xyz", "1"], ["q", "22"]]).splitlines() == [
        "  A    LONGER",
        "  ---  ------",
        "  xyz  1",
        "  q    22",
    ]


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    # A handler that is busy when the user presses Ctrl-C: click would say "Aborted!", exit 1.
    mark = tmp_path / "started"
    (tmp_path / "app.py").write_text(
        "import pathlib, time\n"
        "from microframework import App\n\n"
        "app = App('busy')\n\n\n"
        "@app.lambda_function()\n"
        "def job(event, context):\n"
        f"    pathlib.Path({str(mark)!r}).touch()\n"
        "    time.sleep(60)\n"
    )
    (tmp_path / "event.json").write_text("{}")
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "busy"}')
    command = ["--project-dir", str(tmp_path), "invoke", "job", "--local", "--event"]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import main; main()", *command, "event.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip() == "Interrupted."


def test_a_refused_confirmation_is_still_aborted_with_exit_1(capsys) -> None:
    import click

    from cli.main import _interrupted

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None  # what click.prompt does on Ctrl-C
    except click.exceptions.Abort as err:
        assert _interrupted(err)
    assert not _interrupted(click.exceptions.Abort())  # confirm(abort=True) answered "no"
