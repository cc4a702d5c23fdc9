"""A websocket app's SAM template (raw AWS::ApiGatewayV2 resources: SAM has no WebSocket type),
cfn-lint clean, and its ManageConnections statement in the template and in fw gen-policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from deployer.package.build import Artifact, PackageResult
from deployer.package.sam import build_template, write_template
from deployer.project.config import load_config
from microframework import App

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
MANAGE = {
    "Effect": "Allow",
    "Action": ["execute-api:ManageConnections"],
    "Resource": [
        f"arn:*:execute-api:*:*:*/*/{method}/@connections/*" for method in ("POST", "GET", "DELETE")
    ],
}


def project(root: Path) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    (root / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "chat"}))
    (root / "app.py").write_text(APP)
    return root


def template(tmp_path: Path) -> dict[str, Any]:
    from deployer.project.app_loader import load_app

    app = load_app(project(tmp_path))
    assert isinstance(app, App)
    artifact = Artifact(tmp_path / "deployment.zip", "0" * 64, "AAAA", 100, 200)
    return build_template(
        app, load_config(tmp_path, "dev"), policy=None, package=PackageResult(artifact, None, False)
    )


def test_the_template_has_the_api_routes_stage_and_grants(tmp_path: Path) -> None:
    resources = template(tmp_path)["Resources"]
    api = resources["WebsocketAPI"]
    assert api["Type"] == "AWS::ApiGatewayV2::Api"
    assert api["Properties"]["Name"] == "chat-dev-websocket-api"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    keys = {
        r["Properties"]["RouteKey"]: r["Properties"]["Target"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert keys == {
        "$connect": {"Fn::Sub": "integrations/${WebsocketConnectIntegration}"},
        "$default": {"Fn::Sub": "integrations/${WebsocketMessageIntegration}"},
        "$disconnect": {"Fn::Sub": "integrations/${WebsocketDisconnectIntegration}"},
    }
    assert resources["WebsocketConnect"]["Properties"]["Handler"] == "app.connect"
    stage = resources["WebsocketAPIStage"]["Properties"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("api", True)
    grant = resources["WebsocketMessageInvokePermission"]["Properties"]
    assert grant["SourceArn"]["Fn::Sub"].endswith(":${WebsocketAPI}/*")
    # The template knows the API, so the grant names its id and stage, not every API's.
    # Every function, as fw deploy grants every role it writes: a REST route may post too.
    for function_id in (
        "WebsocketConnect",
        "WebsocketMessage",
        "WebsocketDisconnect",
        "APIHandler",
    ):
        (policy,) = resources[function_id]["Properties"]["Policies"]
        manage = [s for s in policy["Statement"] if "execute-api:ManageConnections" in s["Action"]]
        assert manage == [
            {
                "Effect": "Allow",
                "Action": ["execute-api:ManageConnections"],
                "Resource": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                        f"${{AWS::AccountId}}:${{WebsocketAPI}}/api/{method}/@connections/*"
                    }
                    for method in ("POST", "GET", "DELETE")
                ],
            }
        ]


def test_the_template_is_cfn_lint_clean(tmp_path: Path) -> None:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    for fmt in ("json", "yaml"):
        path = tmp_path / f"template.{fmt}"
        write_template(template(tmp_path), path, fmt)
        matches = lint(path.read_text(), config=ManualArgs(regions=["us-east-1"]))
        assert [str(m) for m in matches] == []


def test_gen_policy_grants_manage_connections_with_wildcards(tmp_path: Path) -> None:
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--project-dir", str(project(tmp_path)), "gen-policy"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert MANAGE in document["Statement"]


def test_names_stage_and_entry_points_are_chalices(tmp_path: Path) -> None:
    """Chalice's own app graph for the same app is the oracle for what fw deploys."""
    import types

    from chalice import Chalice
    from chalice.config import Config
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    from deployer.deploy.desired import build_desired
    from deployer.project.app_loader import load_app

    chalice_app = Chalice("chat")
    chalice_app.experimental_feature_flags.update(["WEBSOCKETS"])

    def connect(event: Any) -> None: ...
    def message(event: Any) -> None: ...
    def disconnect(event: Any) -> None: ...

    for decorator, handler in [("on_ws_connect", connect), ("on_ws_message", message),
                               ("on_ws_disconnect", disconnect)]:  # fmt: skip
        handler.__module__ = "app"  # as if defined in the project's app.py
        getattr(chalice_app, decorator)()(handler)
    # The stage default Chalice's CLI sets (chalice/cli/factory.py), as fw's config does.
    config = Config.create(
        chalice_app=chalice_app,
        chalice_stage="dev",
        app_name="chat",
        project_dir=str(tmp_path),
        api_gateway_stage="api",
    )
    graph = ApplicationGraphBuilder().build(config, "dev")
    (api,) = [r for r in graph.resources if isinstance(r, models.WebsocketAPI)]
    theirs = {
        "api": (api.name, api.api_gateway_stage),
        "functions": sorted(
            (f.function_name, f.handler)
            for f in (api.connect_function, api.message_function, api.disconnect_function)
        ),
    }

    app = load_app(project(tmp_path))
    artifact = Artifact(tmp_path / "deployment.zip", "0" * 64, "AAAA", 100, 200)
    desired = build_desired(
        app,
        load_config(tmp_path, "dev"),
        PackageResult(artifact, None, False),
        region="us-east-1",
        account_id="123456789012",
        policy_builder=lambda *a, **k: types.SimpleNamespace(document={}, warnings=()),
    ).state
    assert desired.websocket_api is not None
    ours = {
        "api": (desired.websocket_api.name, desired.websocket_api.stage_name),
        "functions": sorted(
            (f.function_name, f.settings.handler)
            for f in desired.functions
            if "websocket" in f.function_name
        ),
    }
    assert ours == theirs
