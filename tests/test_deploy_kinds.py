"""Every resource kind and setting fw deploys, against moto: a redeploy with nothing changed
writes nothing, and removing one handler removes only its own wiring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import deploy

# Six times fw's default 60 s function timeout, as Lambda advises for an SQS trigger (a
# queue's default 30 s is refused: see deployer/deploy/planner.py).
VISIBLE = {"VisibilityTimeout": "360"}

REGION = "us-east-1"
ACCOUNT = "123456789012"

KINDS = """\
from microframework import App, Cron, Rate

app = App("kinds")


@app.route("/", cors=True)
def index():
    return {}


@app.authorizer()
def gate(auth_request):
    return None


@app.route("/private", methods=["POST"], authorizer=gate)
def private():
    return {}


@app.schedule(Cron(0, 10, "*", "*", "?", "*"), description="daily at ten")
def ten(event):
    pass


@app.schedule(Rate(1, unit=Rate.HOURS))
def hourly(event):
    pass


@app.on_cw_event({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change"]})
def ec2(event):
    pass


CSV_HANDLER


@app.on_s3_event(bucket="shared", events=["s3:ObjectRemoved:*"])
def removed(event):
    pass


@app.on_sns_message(topic="news")
def news(event):
    pass


@app.on_sqs_message(queue="jobs", batch_size=7, maximum_batching_window_in_seconds=5)
def work(event):
    pass


@app.on_dynamodb_record(stream_arn="STREAM_ARN", batch_size=20)
def table(event):
    pass


@app.on_kinesis_record(stream="clicks", batch_size=50, starting_position="TRIM_HORIZON")
def clicks(event):
    pass


@app.lambda_function()
def job(event, context):
    return 1


@app.on_ws_connect()
def joined(event):
    return None


@app.on_ws_message()
def said(event):
    app.websocket_api.send(event.connection_id, event.body)


@app.on_ws_disconnect()
def left(event):
    return None
"""


CSV_HANDLER = """\
@app.on_s3_event(bucket="shared", events=["s3:ObjectCreated:*"], prefix="in/", suffix=".csv")
def csv(event):
    pass
"""


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


def make_sources() -> dict[str, str]:
    """The event sources, a VPC, an external layer and another app's entry on the bucket."""
    boto3.client("sqs").create_queue(QueueName="jobs", Attributes=VISIBLE)
    boto3.client("sns").create_topic(Name="news")
    boto3.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    table = boto3.client("dynamodb").create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="fw", Description="fw", VpcId=vpc)["GroupId"]
    layer = boto3.client("lambda").publish_layer_version(
        LayerName="shared-lib", Content={"ZipFile": b"PK\x05\x06" + b"\0" * 18}
    )["LayerVersionArn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="shared")
    other = {
        "Id": "other-app",
        "LambdaFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other-app",
        "Events": ["s3:ObjectCreated:*"],
    }
    s3.put_bucket_notification_configuration(
        Bucket="shared", NotificationConfiguration={"LambdaFunctionConfigurations": [other]}
    )
    return {
        "stream": table["TableDescription"]["LatestStreamArn"],
        "subnet": subnet,
        "group": group,
        "layer": layer,
    }


def write_project(root: Path, sources: dict[str, str], source: str = KINDS) -> Path:
    config = {
        "version": "1.0",
        "app_name": "kinds",
        "environment_variables": {"MODE": "test"},
        "tags": {"team": "data"},
        "xray": True,
        "subnet_ids": [sources["subnet"]],
        "security_group_ids": [sources["group"]],
        "layers": [sources["layer"]],
        "reserved_concurrency": 3,
        "log_retention_in_days": 7,
        "stages": {
            "dev": {
                "api_gateway_stage": "v1",
                "api_gateway_endpoint_type": "REGIONAL",
                "lambda_functions": {
                    "job": {"xray": False, "reserved_concurrency": 1, "lambda_memory_size": 512}
                },
            }
        },
    }
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    source = source.replace("STREAM_ARN", sources["stream"])
    (root / "app.py").write_text(source.replace("CSV_HANDLER\n", CSV_HANDLER))
    return root


def test_redeploy_of_every_kind_and_setting_writes_nothing(aws: str, tmp_path: Path) -> None:
    project = write_project(tmp_path, make_sources())
    deploy(project, "dev", sleep=lambda seconds: None)
    job = boto3.client("lambda").get_function(FunctionName="kinds-dev-job")
    assert job["Concurrency"]["ReservedConcurrentExecutions"] == 1
    assert job["Configuration"]["VpcConfig"]["SubnetIds"]
    (api,) = boto3.client("apigatewayv2").get_apis()["Items"]
    assert api["Name"] == "kinds-dev-websocket-api"

    writes = Writes()
    result = deploy(project, "dev", on_call=writes, sleep=lambda seconds: None)
    assert (writes.names, result.actions) == ([], ())


def test_removed_s3_handler_takes_only_its_own_notification(aws: str, tmp_path: Path) -> None:
    sources = make_sources()
    project = write_project(tmp_path, sources)
    deploy(project, "dev", sleep=lambda seconds: None)
    s3 = boto3.client("s3")
    ids = [c["Id"] for c in s3.get_bucket_notification_configuration(Bucket="shared")[
        "LambdaFunctionConfigurations"]]  # fmt: skip
    assert sorted(ids) == ["kinds-dev-csv", "kinds-dev-removed", "other-app"]

    write_project(tmp_path, sources, KINDS.replace("CSV_HANDLER\n", ""))
    writes = Writes()
    deploy(project, "dev", on_call=writes, sleep=lambda seconds: None)
    assert sorted(set(writes.names)) == [
        "DeleteFunction", "DeleteLogGroup", "PutBucketNotificationConfiguration",
        "UpdateFunctionCode",
    ]  # fmt: skip
    config = s3.get_bucket_notification_configuration(Bucket="shared")
    ids = [c["Id"] for c in config["LambdaFunctionConfigurations"]]
    assert sorted(ids) == ["kinds-dev-removed", "other-app"]
