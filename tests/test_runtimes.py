"""deployer.project.runtimes: the runtime a new project pins, from the runtimes Lambda still offers."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from deployer.project.config import load_config
from deployer.project.runtimes import LAMBDA_PYTHON_RUNTIMES, offered_runtimes, pin_runtime

TODAY = datetime.date(2026, 12, 1)  # python3.10 can no longer be created (since 2026-11-30)


@pytest.mark.parametrize(
    ("version", "runtime", "noted"),
    [
        ((3, 11), "python3.11", False),
        ((3, 14), "python3.14", False),
        ((3, 10), "python3.11", True),
        ((3, 9), "python3.11", True),
        ((3, 15), "python3.14", True),
    ],
    ids=["offered", "newest", "blocked-for-create", "too-old", "too-new"],
)
def test_pins_the_local_python_or_the_nearest_offered(
    version: tuple[int, int], runtime: str, noted: bool
) -> None:
    choice = pin_runtime(version, today=TODAY)
    assert choice.runtime == runtime
    assert (choice.note is not None) == noted


def test_the_note_names_both_versions() -> None:
    note = pin_runtime((3, 9), today=TODAY).note
    assert note is not None and note.startswith(
        "the local Python is 3.9, which Lambda does not offer for new functions; pinned python3.11"
    )


def test_before_its_block_date_a_runtime_is_still_offered() -> None:
    assert offered_runtimes(datetime.date(2026, 11, 29))[0] == "python3.10"
    assert pin_runtime((3, 10), today=datetime.date(2026, 11, 29)).note is None


@pytest.mark.parametrize("runtime", sorted(LAMBDA_PYTHON_RUNTIMES))
def test_every_offered_runtime_is_a_valid_config_value(tmp_path: Path, runtime: str) -> None:
    (tmp_path / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "a", "runtime": runtime}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    assert load_config(tmp_path).runtime == runtime
