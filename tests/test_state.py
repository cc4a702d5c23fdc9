"""The deployment record: written through atomically, read back, removed at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.deploy.kinds.function import FunctionEntry
from deployer.deploy.kinds.rest_api import RestApiEntry, recorded_id
from deployer.deploy.kinds.rule import RuleEntry
from deployer.deploy.state import StateFile, record_path
from deployer.errors import DeployError


def test_missing_record_is_empty_and_writes_nothing(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path, "dev", app_name="app")
    assert state.record.resources == {} and state.record.app_name == "app"
    assert not state.exists and not (tmp_path / ".fw").exists()


def test_every_put_is_on_disk_at_once(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path, "dev", app_name="app")
    state.put("function:app-dev", FunctionEntry("app-dev", "arn:fn"))
    on_disk = json.loads(record_path(tmp_path, "dev").read_text())
    assert on_disk["resources"] == {
        "function:app-dev": {"kind": "function", "name": "app-dev", "arn": "arn:fn"}
    }
    reloaded = StateFile.load(tmp_path, "dev").record
    assert reloaded.get("function:app-dev") == FunctionEntry("app-dev", "arn:fn")


def test_remove_and_kinds(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path, "dev", app_name="app")
    state.put("rule:a", RuleEntry("a"))
    state.put("rest_api:app-dev", RestApiEntry("app-dev", "x1"))
    state.remove("rule:a")
    state.remove("rule:never-there")
    reloaded = StateFile.load(tmp_path, "dev").record
    assert list(reloaded.resources) == ["rest_api:app-dev"]
    assert recorded_id(reloaded) == "x1" and reloaded.entries(RuleEntry) == {}


def test_write_leaves_no_temp_files(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path, "dev", app_name="app")
    for index in range(3):
        state.put(f"rule:{index}", RuleEntry(str(index)))
    assert [p.name for p in record_path(tmp_path, "dev").parent.iterdir()] == ["dev.json"]


def test_delete_file(tmp_path: Path) -> None:
    state = StateFile.load(tmp_path, "dev", app_name="app")
    state.put("rule:a", RuleEntry("a"))
    state.delete_file()
    state.delete_file()  # twice is fine
    assert not state.exists and state.record.resources == {}


@pytest.mark.parametrize(
    "text",
    [pytest.param("{not json", id="bad-json"), pytest.param('{"version": 99}', id="version")],
)
def test_unreadable_record_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = record_path(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(DeployError, match="deployment record"):
        StateFile.load(tmp_path, "dev")
