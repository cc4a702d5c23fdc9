"""The deployment record: written through atomically, read back, removed at the end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deployer.deploy.kinds.function import FunctionEntry
from deployer.deploy.kinds.layer import MANAGED_LAYER
from deployer.deploy.kinds.rest_api import API_ID, RestApiEntry, recorded_id
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


# Written by fw's record code before the kind modules (commit cb4dbea), by deploying
# tests/test_deploy_kinds.py's app on moto and publishing a managed layer.
RECORD_V1 = Path(__file__).parent / "fixtures" / "record_v1.json"


def test_a_record_written_by_the_previous_fw_loads_as_typed_entries(tmp_path: Path) -> None:
    path = record_path(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    shutil.copy(RECORD_V1, path)
    record = StateFile.load(tmp_path, "dev").record
    kinds = {type(entry).kind for entry in record.resources.values()}
    assert kinds == {
        "role", "layer", "function", "log_group", "rest_api", "rule", "s3_notification",
        "sns_subscription", "event_source_mapping",
    }  # fmt: skip
    assert record.references() == {
        API_ID: "8i6nry3fou",
        MANAGED_LAYER: "arn:aws:lambda:us-east-1:123456789012:layer:kinds-dev-managed-layer:1",
    }
    # And the format written back is the one read: the next fw of this line reads it too.
    assert record.to_json() == json.loads(RECORD_V1.read_text())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"version": 2, "resources": {}},
            "is in format 2, written by a newer fw (this one reads format 1); upgrade fw",
            id="future-version",
        ),
        pytest.param(
            {"version": 1, "resources": {"alarm:x": {"kind": "alarm", "name": "x"}}},
            "holds a resource of unknown kind 'alarm'; it was written by a newer fw",
            id="future-kind",
        ),
    ],
)
def test_a_record_from_a_newer_fw_is_refused_in_one_line(
    tmp_path: Path, data: dict, message: str
) -> None:
    path = record_path(tmp_path, "dev")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    with pytest.raises(DeployError) as info:
        StateFile.load(tmp_path, "dev")
    assert message in str(info.value) and "\n" not in str(info.value)
