"""Small apps with the exact IAM actions each needs: the yardstick for policy generation.

Shared by ``tests/test_policy.py`` (fw must score recall = precision = 1.0) and
``benchmarks/bench_gen_policy.py`` (which also scores chalice's analyzer on ``app.py``).
Expected sets leave out the CloudWatch Logs statement every function gets.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    id: str
    files: dict[str, str]
    expected: frozenset[str]


def _case(case_id: str, app: str, expected: set[str], **lib: str) -> Case:
    files = {"app.py": app}
    files.update({f"lib/{name.replace('__', '/')}.py": src for name, src in lib.items()})
    return Case(case_id, files, frozenset(expected))


CORPUS: list[Case] = [
    _case(
        "client-module-level",
        """
import boto3
from microframework import App

app = App("orders")
ddb = boto3.client("dynamodb")

@app.route("/orders", methods=["POST"])
def create():
    ddb.put_item(TableName="orders", Item={})
    return {"ok": True}
""",
        {"dynamodb:PutItem"},
    ),
    _case(
        "from-boto3-import-client",
        """
from boto3 import client

sfn = client("stepfunctions")

def start(event, context):
    return sfn.start_execution(stateMachineArn="arn", input="{}")
""",
        {"states:StartExecution"},
    ),
    _case(
        "import-boto3-as",
        """
import boto3 as aws

def handler(event, context):
    aws.client("lambda").invoke(FunctionName="worker", Payload=b"{}")
""",
        {"lambda:InvokeFunction"},
    ),
    _case(
        "sessions",
        """
import boto3
import boto3.session

sqs = boto3.session.Session().client("sqs")
session = boto3.Session(region_name="eu-west-1")
sns = session.client("sns")

def handler(event, context):
    sqs.send_message(QueueUrl="q", MessageBody="x")
    sns.publish(TopicArn="t", Message="x")
""",
        {"sqs:SendMessage", "sns:Publish"},
    ),
    _case(
        "function-arguments",
        """
import boto3

def upload(client, key, body):
    client.put_object(Bucket="b", Key=key, Body=body)

def view():
    s3 = boto3.client("s3")
    upload(s3, "k", b"data")
""",
        {"s3:PutObject"},
    ),
    _case(
        "helper-return-value",
        """
import boto3

def get_client():
    return boto3.client("s3")

def exists(key):
    get_client().head_object(Bucket="b", Key=key)
""",
        {"s3:GetObject"},
    ),
    _case(
        "lib-from-import",
        """
from lib.db import get_table

def view(order_id):
    table = get_table()
    return table.get_item(Key={"id": order_id}), table.query(KeyConditionExpression="x")
""",
        {"dynamodb:GetItem", "dynamodb:Query"},
        __init__="",
        db="""
import os
import boto3

def get_table():
    return boto3.resource("dynamodb").Table(os.environ["TABLE"])
""",
    ),
    _case(
        "lib-import-module",
        """
import lib.storage

def save(key, data):
    lib.storage.BUCKET.put_object(Key=key, Body=data)
    return lib.storage.list_keys()
""",
        {"s3:PutObject", "s3:ListBucket"},
        storage="""
import boto3

BUCKET = boto3.resource("s3").Bucket("assets")

def list_keys():
    return [obj.key for obj in BUCKET.objects.all()]
""",
    ),
    _case(
        "class-self-attribute",
        """
import boto3

class Repository:
    def __init__(self, name):
        self.table = boto3.resource("dynamodb").Table(name)

    def rename(self, key, name):
        self.table.update_item(Key=key, UpdateExpression="SET n = :n")

    def remove(self, key):
        self.table.delete_item(Key=key)

repo = Repository("users")
""",
        {"dynamodb:UpdateItem", "dynamodb:DeleteItem"},
    ),
    _case(
        "s3-object-resource",
        """
import boto3

s3 = boto3.resource("s3")

def read(key):
    return s3.Object("bucket", key).get()["Body"].read()

def drop(key):
    s3.Bucket("bucket").Object(key).delete()
""",
        {"s3:GetObject", "s3:DeleteObject"},
    ),
    _case(
        "bucket-collection",
        """
import boto3

bucket = boto3.resource("s3").Bucket("logs")

def purge_old():
    for summary in bucket.objects.filter(Prefix="2020/"):
        if summary.size > 0:
            summary.delete()
""",
        {"s3:ListBucket", "s3:DeleteObject"},
    ),
    _case(
        "batch-writer",
        """
import boto3

table = boto3.resource("dynamodb").Table("events")

def import_all(items):
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
""",
        {"dynamodb:BatchWriteItem"},
    ),
    _case(
        "paginators",
        """
import boto3

s3 = boto3.client("s3")
ddb = boto3.client("dynamodb")

def keys():
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="b"):
        yield from page.get("Contents", [])
    ddb.get_paginator("scan").paginate(TableName="t")
""",
        {"s3:ListBucket", "dynamodb:Scan"},
    ),
    _case(
        "waiters",
        """
import boto3

def wait():
    boto3.client("s3").get_waiter("bucket_exists").wait(Bucket="b")
    boto3.client("dynamodb").get_waiter("table_exists").wait(TableName="t")
""",
        {"s3:ListBucket", "dynamodb:DescribeTable"},
    ),
    _case(
        "s3-transfer-helpers",
        """
import boto3

s3 = boto3.client("s3")

def roundtrip(path):
    s3.upload_file(path, "bucket", "key")
    s3.download_file("bucket", "key", path + ".copy")
""",
        {"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"},
    ),
    _case(
        "s3-copy",
        """
import boto3

def duplicate(key):
    boto3.client("s3").copy({"Bucket": "src", "Key": key}, "dst", key)
""",
        {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
    ),
    _case(
        "presigned-url-needs-nothing",
        """
import boto3

s3 = boto3.client("s3")

def link(key):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": key})
    return url, s3.list_buckets()
""",
        {"s3:ListAllMyBuckets"},
    ),
    _case(
        "sqs-resource",
        """
import boto3

def drain():
    queue = boto3.resource("sqs").get_queue_by_name(QueueName="jobs")
    queue.send_message(MessageBody="ping")
    for message in queue.receive_messages(MaxNumberOfMessages=10):
        message.delete()
""",
        {"sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"},
    ),
    _case(
        "lazy-global-client",
        """
import boto3

_client = None

def secrets():
    global _client
    if _client is None:
        _client = boto3.client("secretsmanager")
    return _client

def view():
    return secrets().get_secret_value(SecretId="db")
""",
        {"secretsmanager:GetSecretValue"},
    ),
    _case(
        "cached-factory-and-dict",
        """
import functools
import boto3

CLIENTS = {"kinesis": boto3.client("kinesis")}

@functools.lru_cache(maxsize=None)
def ssm():
    return boto3.client("ssm")

def handler(event, context):
    CLIENTS["kinesis"].put_record(StreamName="s", Data=b"x", PartitionKey="p")
    return ssm().get_parameter(Name="/app/flag")
""",
        {"kinesis:PutRecord", "ssm:GetParameter"},
    ),
    _case(
        "renamed-operations",
        """
import boto3

def notify(connection_id):
    boto3.client("apigatewaymanagementapi").post_to_connection(ConnectionId=connection_id, Data=b"")
    boto3.client("sqs").send_message_batch(QueueUrl="q", Entries=[])
    boto3.client("sesv2").send_email(Content={})
""",
        {"execute-api:ManageConnections", "sqs:SendMessage", "ses:SendEmail"},
    ),
    _case(
        "resource-meta-client-and-load",
        """
import boto3

dynamodb = boto3.resource("dynamodb")

def stats():
    table = dynamodb.Table("t")
    client = dynamodb.meta.client
    return table.item_count, client.describe_limits()
""",
        {"dynamodb:DescribeTable", "dynamodb:DescribeLimits"},
    ),
    _case(
        "relative-import-in-lib",
        """
from lib import files

def view(key):
    return files.read(key)
""",
        {"s3:GetObject"},
        __init__="",
        clients="""
import boto3

S3 = boto3.client("s3")
""",
        files="""
from .clients import S3

def read(key):
    return S3.get_object(Bucket="b", Key=key)["Body"].read()
""",
    ),
]
