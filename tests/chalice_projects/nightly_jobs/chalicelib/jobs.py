import json
import os

import boto3

_dynamodb = boto3.client("dynamodb")


def _table():
    return boto3.resource("dynamodb").Table(os.environ["SESSIONS_TABLE"])


def expiry_threshold():
    parameter = boto3.client("ssm").get_parameter(Name=os.environ["THRESHOLD_PARAMETER"])
    return int(parameter["Parameter"]["Value"])


def remove_expired_sessions(now):
    cutoff = now - expiry_threshold()
    removed = 0
    paginator = _dynamodb.get_paginator("scan")
    with _table().batch_writer() as batch:
        for page in paginator.paginate(TableName=os.environ["SESSIONS_TABLE"]):
            for item in page["Items"]:
                if int(item["last_seen"]["N"]) < cutoff:
                    batch.delete_item(Key={"session_id": item["session_id"]["S"]})
                    removed += 1
    return removed


def record_metric(name, value):
    boto3.client("cloudwatch").put_metric_data(
        Namespace="NightlyJobs", MetricData=[{"MetricName": name, "Value": value, "Unit": "Count"}]
    )


def session_report():
    count = _dynamodb.scan(TableName=os.environ["SESSIONS_TABLE"], Select="COUNT")["Count"]
    return {"active_sessions": count}


def publish_report(report):
    boto3.client("sns").publish(TopicArn=os.environ["REPORT_TOPIC_ARN"], Message=json.dumps(report))
