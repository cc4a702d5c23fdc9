"""cli/output.py: progress lines as a log and as a terminal see them."""

from __future__ import annotations

import io
import re
import time

import pytest

from cli.output import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_pipe_each_step_is_one_plain_line() -> None:
    stream = io.StringIO()
    with Progress(stream) as progress:
        progress("Packaging app (dev)")
        progress("Installing requirements.txt")
    assert stream.getvalue() == "Packaging app (dev)\nInstalling requirements.txt\n"


def test_on_a_terminal_a_slow_step_counts_its_seconds_and_ends_with_its_duration() -> None:
    stream = Terminal()
    with Progress(stream, tick=0.05) as progress:
        progress("Installing requirements.txt")
        time.sleep(1.3)
        progress("Reading AWS")
    text = stream.getvalue()
    slow, fast = text.split("\n")[:2]
    assert re.search(r"\rInstalling requirements\.txt [|/\\-] 1s\x1b\[K", slow)
    assert re.search(r"\rInstalling requirements\.txt \(1\.\ds\)\x1b\[K$", slow)
    assert fast == "Reading AWS"  # under a second: no counter, no duration
    assert text.endswith("Reading AWS\n")  # closing ends the live line


def test_terminal_detection_honours_term_dumb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    stream = Terminal()
    with Progress(stream) as progress:
        progress("step")
    assert stream.getvalue() == "step\n"
