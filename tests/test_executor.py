"""The executor against moto: handlers, retries on a not-yet-usable role, error lines."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path
from typing import Any

import attrs
import boto3
import botocore.exceptions
import pytest

from deployer.deploy import instructions as ins
from deployer.deploy import kinds
from deployer.deploy.aws import MAX_ATTEMPTS, create_context
from deployer.deploy.executor import Executor, display_plan, missing_actions
from deployer.deploy.kinds.base import CodeArtifact
from deployer.deploy.kinds.event_source_mapping import CreateMapping, EventSourceMapping
from deployer.deploy.kinds.function import (
    CreateFunction,
    DeleteFunction,
    FunctionEntry,
    FunctionSettings,
    LambdaFunction,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
)
from deployer.deploy.kinds.layer import DeleteLayer
from deployer.deploy.kinds.log_group import DeleteLogGroup, LogGroupEntry, PutLogRetention
from deployer.deploy.kinds.role import CreateRole, DeleteRole, ManagedRole
from deployer.deploy.kinds.rule import DeleteRule
from deployer.deploy.kinds.s3_notification import (
    PutS3Notification,
    RemoveS3Notification,
    S3Notification,
)
from deployer.deploy.state import StateFile
from deployer.errors import DeployError

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/unit-dev"
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


def code_zip(tmp_path: Path) -> CodeArtifact:
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    data = path.read_bytes()
    return CodeArtifact(path, base64.b64encode(hashlib.sha256(data).digest()).decode(), len(data))


def function(tmp_path: Path, name: str = "unit-dev-job") -> LambdaFunction:
    return LambdaFunction(
        logical_name="job",
        function_name=name,
        arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        code=code_zip(tmp_path),
        architecture="x86_64",
        settings=FunctionSettings("app.handler", ROLE_ARN, "python3.12", 128, 30),
        tags={"fw:deployment": "unit/dev"},
    )


LOGS = {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}
ROLE = ManagedRole("unit-dev", ROLE_ARN, "unit-dev", {"Version": "2012-10-17", "Statement": [LOGS]})


class RoleNotReady:
    """Fails CreateFunction as Lambda does while a new role propagates, ``times`` times."""

    def __init__(self, times: int) -> None:
        self.times = times

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name == "CreateFunction" and self.times > 0:
            self.times -= 1
            error = {"Error": {"Code": "InvalidParameterValueException", "Message": NOT_ASSUMABLE}}
            raise botocore.exceptions.ClientError(error, "CreateFunction")


def executor(tmp_path: Path, on_call: Any = None, **kwargs: Any) -> tuple[Executor, list[float]]:
    sleeps: list[float] = []
    state = StateFile.load(tmp_path, "dev", app_name="unit")
    aws = create_context(on_call=on_call)
    return Executor(aws=aws, state=state, sleep=sleeps.append, **kwargs), sleeps


def test_every_instruction_type_has_a_handler() -> None:
    defined = {
        cls
        for module in kinds.KINDS
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, ins.Instruction) and attrs.has(cls)
    }
    assert defined and defined <= set(kinds.handlers())


def test_new_role_not_yet_assumable_is_retried_with_backoff(aws: str, tmp_path: Path) -> None:
    ex, sleeps = executor(tmp_path, RoleNotReady(times=2), role_retry_delays=(1, 2, 4))
    plan = ins.Plan((CreateRole(ROLE), CreateFunction(function(tmp_path))))
    assert ex.execute(plan) == ["Creating IAM role unit-dev", "Creating function unit-dev-job"]
    assert sleeps == [1, 2]
    config = boto3.client("lambda").get_function_configuration(FunctionName="unit-dev-job")
    assert config["Role"] == ROLE_ARN
    assert set(ex.state.record.resources) == {"role:unit-dev", "function:unit-dev-job"}


def test_role_that_never_becomes_assumable_fails_with_one_line(aws: str, tmp_path: Path) -> None:
    ex, sleeps = executor(tmp_path, RoleNotReady(times=99), role_retry_delays=(1, 2))
    plan = ins.Plan((CreateRole(ROLE), CreateFunction(function(tmp_path))))
    with pytest.raises(DeployError) as info:
        ex.execute(plan)
    assert str(info.value) == (
        "creating function unit-dev-job failed (CreateFunction): InvalidParameterValueException: "
        + NOT_ASSUMABLE
    )
    assert sleeps == [1, 2]
    assert "role:unit-dev" in ex.state.record.resources  # the role was recorded before


def test_code_then_configuration_update_waits_for_lambda(aws: str, tmp_path: Path) -> None:
    fn = function(tmp_path)
    ex, _ = executor(tmp_path)
    ex.execute(ins.Plan((CreateRole(ROLE), CreateFunction(fn))))
    calls: list[str] = []
    ex2, _ = executor(tmp_path, lambda **kw: calls.append(kw["model"].name))
    bigger = attrs.evolve(fn, settings=attrs.evolve(fn.settings, memory_size=512))
    ex2.execute(ins.Plan((UpdateFunctionCode(fn), UpdateFunctionConfiguration(bigger))))
    # The configuration update checks LastUpdateStatus after the code update, not before it.
    assert calls == [
        "UpdateFunctionCode",
        "GetFunctionConfiguration",
        "UpdateFunctionConfiguration",
    ]
    config = boto3.client("lambda").get_function_configuration(FunctionName="unit-dev-job")
    assert config["MemorySize"] == 512


def test_deleting_what_is_gone_is_not_an_error(aws: str, tmp_path: Path) -> None:
    ex, _ = executor(tmp_path)
    ex.state.put("function:unit-dev-x", FunctionEntry("unit-dev-x", "arn:x"))
    group = "/aws/lambda/unit-dev-x"
    ex.state.put(f"log_group:{group}", LogGroupEntry(group))
    ex.execute(
        ins.Plan(
            (
                DeleteFunction("function:unit-dev-x", "unit-dev-x"),
                DeleteLogGroup(f"log_group:{group}", group),
                DeleteRule("rule:r", "r"),
                DeleteLayer("layer:l", "l", (1, 2)),
            )
        )
    )
    assert ex.state.record.resources == {}


def test_log_retention_records_the_group_it_creates(aws: str, tmp_path: Path) -> None:
    ex, _ = executor(tmp_path)
    ex.execute(ins.Plan((PutLogRetention("unit-dev-job", 30),)))
    group = "/aws/lambda/unit-dev-job"
    assert ex.state.record.resources == {f"log_group:{group}": LogGroupEntry(group)}
    (found,) = boto3.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == 30


def test_s3_notification_keeps_other_entries_of_the_bucket(aws: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="shared")
    ex, _ = executor(tmp_path)
    fn = function(tmp_path)
    ex.execute(ins.Plan((CreateRole(ROLE), CreateFunction(fn))))
    other = S3Notification("other-app", "shared", fn.function_name, fn.arn, ("s3:ObjectRemoved:*",))
    ours = S3Notification("unit-dev-job", "shared", fn.function_name, fn.arn,
                          ("s3:ObjectCreated:*",), suffix=".png")  # fmt: skip
    ex.execute(ins.Plan((PutS3Notification(other), PutS3Notification(ours))))
    ex.execute(ins.Plan((RemoveS3Notification(ours.key, "shared", ours.id),)))
    config = s3.get_bucket_notification_configuration(Bucket="shared")
    assert [c["Id"] for c in config["LambdaFunctionConfigurations"]] == ["other-app"]


def test_display_plan_calls_nothing() -> None:
    lines: list[str] = []
    display_plan(ins.Plan((DeleteRole("role:r", "r"),)), lines.append)
    display_plan(ins.Plan(), lines.append)
    assert lines == ["Would: Deleting IAM role r", "No changes."]


def test_clients_retry_throttling_in_standard_mode(aws: str) -> None:
    client = create_context().client("lambda")
    # botocore counts max_attempts as retries, so the total includes the first attempt.
    assert client.meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": MAX_ATTEMPTS + 1,
    }


NO_RECEIVE = "The provided execution role does not have permissions to call ReceiveMessage on SQS"


class PolicyNotReady:
    """Fails CreateEventSourceMapping as Lambda does while a new role policy propagates."""

    def __init__(self, times: int) -> None:
        self.times = times

    def __call__(self, **kwargs: Any) -> None:
        if kwargs["model"].name == "CreateEventSourceMapping" and self.times > 0:
            self.times -= 1
            error = {"Error": {"Code": "InvalidParameterValueException", "Message": NO_RECEIVE}}
            raise botocore.exceptions.ClientError(error, "CreateEventSourceMapping")


def _queue_arn() -> str:
    queue = boto3.client("sqs").create_queue(
        QueueName="jobs", Attributes={"VisibilityTimeout": "180"}
    )["QueueUrl"]
    return str(
        boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    )


def _polling_role(queue_arn: str) -> ManagedRole:
    poll = {"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": queue_arn}
    document = {"Version": "2012-10-17", "Statement": [LOGS, poll]}
    return attrs.evolve(ROLE, policy_document=document)


def test_mapping_waits_for_a_new_role_policy_to_reach_lambda(aws: str, tmp_path: Path) -> None:
    queue_arn = _queue_arn()
    fn = function(tmp_path)
    ex, sleeps = executor(tmp_path, PolicyNotReady(times=2), role_retry_delays=(1, 2, 4))
    mapping = EventSourceMapping("sqs", queue_arn, fn.function_name, 5)
    role = _polling_role(queue_arn)
    ex.execute(ins.Plan((CreateRole(role), CreateFunction(fn), CreateMapping(mapping))))
    assert sleeps == [1, 2]
    (found,) = boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert found["EventSourceArn"] == queue_arn
    assert mapping.key in ex.state.record.resources


def test_mapping_fails_at_once_when_fws_policy_lacks_the_action(aws: str, tmp_path: Path) -> None:
    # The role's policy (a hand-written one, say) has no sqs:ReceiveMessage: waiting for IAM to
    # propagate cannot help, so AWS's message and the missing action surface without a retry.
    queue_arn = _queue_arn()
    fn = function(tmp_path)
    ex, sleeps = executor(tmp_path, PolicyNotReady(times=99), role_retry_delays=(1, 2, 4))
    mapping = EventSourceMapping("sqs", queue_arn, fn.function_name, 5)
    plan = ins.Plan((CreateRole(ROLE), CreateFunction(fn), CreateMapping(mapping)))
    with pytest.raises(DeployError) as info:
        ex.execute(plan)
    assert sleeps == []
    assert str(info.value) == (
        f"creating sqs event source mapping {queue_arn} -> unit-dev-job failed"
        f" (CreateEventSourceMapping): InvalidParameterValueException: {NO_RECEIVE}; fw's policy"
        " for the function's role does not grant sqs:ReceiveMessage: add it to the policy file"
        " (iam_policy_file) or the role (iam_role_arn), or set autogen_policy to true"
    )
    assert "\n" not in str(info.value)


def test_mapping_fails_at_once_when_the_policy_grants_the_action_on_another_queue(
    aws: str, tmp_path: Path
) -> None:
    queue_arn = _queue_arn()
    fn = function(tmp_path)
    ex, sleeps = executor(tmp_path, PolicyNotReady(times=99), role_retry_delays=(1, 2, 4))
    mapping = EventSourceMapping("sqs", queue_arn, fn.function_name, 5)
    role = _polling_role(queue_arn.replace(":jobs", ":other"))
    plan = ins.Plan((CreateRole(role), CreateFunction(fn), CreateMapping(mapping)))
    with pytest.raises(DeployError, match="does not grant sqs:ReceiveMessage"):
        ex.execute(plan)
    assert sleeps == []


def test_role_fw_does_not_manage_is_never_waited_for(aws: str, tmp_path: Path) -> None:
    # No CreateRole in the plan and no policy given: the role is the user's (iam_role_arn).
    queue_arn = _queue_arn()
    fn = function(tmp_path)
    ex, sleeps = executor(tmp_path, PolicyNotReady(times=99), role_retry_delays=(1, 2, 4))
    boto3.client("iam").create_role(RoleName="unit-dev", AssumeRolePolicyDocument="{}")
    mapping = EventSourceMapping("sqs", queue_arn, fn.function_name, 5)
    with pytest.raises(DeployError, match="does not grant sqs:ReceiveMessage"):
        ex.execute(ins.Plan((CreateFunction(fn), CreateMapping(mapping))))
    assert sleeps == []


@pytest.mark.parametrize(
    ("message", "actions"),
    [
        (NO_RECEIVE, ("sqs:ReceiveMessage",)),
        (
            "The provided execution role does not have permissions to call"
            " CreateNetworkInterface on EC2",
            ("ec2:CreateNetworkInterface",),
        ),
        (
            "Cannot access stream arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/"
            "2016-08-03T08:24:05.612. Please ensure the role can perform the GetRecords,"
            " GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.",
            (
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:DescribeStream",
                "dynamodb:ListStreams",
            ),
        ),
        (
            "Cannot access stream arn:aws:kinesis:us-east-1:123456789012:stream/clicks. Please"
            " ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and"
            " ListStreams Actions on your stream in IAM.",
            (
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:DescribeStream",
                "kinesis:ListStreams",
            ),
        ),
        (NOT_ASSUMABLE, None),
    ],
    ids=["sqs", "vpc", "dynamodb-stream", "kinesis-stream", "not-assumable"],
)
def test_missing_actions_read_from_lambdas_messages(
    message: str, actions: tuple[str, ...] | None
) -> None:
    assert missing_actions(message) == actions
