"""The REST API kind on moto: an API a retried create made twice is adopted once, and the
extra copies fw made are deleted (by the next deploy, or by fw delete); others are left alone,
and one another deployment made under the same name is refused, never adopted."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import delete, deploy
from deployer.deploy.state import StateFile
from deployer.errors import DeployError

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
    second = apigateway.create_rest_api(name=NAME, tags=TAGS)["id"]
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


def test_the_api_of_another_app_and_stage_of_the_same_name_is_refused(
    aws: str, tmp_path: Path
) -> None:
    # App "du" stage "p-dev" names its API "dup-dev" too; its tag says whose it is.
    theirs = boto3.client("apigateway").create_rest_api(
        name=NAME, tags={"fw:deployment": "du/p-dev"}
    )["id"]
    with pytest.raises(DeployError) as caught:
        deploy(project(tmp_path), "dev", sleep=lambda s: None)
    message = str(caught.value)
    assert "\n" not in message
    assert f"REST API {NAME!r} ({theirs}) belongs to 'du/p-dev'" in message
    assert "not to 'dup/dev'" in message
    assert api_ids() == [theirs]
    assert boto3.client("lambda").list_functions()["Functions"] == []  # refused before any write


def test_another_deployments_api_is_neither_adopted_nor_deleted_as_a_copy(
    aws: str, tmp_path: Path
) -> None:
    apigateway = boto3.client("apigateway")
    theirs = apigateway.create_rest_api(name=NAME, tags={"fw:deployment": "du/p-dev"})["id"]
    ours = apigateway.create_rest_api(name=NAME, tags=TAGS)["id"]  # a create not yet recorded
    root = project(tmp_path)
    result = deploy(root, "dev", sleep=lambda s: None)
    assert not any("Deleting" in action for action in result.actions)
    assert recorded_api(root) == ours and api_ids() == sorted([theirs, ours])
    delete(root, "dev")
    assert api_ids() == [theirs]


def test_an_untagged_api_an_older_fw_made_is_never_deleted_by_name(
    aws: str, tmp_path: Path
) -> None:
    # fw before the tag wrote only the description: such an API of the same name may belong
    # to another app and stage whose names make the same API name.
    root = project(tmp_path)
    deploy(root, "dev", sleep=lambda s: None)
    ours = recorded_api(root)
    legacy = boto3.client("apigateway").create_rest_api(name=NAME, description=f"fw app {NAME}")
    result = deploy(root, "dev", sleep=lambda s: None)
    assert not any("Deleting" in action for action in result.actions)
    delete(root, "dev")
    assert api_ids() == [legacy["id"]] and ours not in api_ids()


def test_without_a_record_this_deployments_api_wins_over_an_older_untagged_one(
    aws: str, tmp_path: Path
) -> None:
    apigateway = boto3.client("apigateway")
    legacy = apigateway.create_rest_api(name=NAME, description=f"fw app {NAME}")["id"]
    ours = apigateway.create_rest_api(name=NAME, tags=TAGS)["id"]  # a create not yet recorded
    root = project(tmp_path)
    result = deploy(root, "dev", sleep=lambda s: None)
    assert not any("Deleting" in action for action in result.actions)
    assert recorded_api(root) == ours and api_ids() == sorted([legacy, ours])


class RestApiTags:
    """A stand-in for API Gateway's ``TagResource`` on a REST API, which moto lacks (its server
    answers 404 for ``/tags/arn:...:/restapis/<id>``; it tags stages only): the tags given are
    kept and returned with the API by ``GetRestApi(s)``, as AWS does ("RestApi": ``tags``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.writes: list[str] = []
        self.session = boto3.Session()
        events = self.session.events
        events.register("before-call", self._count)
        events.register("before-call.api-gateway.TagResource", self._tag)
        events.register("after-call.api-gateway.GetRestApis", self._add_tags)
        events.register("after-call.api-gateway.GetRestApi", self._add_tags)

    def _count(self, model: Any, **kwargs: Any) -> None:
        if is_write_operation(model.name):
            self.writes.append(model.name)

    def _tag(self, params: dict[str, Any], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        arn = unquote(params["url_path"].removeprefix("/tags/"))
        self.calls.append((arn, json.loads(params["body"])["tags"]))
        return SimpleNamespace(status_code=200, headers={}), {}

    def _add_tags(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        for item in parsed.get("items", [parsed]):
            for arn, tags in self.calls:
                if "id" in item and arn.endswith(f"::/restapis/{item['id']}"):
                    item["tags"] = {**(item.get("tags") or {}), **tags}


def test_without_a_record_a_lone_untagged_api_fw_made_is_adopted(aws: str, tmp_path: Path) -> None:
    # A stage deployed by an older fw whose record is lost: its API is found by name.
    legacy = boto3.client("apigateway").create_rest_api(name=NAME, description=f"fw app {NAME}")[
        "id"
    ]
    root = project(tmp_path)
    result = deploy(root, "dev", sleep=lambda s: None, session=RestApiTags().session)
    assert not any(a.startswith("Creating REST API") for a in result.actions)
    assert recorded_api(root) == legacy and api_ids() == [legacy]


def test_an_adopted_untagged_api_fw_made_is_tagged_once(aws: str, tmp_path: Path) -> None:
    """An API an older fw made untagged, kept from the record, gets this deployment's tag in
    one step (on its stage-less ARN); the next deploy writes nothing."""
    legacy = boto3.client("apigateway").create_rest_api(name=NAME, description=f"fw app {NAME}")[
        "id"
    ]
    root = project(tmp_path)
    tags = RestApiTags()
    first = deploy(root, "dev", sleep=lambda s: None, session=tags.session)
    assert f"Tagging REST API {NAME} ({legacy}) as dup/dev's" in first.actions
    assert tags.calls == [(f"arn:aws:apigateway:us-east-1::/restapis/{legacy}", TAGS)]
    assert recorded_api(root) == legacy
    tags.writes.clear()
    again = deploy(root, "dev", sleep=lambda s: None, session=tags.session)
    assert again.actions == () and tags.writes == [] and len(tags.calls) == 1


def test_apps_whose_names_collide_with_a_stage_are_refused(aws: str, tmp_path: Path) -> None:
    """App ``shop`` stage ``eu-dev`` and app ``shop-eu`` stage ``dev`` name every resource
    ``shop-eu-dev``: the second deploy is refused, naming both, before it writes anything."""
    first = tmp_path / "first"
    (first / ".fw").mkdir(parents=True)
    config = {"version": "1.0", "app_name": "shop", "stages": {"eu-dev": {}}}
    (first / ".fw" / "config.json").write_text(json.dumps(config))
    (first / "app.py").write_text(APP)
    deploy(first, "eu-dev", sleep=lambda s: None)
    second = tmp_path / "second"
    (second / ".fw").mkdir(parents=True)
    config = {"version": "1.0", "app_name": "shop-eu", "stages": {"dev": {}}}
    (second / ".fw" / "config.json").write_text(json.dumps(config))
    (second / "app.py").write_text(APP)
    writes: list[str] = []

    def count_writes(**kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            writes.append(kwargs["model"].name)

    with pytest.raises(DeployError) as caught:
        deploy(second, "dev", sleep=lambda s: None, on_call=count_writes)
    assert "belongs to 'shop/eu-dev'" in str(caught.value)
    assert "not to 'shop-eu/dev'" in str(caught.value)
    assert writes == []


def test_an_api_fw_did_not_make_is_never_adopted(aws: str, tmp_path: Path) -> None:
    # E.g. a Chalice deployment of the same project: its API has fw's name, not fw's marks.
    theirs = boto3.client("apigateway").create_rest_api(name=NAME)["id"]
    root = project(tmp_path)
    result = deploy(root, "dev", sleep=lambda s: None)
    assert f"Creating REST API {NAME}" in result.actions
    ours = recorded_api(root)
    assert ours != theirs and api_ids() == sorted([theirs, ours])
    delete(root, "dev")
    assert api_ids() == [theirs]
