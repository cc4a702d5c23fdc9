"""The app graph: fw deploy, fw package and fw gen-policy read one list of functions, in one order."""

from __future__ import annotations

import json
from pathlib import Path

from deployer.deploy.desired import build_desired
from deployer.deploy.graph import app_graph
from deployer.package.build import Artifact, PackageResult
from deployer.package.sam import build_template
from deployer.project.app_loader import function_names, load_stage_app
from deployer.project.config import load_config

# Declared in an order unlike the graph's, so a consumer that walked the app itself would differ.
APP = """\
from microframework import App, AuthResponse

app = App("order")


@app.on_sqs_message(queue="jobs")
def work(event):
    pass


@app.authorizer()
def check(auth_request):
    return AuthResponse(routes=["*"], principal_id="user")


@app.lambda_function(name="plain")
def plain(event, context):
    return {}


@app.route("/", authorizer=check)
def index():
    return {}


@app.schedule("rate(1 hour)")
def tick(event):
    pass
"""


def test_deploy_package_and_gen_policy_list_the_functions_in_one_order(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(
        json.dumps({"version": "1.0", "app_name": "order"})
    )
    config = load_config(tmp_path, "dev")
    app = load_stage_app(tmp_path, config, region="us-east-1")
    package = PackageResult(Artifact(tmp_path / "deployment.zip", "0" * 64, "A", 1, 1), None, False)

    graph = [node.handler for node in app_graph(app).functions]
    assert graph == ["app.app", "app.work", "app.tick", "app.plain", "app.check"]
    desired = build_desired(app, config, package, region="us-east-1", account_id="123456789012")
    assert [f.settings.handler for f in desired.state.functions] == graph
    template = build_template(app, config, policy=None, package=package)
    assert [
        resource["Properties"]["Handler"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    ] == graph
    # gen-policy walks the same list (function_names) for the triggers' statements.
    assert function_names(app) == [None, "work", "tick", "plain", "check"]
