"""The SAM template: functions, REST API, events, roles, YAML output, and cfn-lint on all of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.package.build import Artifact, PackageResult
from deployer.package.openapi import build_openapi
from deployer.package.sam import build_template, write_template
from deployer.project.config import load_config
from microframework import App, CORSConfig, Rate

SG = "sg-0123456789abcdef0"
SUBNET = "subnet-0123456789abcdef0"
LAYER_ARN = "arn:aws:lambda:us-east-1:123456789012:layer:shared:3"
ROLE_ARN = "arn:aws:iam::123456789012:role/existing"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}


def package(tmp_path: Path, *, layer: bool = False) -> PackageResult:
    def artifact(name: str) -> Artifact:
        return Artifact(tmp_path / name, "0" * 64, "AAAA", 100, 200)

    layer_zip = artifact("layer-deployment.zip") if layer else None
    return PackageResult(artifact("deployment.zip"), layer_zip, needs_s3_upload=False)


def stage_config(tmp_path: Path, **stage: Any) -> Any:
    settings = {"api_gateway_stage": "api", **stage}
    data = {"version": "1.0", "app_name": "demo", "stages": {"dev": settings}}
    (tmp_path / ".fw").mkdir(exist_ok=True)
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(data))
    return load_config(tmp_path, "dev")


def rest_app() -> App:
    app = App("demo")
    app.api.binary_types.append("application/x-demo")

    @app.authorizer(ttl_seconds=60)
    def check(request: Any) -> None:
        return None

    @app.route("/")
    def index() -> dict:
        return {}

    @app.route("/users/{user_id}", methods=["GET", "PUT"], cors=CORSConfig(max_age=60))
    def user(user_id: str) -> dict:
        return {}

    @app.route("/private/{proxy+}", authorizer=check, api_key_required=True)
    def private() -> dict:
        return {}

    return app


def events_app() -> App:
    app = App("demo")

    @app.schedule(Rate(5, unit=Rate.MINUTES), description="every five minutes")
    def tick(event: Any) -> None: ...

    @app.on_cw_event({"source": ["aws.ec2"]})
    def ec2_changes(event: Any) -> None: ...

    @app.on_s3_event("uploads-bucket", prefix="in/", suffix=".csv")
    def uploaded(event: Any) -> None: ...

    @app.on_sns_message("alerts")
    def alert(event: Any) -> None: ...

    @app.on_sqs_message(queue="jobs", batch_size=20, maximum_batching_window_in_seconds=5)
    def job(event: Any) -> None: ...

    @app.on_kinesis_record(stream="clicks", starting_position="TRIM_HORIZON")
    def click(event: Any) -> None: ...

    @app.on_dynamodb_record(stream_arn=STREAM_ARN, batch_size=50)
    def row_changed(event: Any) -> None: ...

    @app.lambda_function(name="plain-worker")
    def plain(event: Any, context: Any) -> None: ...

    return app


def small_app() -> App:
    app = App("demo")

    @app.route("/")
    def index() -> dict:
        return {}

    @app.schedule("rate(1 hour)")
    def hourly(event: Any) -> None: ...

    return app


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


# --- cfn-lint: one in-process linter, three templates, both formats ------------------------


@pytest.fixture(scope="module")
def lint_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """cfn-lint matches (errors and warnings) for each template, linted once for the module."""
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    tmp = tmp_path_factory.mktemp("lint")
    rest_dir, events_dir, config_dir = (tmp / n for n in ("rest", "events", "config"))
    for path in (rest_dir, events_dir, config_dir):
        path.mkdir()
    cases = {
        "rest.json": build_template(
            rest_app(), stage_config(rest_dir), policy=POLICY, package=package(rest_dir)
        ),
        "events.yaml": build_template(
            events_app(), stage_config(events_dir), policy=None, package=package(events_dir)
        ),
        "config.yaml": build_template(
            small_app(),
            stage_config(
                config_dir,
                xray=True,
                subnet_ids=[SUBNET],
                security_group_ids=[SG],
                layers=[LAYER_ARN],
                reserved_concurrency=3,
                automatic_layer=True,
                tags={"team": "data"},
                architecture="arm64",
                log_retention_in_days=14,
                api_gateway_endpoint_type="REGIONAL",
            ),
            policy=POLICY,
            package=package(config_dir, layer=True),
        ),
    }
    results = {}
    for name, template in cases.items():
        path = tmp / name
        write_template(template, path, path.suffix[1:])
        matches = lint(path.read_text(), config=ManualArgs(regions=["us-east-1"]))
        results[name] = [str(m) for m in matches]
    return results


@pytest.mark.parametrize("name", ["rest.json", "events.yaml", "config.yaml"])
def test_template_is_cfn_lint_clean(lint_results: dict[str, list[str]], name: str) -> None:
    assert lint_results[name] == []


# --- the REST API ---------------------------------------------------------------------------


def test_rest_handler_and_api(tmp_path: Path) -> None:
    template = build_template(
        rest_app(), stage_config(tmp_path), policy=POLICY, package=package(tmp_path)
    )
    handler = props(template, "APIHandler")
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert (handler["Handler"], handler["CodeUri"]) == ("app.app", "./deployment.zip")
    assert handler["Policies"] == [POLICY]
    api = props(template, "RestAPI")
    assert api["StageName"] == "api"
    assert api["EndpointConfiguration"] == {"Type": "EDGE"}
    assert list(api["DefinitionBody"]["paths"]) == ["/", "/private/{proxy+}", "/users/{user_id}"]
    uri = api["DefinitionBody"]["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert "${APIHandler.Arn}" in uri["Fn::Sub"]
    assert template["Outputs"]["EndpointURL"]["Value"] == {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
    }


def test_definition_body_is_the_openapi_document(tmp_path: Path) -> None:
    template = build_template(
        rest_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )
    body = props(template, "RestAPI")["DefinitionBody"]
    uri = body["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["uri"]
    scheme = body["components"]["securitySchemes"]["check"]
    auth_uri = scheme["x-amazon-apigateway-authorizer"]["authorizerUri"]
    assert "${Check.Arn}" in auth_uri["Fn::Sub"]
    assert body == build_openapi(rest_app(), handler_uri=uri, authorizer_uris={"check": auth_uri})


def test_api_gateway_may_invoke_handler_and_authorizer(tmp_path: Path) -> None:
    template = build_template(
        rest_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )
    handler = props(template, "APIHandlerInvokePermission")
    assert handler["FunctionName"] == {"Ref": "APIHandler"}
    assert handler["Principal"] == "apigateway.amazonaws.com"
    assert handler["SourceArn"]["Fn::Sub"].endswith(":${RestAPI}/*")
    authorizer = props(template, "CheckInvokePermission")
    assert authorizer["FunctionName"] == {"Ref": "Check"}
    assert authorizer["SourceArn"]["Fn::Sub"].endswith(":${RestAPI}/authorizers/*")
    assert props(template, "Check")["Handler"] == "app.check"


def test_app_without_routes_has_no_api(tmp_path: Path) -> None:
    template = build_template(
        events_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )
    assert "RestAPI" not in template["Resources"]
    assert "APIHandler" not in template["Resources"]
    assert "EndpointURL" not in template["Outputs"]


# --- events ---------------------------------------------------------------------------------


@pytest.fixture
def events_template(tmp_path: Path) -> dict[str, Any]:
    return build_template(
        events_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )


def test_schedule_and_eventbridge_events(events_template: dict[str, Any]) -> None:
    assert props(events_template, "Tick")["Events"] == {
        "Schedule": {
            "Type": "Schedule",
            "Properties": {"Schedule": "rate(5 minutes)", "Description": "every five minutes"},
        }
    }
    rule = props(events_template, "Ec2Changes")["Events"]["Rule"]
    assert rule == {"Type": "EventBridgeRule", "Properties": {"Pattern": {"source": ["aws.ec2"]}}}


def test_sqs_event_reports_batch_item_failures(events_template: dict[str, Any]) -> None:
    queue = props(events_template, "Job")["Events"]["Queue"]
    assert queue["Type"] == "SQS"
    assert queue["Properties"] == {
        "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:jobs"},
        "BatchSize": 20,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumBatchingWindowInSeconds": 5,
    }


def test_sns_kinesis_and_dynamodb_events(events_template: dict[str, Any]) -> None:
    topic = props(events_template, "Alert")["Events"]["Topic"]["Properties"]["Topic"]
    assert topic == {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:alerts"}
    kinesis = props(events_template, "Click")["Events"]["Stream"]
    assert kinesis["Type"] == "Kinesis"
    assert kinesis["Properties"]["StartingPosition"] == "TRIM_HORIZON"
    assert kinesis["Properties"]["Stream"]["Fn::Sub"].endswith(":stream/clicks")
    dynamodb = props(events_template, "RowChanged")["Events"]["Stream"]
    assert dynamodb == {
        "Type": "DynamoDB",
        "Properties": {"Stream": STREAM_ARN, "StartingPosition": "LATEST", "BatchSize": 50},
    }


def test_s3_event_is_a_permission_and_an_output(events_template: dict[str, Any]) -> None:
    assert "Events" not in props(events_template, "Uploaded")
    permission = props(events_template, "UploadedS3Permission")
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::uploads-bucket"}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    note = events_template["Outputs"]["UploadedS3Notification"]["Description"]
    assert "uploads-bucket" in note and "'in/'" in note and "'.csv'" in note


def test_plain_lambda_function_has_no_events(events_template: dict[str, Any]) -> None:
    worker = props(events_template, "PlainWorker")
    assert worker["Handler"] == "app.plain"
    assert "Events" not in worker


# --- functions and roles --------------------------------------------------------------------


def test_config_settings_reach_every_function(tmp_path: Path) -> None:
    config = stage_config(
        tmp_path,
        xray=True,
        subnet_ids=[SUBNET],
        security_group_ids=[SG],
        layers=[LAYER_ARN],
        reserved_concurrency=3,
        automatic_layer=True,
        tags={"team": "data"},
        architecture="arm64",
        environment_variables={"MODE": "prod"},
        lambda_functions={"hourly": {"lambda_memory_size": 512}},
    )
    template = build_template(
        small_app(), config, policy=None, package=package(tmp_path, layer=True)
    )
    layer = props(template, "ManagedLayer")
    assert layer["ContentUri"] == "./layer-deployment.zip"
    assert layer["CompatibleArchitectures"] == ["arm64"]
    for logical_id in ("APIHandler", "Hourly"):
        function = props(template, logical_id)
        assert function["Tracing"] == "Active"
        assert function["VpcConfig"] == {"SubnetIds": [SUBNET], "SecurityGroupIds": [SG]}
        assert function["Layers"] == [LAYER_ARN, {"Ref": "ManagedLayer"}]
        assert function["ReservedConcurrentExecutions"] == 3
        assert function["Tags"] == {"team": "data"}
        assert function["Architectures"] == ["arm64"]
        assert function["Environment"] == {"Variables": {"MODE": "prod"}}
    assert props(template, "Hourly")["MemorySize"] == 512
    assert props(template, "APIHandler")["MemorySize"] == 128


def test_no_layer_and_defaults_leave_optional_keys_out(tmp_path: Path) -> None:
    template = build_template(
        small_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )
    function = props(template, "APIHandler")
    assert "ManagedLayer" not in template["Resources"]
    for key in ("Layers", "Tracing", "VpcConfig", "ReservedConcurrentExecutions", "Tags"):
        assert key not in function


def test_unmanaged_role_uses_the_configured_arn(tmp_path: Path) -> None:
    config = stage_config(tmp_path, manage_iam_role=False, iam_role_arn=ROLE_ARN)
    template = build_template(small_app(), config, policy=POLICY, package=package(tmp_path))
    assert props(template, "APIHandler")["Role"] == ROLE_ARN
    assert "Policies" not in props(template, "APIHandler")


def test_without_a_policy_functions_may_only_log(tmp_path: Path) -> None:
    template = build_template(
        small_app(), stage_config(tmp_path), policy=None, package=package(tmp_path)
    )
    (policy,) = props(template, "Hourly")["Policies"]
    (statement,) = policy["Statement"]
    assert all(action.startswith("logs:") for action in statement["Action"])


def test_log_retention_declares_the_log_group(tmp_path: Path) -> None:
    config = stage_config(tmp_path, log_retention_in_days=30)
    template = build_template(small_app(), config, policy=None, package=package(tmp_path))
    assert props(template, "HourlyLogGroup") == {
        "LogGroupName": {"Fn::Sub": "/aws/lambda/${Hourly}"},
        "RetentionInDays": 30,
    }


def test_logical_ids_are_camel_case_and_unique(tmp_path: Path) -> None:
    app = App("demo")

    @app.lambda_function(name="clean_up")
    def first(event: Any, context: Any) -> None: ...

    @app.lambda_function(name="clean-up")
    def second(event: Any, context: Any) -> None: ...

    template = build_template(app, stage_config(tmp_path), policy=None, package=package(tmp_path))
    assert props(template, "CleanUp")["Handler"] == "app.first"
    assert props(template, "CleanUp2")["Handler"] == "app.second"


def test_logical_ids_avoid_the_ids_sam_derives(tmp_path: Path) -> None:
    app = App("demo")

    @app.schedule("rate(1 hour)")
    def tick(event: Any) -> None: ...

    @app.lambda_function(name="tick_schedule")
    def other(event: Any, context: Any) -> None: ...

    template = build_template(app, stage_config(tmp_path), policy=None, package=package(tmp_path))
    assert "Schedule" in props(template, "Tick")["Events"]  # SAM names its rule TickSchedule
    assert props(template, "TickSchedule2")["Handler"] == "app.other"


def test_template_is_deterministic(tmp_path: Path) -> None:
    config = stage_config(tmp_path)
    first = build_template(rest_app(), config, policy=POLICY, package=package(tmp_path))
    second = build_template(rest_app(), config, policy=POLICY, package=package(tmp_path))
    assert json.dumps(first) == json.dumps(second)


# --- writing --------------------------------------------------------------------------------


def test_yaml_round_trips_awkward_strings(tmp_path: Path) -> None:
    template = {
        "Strings": ["yes", "No", "on", "2012-10-17", "1.0", "a: b", "#x", "", "*", "é", "x\ny"],
        "Fn::Sub": "arn:${AWS::Partition}:s3:::b",
        "/users/{id}": {"get": {}, "list": [], "nested": [[1, 2], {"k": None, "t": True}]},
    }
    path = tmp_path / "t.yaml"
    write_template(template, path, "yaml")
    assert yaml.safe_load(path.read_text()) == template


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), _json_values, max_size=5))
def test_yaml_round_trips_any_json_data(tmp_path_factory: pytest.TempPathFactory, data) -> None:
    path = tmp_path_factory.mktemp("yaml") / "t.yaml"
    write_template(data, path, "yaml")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == (data or None)


def test_json_and_yaml_hold_the_same_template(tmp_path: Path) -> None:
    template = build_template(
        events_app(), stage_config(tmp_path), policy=POLICY, package=package(tmp_path)
    )
    write_template(template, tmp_path / "sam.json", "json")
    write_template(template, tmp_path / "sam.yaml", "yaml")
    assert json.loads((tmp_path / "sam.json").read_text()) == template
    assert yaml.safe_load((tmp_path / "sam.yaml").read_text()) == template


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'toml'"):
        write_template({}, tmp_path / "sam.toml", "toml")
