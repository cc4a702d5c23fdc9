"""fw deploy against moto: the roles carry what AWS checks for each trigger, and a plan AWS would
refuse halfway (a queue that hides messages for less than the function runs) writes nothing.

moto checks no IAM, so the policies are asserted against the documented rules (and linted with
parliament in tests/test_trigger_policy.py), not against moto's acceptance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from _iam_lint import POLLER_ACTIONS, assert_clean

from deployer.deploy.aws import is_write_operation
from deployer.deploy.run import deploy
from deployer.deploy.state import StateFile
from deployer.errors import DeployError

APP = """\
from microframework import App

app = App("poll")


@app.on_sqs_message(queue="jobs")
def work(event):
    pass


@app.on_kinesis_record(stream="clicks")
def clicks(event):
    pass


@app.on_dynamodb_record(stream_arn="STREAM_ARN")
def rows(event):
    pass
"""


def write_project(root: Path, stream_arn: str, **stage: Any) -> Path:
    (root / ".fw").mkdir(parents=True, exist_ok=True)
    config = {"version": "1.0", "app_name": "poll", "stages": {"dev": stage}}
    (root / ".fw" / "config.json").write_text(json.dumps(config))
    (root / "app.py").write_text(APP.replace("STREAM_ARN", stream_arn))
    return root


def make_sources(visibility_timeout: int) -> dict[str, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(
        QueueName="jobs", Attributes={"VisibilityTimeout": str(visibility_timeout)}
    )["QueueUrl"]
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    table = boto3.client("dynamodb").create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return {
        "sqs": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ],
        "kinesis": kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"][
            "StreamARN"
        ],
        "dynamodb": table["TableDescription"]["LatestStreamArn"],
    }


def test_roles_carry_the_poller_actions_on_the_exact_arns(aws: str, tmp_path: Path) -> None:
    arns = make_sources(visibility_timeout=360)
    project = write_project(tmp_path, arns["dynamodb"])
    deploy(project, "dev", sleep=lambda seconds: None)

    iam = boto3.client("iam")
    (role,) = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("poll-dev")]
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=role["RoleName"])[
        "PolicyDocument"
    ]
    on: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        targets = statement["Resource"]
        for action in statement["Action"]:
            on.setdefault(action, set()).update([targets] if isinstance(targets, str) else targets)
    for kind, actions in POLLER_ACTIONS.items():
        for action in actions:
            assert action in on, action
            expected = {arns[kind]}
            if action.endswith(":ListStreams"):
                expected = {"*"}  # the Service Authorization Reference gives it no resource
            elif action == "kinesis:SubscribeToShard":
                expected = {f"{arns['kinesis']}/consumer/*"}
            assert on[action] == expected, action
    assert_clean(document)
    # The mappings Lambda was asked for read exactly those ARNs.
    mappings = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert sorted(m["EventSourceArn"] for m in mappings) == sorted(arns.values())


class Writes:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, **kwargs: Any) -> None:
        if is_write_operation(kwargs["model"].name):
            self.names.append(kwargs["model"].name)


def test_timeout_over_the_queues_visibility_timeout_is_refused_before_any_write(
    aws: str, tmp_path: Path
) -> None:
    arns = make_sources(visibility_timeout=30)  # SQS's default; fw's function default is 60 s
    project = write_project(tmp_path, arns["dynamodb"])
    writes = Writes()
    with pytest.raises(DeployError) as info:
        deploy(project, "dev", on_call=writes, sleep=lambda seconds: None)
    message = str(info.value)
    assert message == (
        f"function poll-dev-work has a timeout of 60 s, longer than the visibility timeout of its"
        f" queue {arns['sqs']} (30 s), and Lambda refuses such a mapping; set lambda_timeout to at"
        " most 30 or raise the queue's VisibilityTimeout (AWS advises six times the function"
        " timeout)"
    )
    assert writes.names == []
    assert boto3.client("lambda").list_functions()["Functions"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert not StateFile.load(project, "dev").exists

    # Within the queue's visibility timeout, the same app deploys.
    write_project(tmp_path, arns["dynamodb"], lambda_timeout=30)
    deploy(project, "dev", sleep=lambda seconds: None)
    assert len(boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]) == 3
