"""``fw deploy --stage NAME`` for a stage the project does not know: asked on a terminal,
refused elsewhere without ``--new-stage`` (exit 2, one line naming the known stages)."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from cli.main import main
from deployer.project.stages import known_stages

FW = [sys.executable, "-c", "from cli.main import main; main()"]
APP = 'from microframework import App\n\napp = App("shop")\n\n\n@app.route("/")\ndef index():\n    return {}\n'


def project(root: Path, stages: dict | None = None) -> Path:
    (root / ".fw").mkdir(parents=True)
    config = {"version": "1.0", "app_name": "shop"}
    if stages is not None:
        config["stages"] = stages
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(APP)
    return root


def fw(capsys, monkeypatch, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal, as in CI
    with pytest.raises(SystemExit) as info:
        main([*args])
        raise SystemExit(0)
    return info.value.code or 0, capsys.readouterr().err


def test_an_unknown_stage_is_refused_with_a_close_match(tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path, {"dev": {}, "prod": {}})
    code, err = fw(capsys, monkeypatch, "--project-dir", str(root), "deploy", "--stage", "prd")
    assert code == 2
    assert err == (
        "Error: stage 'prd' is not in .fw/config.json (known stages: dev, prod); did you mean"
        " 'prod'? To deploy a new stage 'prd' (a second copy of the app), pass --new-stage\n"
    )
    assert not (root / ".fw" / "deployments").exists()  # refused before packaging


def test_no_suggestion_when_nothing_is_close(tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path, {"dev": {}, "prod": {}})
    code, err = fw(capsys, monkeypatch, "--project-dir", str(root), "deploy", "--stage", "qa")
    assert code == 2 and "did you mean" not in err
    assert "(known stages: dev, prod); to deploy a new stage 'qa'" in err


def test_dev_is_known_without_a_stages_entry_and_records_count(tmp_path: Path) -> None:
    # dev is what every command uses without --stage: a typo cannot produce it.
    root = project(tmp_path)
    assert known_stages(root) == ("dev",)
    (root / ".fw" / "deployed").mkdir()
    (root / ".fw" / "deployed" / "pr-7.json").write_text("{}")
    assert known_stages(root) == ("dev", "pr-7")


def test_new_stage_deploys_and_the_stage_is_known_after(
    aws: str, tmp_path, capsys, monkeypatch
) -> None:
    root = project(tmp_path, {"dev": {}})
    args = ("--project-dir", str(root), "deploy", "--stage", "pr-7")
    code, err = fw(capsys, monkeypatch, *args, "--new-stage")
    assert code == 0, err
    assert [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]] == [
        "shop-pr-7"
    ]
    assert fw(capsys, monkeypatch, *args)[0] == 0  # recorded: no flag needed again


def test_dry_run_warns_and_shows_the_plan(aws: str, tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path, {"dev": {}})
    code, err = fw(
        capsys, monkeypatch, "--project-dir", str(root), "deploy", "--stage", "dve", "--dry-run"
    )
    assert code == 0
    assert err.startswith("Warning: stage 'dve' is not in .fw/config.json (known stages: dev);")
    assert "Would: Creating function shop-dve" in err.splitlines()


def _answer(root: Path, answer: str) -> tuple[int, str]:
    """Run ``fw deploy --stage prd`` on a terminal and answer its question."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*FW, "--project-dir", str(root), "deploy", "--stage", "prd"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(controller, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(controller)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def test_on_a_terminal_it_asks_and_no_refuses(tmp_path: Path) -> None:
    root = project(tmp_path, {"dev": {}, "prod": {}})
    code, out = _answer(root, "n")
    assert "Stage 'prd' is not in .fw/config.json (known stages: dev, prod); did you mean" in out
    assert "'prod'? Deploy a new stage 'prd'? [y/N]" in out
    assert code == 2 and "pass --new-stage" in out


def test_on_a_terminal_yes_deploys(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path, {"dev": {}, "prod": {}})
    code, out = _answer(root, "y")
    assert code == 0, out
    names = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert names == ["shop-prd"]
