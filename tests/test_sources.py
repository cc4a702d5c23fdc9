"""Trigger sources: a deploy whose bucket, topic, queue or stream does not exist is refused before
any write, one line per resource with the command that creates it; the events template deploys
once the printed commands have run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import attrs
import boto3
import pytest
from conftest import REGION
from test_planner import ACCOUNT, FakeRemote, desired_state

from cli.main import main
from deployer.deploy import planner as p
from deployer.deploy.aws import create_context
from deployer.deploy.kinds import event_source_mapping
from deployer.deploy.remote import BotoRemoteState
from deployer.deploy.sources import TriggerSource
from deployer.deploy.state import Record
from deployer.errors import DeployError

TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"


def test_every_missing_source_is_one_line_with_its_command() -> None:
    remote = FakeRemote(missing_sources={"bucket", QUEUE})
    with pytest.raises(DeployError) as info:
        p.plan(desired_state(), remote, Record("app", "dev"))
    assert str(info.value).splitlines() == [
        "the app's triggers name 2 resources that do not exist in us-east-1 (fw does not create"
        " them; nothing was changed): create each, then deploy again",
        "  S3 bucket 'bucket' (app-dev-upload): aws s3 mb s3://bucket --region us-east-1",
        "  SQS queue 'queue' (app-dev-work): aws sqs create-queue --queue-name queue"
        " --attributes VisibilityTimeout=360 --region us-east-1",
    ]


def test_sources_that_exist_plan_as_before() -> None:
    assert p.plan(desired_state(), FakeRemote(), Record("app", "dev")).instructions


def test_each_source_is_read_with_the_other_remote_state() -> None:
    reads = p.reads_for(desired_state(), Record("app", "dev"))
    for question in [("bucket_exists", "bucket"), ("topic_exists", TOPIC), ("queue_exists", QUEUE)]:
        assert (question[0], question[1:]) in reads


@pytest.mark.parametrize(
    ("source", "command"),
    [
        pytest.param(
            TriggerSource("sqs", f"{QUEUE}.fifo", "f", timeout=900),
            "aws sqs create-queue --queue-name queue.fifo --attributes"
            " VisibilityTimeout=5400,FifoQueue=true --region us-east-1",
            id="fifo-queue-six-times-the-timeout",
        ),
        pytest.param(
            TriggerSource("sqs", QUEUE, "f", timeout=3),
            "aws sqs create-queue --queue-name queue --attributes VisibilityTimeout=30"
            " --region us-east-1",
            id="never-below-sqs-default",
        ),
        pytest.param(
            TriggerSource("kinesis", f"arn:aws:kinesis:eu-west-1:{ACCOUNT}:stream/clicks", "f"),
            "aws kinesis create-stream --stream-name clicks --shard-count 1 --region eu-west-1",
            id="kinesis-in-the-arns-region",
        ),
        pytest.param(
            TriggerSource(
                "dynamodb",
                f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders/stream/2026-01-01T00:00:00.000",
                "f",
            ),
            "aws dynamodb update-table --table-name orders --stream-specification"
            " StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES --region us-east-1"
            " (then use its LatestStreamArn in the app)",
            id="dynamodb-stream",
        ),
    ],
)
def test_create_commands(source: TriggerSource, command: str) -> None:
    assert event_source_mapping.source_command(source, "us-east-1") == command


def test_boto_remote_tells_missing_from_existing(aws: str) -> None:
    remote = BotoRemoteState(create_context())
    kinesis = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
    sources = [
        ("bucket_exists", "uploads"),
        ("topic_exists", TOPIC),
        ("queue_exists", QUEUE),
        ("kinesis_stream_exists", kinesis),
    ]
    assert [remote.ask(*s) for s in sources] == [False] * 4
    boto3.client("s3").create_bucket(Bucket="uploads")
    boto3.client("sns").create_topic(Name="topic")
    boto3.client("sqs").create_queue(QueueName="queue")
    boto3.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    assert [remote.ask(*s) for s in sources] == [True] * 4


def test_a_dynamodb_stream_that_exists_is_found(aws: str) -> None:
    # moto does not answer DescribeStream for a stream it lacks (AWS: ResourceNotFoundException,
    # which the read takes for missing), so only the found case is checked here.
    table = boto3.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    arn = table["TableDescription"]["LatestStreamArn"]
    assert BotoRemoteState(create_context()).ask("dynamodb_stream_exists", arn)


def test_a_source_in_another_region_is_left_to_aws(aws: str) -> None:
    # The clients read the deploy's region; AWS judges a cross-region topic when subscribing.
    remote = BotoRemoteState(create_context())
    assert remote.ask("topic_exists", f"arn:aws:sns:eu-west-1:{ACCOUNT}:elsewhere")


def test_a_mapping_source_is_checked_once_however_many_handlers_use_it() -> None:
    desired = desired_state()
    again = attrs.evolve(desired.mappings[0], function_name="app-dev-other")
    desired = desired.with_wired(event_source_mapping.NAME, (*desired.mappings, again))
    remote = FakeRemote(missing_sources={QUEUE})
    with pytest.raises(DeployError) as info:
        p.plan(desired, remote, Record("app", "dev"))
    assert str(info.value).count("SQS queue 'queue'") == 1


def _run_printed(command: str) -> None:
    """The boto3 call a printed ``aws`` command makes (the two the events template prints)."""
    args = shlex.split(command)
    if args[:3] == ["aws", "s3", "mb"]:
        boto3.client("s3").create_bucket(Bucket=args[3].removeprefix("s3://"))
    elif args[:3] == ["aws", "sqs", "create-queue"]:
        attributes = dict(a.split("=") for a in args[args.index("--attributes") + 1].split(","))
        name = args[args.index("--queue-name") + 1]
        boto3.client("sqs").create_queue(QueueName=name, Attributes=attributes)
    else:  # pragma: no cover - a command this test does not know is a failure
        raise AssertionError(command)


def test_the_events_template_deploys_with_the_printed_commands(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fw(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["--project-dir", str(tmp_path / "shop"), *args])
            raise SystemExit(0)
        return info.value.code or 0, capsys.readouterr().err

    main(["--project-dir", str(tmp_path), "new-project", "shop", "--template", "events"])
    source = (tmp_path / "shop" / "app.py").read_text()
    bucket = re.search(r'bucket="([^"]+)"', source).group(1)  # type: ignore[union-attr]
    code, err = fw("deploy")
    assert code == 1
    missing = err.strip().splitlines()[-2:]
    assert missing == [
        f"  S3 bucket {bucket!r} (shop-dev-on_upload): aws s3 mb s3://{bucket} --region {REGION}",
        "  SQS queue 'shop-jobs' (shop-dev-on_job): aws sqs create-queue --queue-name shop-jobs"
        f" --attributes VisibilityTimeout=360 --region {REGION}",
    ]
    assert not boto3.client("lambda").list_functions()["Functions"]  # nothing was written
    for line in missing:
        _run_printed(line.split(": ", 1)[1])
    code, err = fw("deploy")
    assert code == 0, err
    assert len(boto3.client("lambda").list_functions()["Functions"]) == 4
