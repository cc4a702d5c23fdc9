"""The samples deploy as a user would deploy them: through the CLI, against moto, then delete."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
from click.testing import CliRunner

from cli.main import cli

# Six times fw's default 60 s function timeout, as Lambda advises for an SQS trigger (a
# queue's default 30 s is refused: see deployer/deploy/planner.py).
VISIBLE = {"VisibilityTimeout": "360"}

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def copy_sample(name: str, tmp_path: Path) -> Path:
    project = tmp_path / name
    shutil.copytree(
        SAMPLES / name,
        project,
        ignore=shutil.ignore_patterns("__pycache__", "deployed", "deployments", "cache"),
    )
    return project


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), obj={})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_events_sample_wires_every_source_and_deletes_cleanly(aws: str, tmp_path: Path) -> None:
    project = copy_sample("events", tmp_path)
    s3, sqs, sns = boto3.client("s3"), boto3.client("sqs"), boto3.client("sns")
    s3.create_bucket(Bucket="fw-sample-uploads")
    queue_url = sqs.create_queue(QueueName="fw-sample-jobs", Attributes=VISIBLE)["QueueUrl"]
    topic_arn = sns.create_topic(Name="fw-sample-news")["TopicArn"]

    summary = json.loads(run("--project-dir", str(project), "deploy", "--json"))
    assert summary["url"] is None  # no routes, no API

    lam = boto3.client("lambda")
    names = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
    assert names == [
        "events-dev-every_quarter_hour",
        "events-dev-on_job",
        "events-dev-on_news",
        "events-dev-on_upload",
    ]
    (config,) = s3.get_bucket_notification_configuration(Bucket="fw-sample-uploads")[
        "LambdaFunctionConfigurations"
    ]
    assert config["LambdaFunctionArn"].endswith(":function:events-dev-on_upload")
    assert config["Events"] == ["s3:ObjectCreated:*"]
    (mapping,) = lam.list_event_source_mappings(FunctionName="events-dev-on_job")[
        "EventSourceMappings"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    assert mapping["EventSourceArn"] == queue_arn["Attributes"]["QueueArn"]
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert subscription["Endpoint"].endswith(":function:events-dev-on_news")
    events = boto3.client("events")
    rule = events.describe_rule(Name="events-dev-every_quarter_hour")
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = events.list_targets_by_rule(Rule="events-dev-every_quarter_hour")["Targets"]
    assert target["Arn"].endswith(":function:events-dev-every_quarter_hour")

    run("--project-dir", str(project), "delete")
    assert lam.list_functions()["Functions"] == []
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
    assert sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"] == []
    assert events.list_rules(NamePrefix="events-dev")["Rules"] == []
    notifications = s3.get_bucket_notification_configuration(Bucket="fw-sample-uploads")
    assert "LambdaFunctionConfigurations" not in notifications
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_todo_sample_gets_its_table_and_a_least_privilege_policy(aws: str, tmp_path: Path) -> None:
    project = copy_sample("todo", tmp_path)
    run("--project-dir", str(project), "deploy", "--stage", "prod")

    lam = boto3.client("lambda")
    function = lam.get_function(FunctionName="todo-prod")["Configuration"]
    assert function["Environment"]["Variables"] == {"TABLE_NAME": "todo-items-prod"}
    assert function["Handler"] == "app.app"
    iam = boto3.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName="todo-prod")["PolicyNames"]
    document = iam.get_role_policy(RoleName="todo-prod", PolicyName=policy_name)["PolicyDocument"]
    actions = {a for statement in document["Statement"] for a in statement["Action"]}
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
    }
    (api,) = boto3.client("apigateway").get_rest_apis()["items"]
    assert api["name"] == "todo-prod"
    paths = {
        r["path"] for r in boto3.client("apigateway").get_resources(restApiId=api["id"])["items"]
    }
    assert {"/", "/todos", "/todos/{todo_id}"} <= paths
    url = run("--project-dir", str(project), "url", "--stage", "prod").strip()
    assert url == f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/api/"
