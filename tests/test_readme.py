"""The README's "A first app" does what its comments say, and its set-up block names the steps
`fw new-project` prints."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from microframework.testing import Client

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _blocks(section: str, language: str) -> list[str]:
    body = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, re.S)


@pytest.fixture
def first_app():
    namespace: dict = {}
    exec(compile(_blocks("A first app", "python")[0], "README.md", "exec"), namespace)
    yield namespace["app"]
    logger = logging.getLogger("hello")
    logger.handlers.clear()
    logger.propagate = True


def test_the_first_apps_schedule_prints_what_its_comment_says(first_app, capsys) -> None:
    with Client(first_app) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {})
        client.lambda_.invoke("every_five_minutes", event)
    out = capsys.readouterr().out
    assert re.fullmatch(r"hello - INFO - tick at \S+\n", out)
    comment = _blocks("A first app", "python")[0].split('# prints "', 1)[1].split("...", 1)[0]
    assert out.startswith(comment)


def test_the_set_up_block_runs_the_steps_new_project_prints(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli.main import cli

    printed = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "new-project", "hello"])
    lines = printed.output.split("Next:\n")[1].splitlines()
    steps = [line.split("#")[0].strip() for line in lines if line.strip()]
    setup = README.split("## A first app", 1)[0]  # the first screen
    assert steps[0].endswith("&& fw local")  # the README runs it as `cd hello && fw local`
    for step in steps[1:]:
        assert step in setup
