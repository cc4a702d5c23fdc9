"""A websocket app on moto: fw deploy makes Chalice's API, three functions and their grants; a
redeploy writes nothing; a create cut short is adopted (and a retried create's copy deleted);
a removed handler takes its route; fw delete removes the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from _iam_lint import assert_clean
from click.testing import CliRunner

from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import delete, deploy
from deployer.deploy.state import StateFile
from deployer.errors import DeployError

APP = """\
from microframework import App

app = App("chat")


@app.route("/")
def index():
    return {}


@app.on_ws_connect()
def connect(event):
    return None


@app.on_ws_message()
def message(event):
    app.websocket_api.send(event.connection_id, event.body)


@app.on_ws_disconnect()
def disconnect(event):
    return None
"""
NAME = "chat-dev-websocket-api"
TAGS = {"fw:deployment": "chat/dev"}
REGION = "us-east-1"
ACCOUNT = "123456789012"


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


def project(root: Path, source: str = APP) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    (root / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "chat"}))
    (root / "app.py").write_text(source)
    return root


def apis() -> list[dict[str, Any]]:
    return list(boto3.client("apigatewayv2").get_apis()["Items"])


def routes(api_id: str) -> dict[str, str]:
    """Route key -> the function its integration invokes."""
    client = boto3.client("apigatewayv2")
    uris = {
        i["IntegrationId"]: i["IntegrationUri"]
        for i in client.get_integrations(ApiId=api_id)["Items"]
    }
    found = {}
    for route in client.get_routes(ApiId=api_id)["Items"]:
        uri = uris[route["Target"].removeprefix("integrations/")]
        found[route["RouteKey"]] = uri.split(":function:")[1].removesuffix("/invocations")
    return found


def iam_policy(name: str) -> dict[str, Any]:
    return dict(
        boto3.client("iam").get_role_policy(RoleName="chat-dev", PolicyName=name)["PolicyDocument"]
    )


EXPECTED_MAIN_WITHOUT_WILDCARD = "no ManageConnections"


def role_policies() -> dict[str, dict[str, Any]]:
    """The role's inline policies; the main one summarised by whether it grants
    ManageConnections (on any API: the wildcard form it had before the API existed)."""
    names = boto3.client("iam").list_role_policies(RoleName="chat-dev")["PolicyNames"]
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        statements = iam_policy(name)["Statement"]
        if name == "chat-dev":
            manage = [s for s in statements if "execute-api:ManageConnections" in s["Action"]]
            found[name] = {"Statement": manage or EXPECTED_MAIN_WITHOUT_WILDCARD}
        else:
            found[name] = {"Statement": statements}
    return found


def manage_statement(api_id: str) -> dict[str, Any]:
    """The @connections ARNs of the API's own id and stage ("Control access to WebSocket APIs
    with IAM authorization")."""
    return {
        "Effect": "Allow",
        "Action": ["execute-api:ManageConnections"],
        "Resource": [
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/api/{method}/@connections/*"
            for method in ("POST", "GET", "DELETE")
        ],
    }


def deploy_quietly(root: Path, **kwargs: Any) -> Any:
    return deploy(root, "dev", sleep=lambda s: None, **kwargs)


def test_deploy_makes_the_api_its_routes_stage_grants_and_role_statement(
    aws: str, tmp_path: Path
) -> None:
    result = deploy_quietly(project(tmp_path))
    (api,) = apis()
    assert (api["Name"], api["ProtocolType"], api["RouteSelectionExpression"]) == (
        NAME, "WEBSOCKET", "$request.body.action",
    )  # fmt: skip
    assert routes(api["ApiId"]) == {
        "$connect": "chat-dev-websocket_connect",
        "$default": "chat-dev-websocket_message",
        "$disconnect": "chat-dev-websocket_disconnect",
    }
    stage = boto3.client("apigatewayv2").get_stage(ApiId=api["ApiId"], StageName="api")
    assert stage["AutoDeploy"] is True
    assert result.websocket_url == f"wss://{api['ApiId']}.execute-api.{REGION}.amazonaws.com/api"

    lam = boto3.client("lambda")
    for name, handler in [("connect", "app.connect"), ("message", "app.message")]:
        function = lam.get_function(FunctionName=f"chat-dev-websocket_{name}")
        # The entry points tests/test_websocket_lambda_runtime.py runs under awslambdaric.
        assert function["Configuration"]["Handler"] == handler
        (grant,) = json.loads(lam.get_policy(FunctionName=f"chat-dev-websocket_{name}")["Policy"])[
            "Statement"
        ]
        assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api['ApiId']}/*"
        )
    assert role_policies() == {
        "chat-dev": {"Statement": EXPECTED_MAIN_WITHOUT_WILDCARD},
        "chat-dev-websocket": {"Statement": [manage_statement(api["ApiId"])]},
    }
    assert_clean(iam_policy("chat-dev-websocket"))


def test_a_redeploy_writes_nothing_and_fw_url_gives_both_urls(aws: str, tmp_path: Path) -> None:
    from cli.main import cli

    root = project(tmp_path)
    first = deploy_quietly(root)
    writes = Writes()
    again = deploy_quietly(root, on_call=writes)
    assert (writes.names, again.actions) == ([], ())
    out = CliRunner().invoke(cli, ["--project-dir", str(root), "url"])
    assert out.output.splitlines() == [first.url, first.websocket_url]
    out = CliRunner().invoke(cli, ["--project-dir", str(root), "deploy"])
    assert out.stdout.splitlines() == [
        f"Rest API URL: {first.url}",
        f"Websocket API URL: {first.websocket_url}",
    ]


def test_an_api_created_before_the_record_is_adopted_and_its_copy_deleted(
    aws: str, tmp_path: Path
) -> None:
    client = boto3.client("apigatewayv2")
    # Two CreateApi calls that both succeeded before the record was written (a retried create,
    # then an interrupted deploy): both tagged, neither with routes or a stage.
    made = [
        client.create_api(
            Name=NAME,
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
            Tags=TAGS,
        )["ApiId"]
        for _ in range(2)
    ]
    result = deploy_quietly(project(tmp_path))
    (kept,) = [a["ApiId"] for a in apis()]
    (other,) = set(made) - {kept}
    assert f"Deleting duplicate websocket API {NAME} ({other})" in result.actions
    assert not any(a.startswith("Creating websocket API") for a in result.actions)
    assert set(routes(kept)) == {"$connect", "$default", "$disconnect"}
    entry = StateFile.load(tmp_path, "dev").record.get(f"websocket_api:{NAME}")
    assert entry is not None and entry.to_json()["id"] == kept


def test_a_removed_handler_takes_its_route_and_delete_takes_the_api(
    aws: str, tmp_path: Path
) -> None:
    root = project(tmp_path)
    deploy_quietly(root)
    someone_elses = boto3.client("apigatewayv2").create_api(
        Name=NAME, ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )["ApiId"]
    project(root, APP.split("\n\n\n@app.on_ws_disconnect")[0] + "\n")
    result = deploy_quietly(root)
    assert f"Deleting route $disconnect of websocket API {NAME}" in result.actions
    (api_id,) = [a["ApiId"] for a in apis() if a["ApiId"] != someone_elses]
    assert set(routes(api_id)) == {"$connect", "$default"}

    deleted = delete(root, "dev")
    assert f"Deleting websocket API {NAME} ({api_id})" in deleted.actions
    assert [a["ApiId"] for a in apis()] == [someone_elses]


class FailOn:
    """Fails the ``occurrence``-th ``operation`` call as AWS would (a ClientError)."""

    def __init__(self, operation: str, occurrence: int = 1) -> None:
        self.operation, self.occurrence, self.seen = operation, occurrence, 0

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name == self.operation:
            self.seen += 1
            if self.seen == self.occurrence:
                error = {"Error": {"Code": "ServiceUnavailable", "Message": "injected outage"}}
                raise botocore.exceptions.ClientError(error, self.operation)


@pytest.mark.parametrize(
    ("operation", "occurrence"),
    [("CreateIntegration", 1), ("CreateRoute", 2), ("CreateStage", 1), ("AddPermission", 3)],
    ids=["first-integration", "second-route", "stage", "a-grant"],
)
def test_a_deploy_cut_short_resumes_and_then_writes_nothing(
    aws: str, tmp_path: Path, operation: str, occurrence: int
) -> None:
    root = project(tmp_path)
    with pytest.raises(DeployError, match="injected outage"):
        deploy_quietly(root, on_call=FailOn(operation, occurrence))
    resumed = deploy_quietly(root)
    assert not any(a.startswith("Creating websocket API") for a in resumed.actions)
    (api,) = apis()
    assert set(routes(api["ApiId"])) == {"$connect", "$default", "$disconnect"}
    # No integration left behind by the cut: each one is a route's.
    client = boto3.client("apigatewayv2")
    assert len(client.get_integrations(ApiId=api["ApiId"])["Items"]) == 3
    writes = Writes()
    assert deploy_quietly(root, on_call=writes).actions == ()
    assert writes.names == []


def test_the_api_of_another_app_and_stage_of_the_same_name_is_refused(
    aws: str, tmp_path: Path
) -> None:
    # App "cha" stage "t-dev" names its API as app "chat" stage "dev" does.
    theirs = boto3.client("apigatewayv2").create_api(
        Name=NAME,
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
        Tags={"fw:deployment": "cha/t-dev"},
    )["ApiId"]
    with pytest.raises(DeployError) as caught:
        deploy_quietly(project(tmp_path))
    message = str(caught.value)
    assert f"websocket API {NAME!r} ({theirs}) belongs to 'cha/t-dev'" in message
    assert "not to 'chat/dev'" in message and "\n" not in message
    assert [a["ApiId"] for a in apis()] == [theirs] and routes(theirs) == {}


def test_an_app_without_websockets_drops_the_grant_and_delete_removes_it(
    aws: str, tmp_path: Path
) -> None:
    root = project(tmp_path)
    deploy_quietly(root)
    project(root, APP.split("\n\n\n@app.on_ws_connect")[0] + "\n")
    result = deploy_quietly(root)
    assert "Deleting policy chat-dev-websocket of IAM role chat-dev" in result.actions
    assert list(role_policies()) == ["chat-dev"] and apis() == []
    assert deploy_quietly(root).actions == ()

    project(root)
    deploy_quietly(root)
    assert list(role_policies()) == ["chat-dev", "chat-dev-websocket"]
    record = StateFile.load(tmp_path, "dev").record
    assert record.get("role_policy:chat-dev/chat-dev-websocket") is not None
    deleted = delete(root, "dev")
    assert "Deleting policy chat-dev-websocket of IAM role chat-dev" in deleted.actions
    iam = boto3.client("iam")
    assert "chat-dev" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_an_untagged_api_kept_from_the_record_is_tagged_once(aws: str, tmp_path: Path) -> None:
    """An API the record holds but AWS reports untagged (the tag removed by hand, or made
    before fw tagged) gets this deployment's tag in one step; the next deploy writes nothing."""
    root = project(tmp_path)
    deploy_quietly(root)
    client = boto3.client("apigatewayv2")
    (api,) = apis()
    arn = f"arn:aws:apigateway:{REGION}::/apis/{api['ApiId']}"
    client.untag_resource(ResourceArn=arn, TagKeys=list(TAGS))
    assert not client.get_api(ApiId=api["ApiId"]).get("Tags")
    writes = Writes()
    result = deploy_quietly(root, on_call=writes)
    assert result.actions == (f"Tagging websocket API {NAME} ({api['ApiId']}) as chat/dev's",)
    assert writes.names == ["TagResource"]
    assert client.get_api(ApiId=api["ApiId"])["Tags"] == TAGS
    writes = Writes()
    again = deploy_quietly(root, on_call=writes)
    assert (writes.names, again.actions) == ([], ())
