"""The REST API kind on moto: an API a retried create made twice is adopted once, and the
extra copies fw made are deleted (by the next deploy, or by fw delete); others are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from deployer.deploy.run import delete, deploy
from deployer.deploy.state import StateFile

APP = """\
from microframework import App

app = App("dup")


@app.route("/")
def index():
    return {}
"""
NAME = "dup-dev"
TAGS = {"fw:deployment": "dup/dev"}


def project(root: Path) -> Path:
    (root / ".fw").mkdir(parents=True)
    (root / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "dup"}))
    (root / "app.py").write_text(APP)
    return root


def api_ids() -> list[str]:
    return sorted(a["id"] for a in boto3.client("apigateway").get_rest_apis()["items"])


def recorded_api(root: Path) -> str:
    entry = StateFile.load(root, "dev").record.get(f"rest_api:{NAME}")
    assert entry is not None
    return str(entry.to_json()["id"])


def test_a_duplicate_fw_made_is_deleted_by_the_next_deploy(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy(root, "dev", sleep=lambda s: None)
    kept = recorded_api(root)
    # What a CreateRestApi retried after a read timeout leaves: a second API, tagged like the first.
    extra = boto3.client("apigateway").create_rest_api(name=NAME, tags=TAGS)["id"]
    result = deploy(root, "dev", sleep=lambda s: None)
    assert result.actions == (f"Deleting duplicate REST API {NAME} ({extra})",)
    assert api_ids() == [kept] and recorded_api(root) == kept


def test_without_a_record_the_oldest_is_adopted_and_the_rest_deleted(
    aws: str, tmp_path: Path
) -> None:
    root = project(tmp_path)
    apigateway = boto3.client("apigateway")
    # Two creates that both succeeded before the record was written (interrupted deploy).
    first = apigateway.create_rest_api(name=NAME, tags=TAGS)["id"]
    second = apigateway.create_rest_api(name=NAME, description=f"fw app {NAME}")["id"]
    result = deploy(root, "dev", sleep=lambda s: None)
    # The oldest is kept (created in the same second here, so the lower id: still one choice).
    (kept,) = api_ids()
    (other,) = {first, second} - {kept}
    assert f"Deleting duplicate REST API {NAME} ({other})" in result.actions
    assert not any(a.startswith("Creating REST API") for a in result.actions)
    assert recorded_api(root) == kept


def test_delete_removes_the_duplicates_and_leaves_other_apis(aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    deploy(root, "dev", sleep=lambda s: None)
    apigateway = boto3.client("apigateway")
    apigateway.create_rest_api(name=NAME, tags=TAGS)
    someone_elses = apigateway.create_rest_api(name=NAME)["id"]  # neither tagged nor described
    delete(root, "dev")
    assert api_ids() == [someone_elses]
