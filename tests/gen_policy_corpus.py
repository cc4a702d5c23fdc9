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
        "presigned-url-needs-the-signed-action",
        """
import boto3

s3 = boto3.client("s3")

def link(key):
    # The URL is signed with the role's credentials, so the role needs s3:GetObject.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": key})
    return url, s3.list_buckets()
""",
        {"s3:ListAllMyBuckets", "s3:GetObject"},
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
    # Real-world shapes: repositories and helpers in lib/, injected clients, sessions with
    # profiles, paginators in loops, meta.client, Step Functions, SQS queues by URL.
    _case(
        "lib-dynamodb-repository-class",
        """
import os
from microframework import App
from lib.repository import OrderRepository

app = App("orders")
repo = OrderRepository(os.environ["TABLE"])

@app.route("/orders/{order_id}")
def get_order(order_id):
    return repo.get(order_id)

@app.route("/orders", methods=["GET"])
def list_orders():
    return repo.list_for_customer(app.current_request.query_params["customer"])

@app.route("/orders/{order_id}", methods=["DELETE"])
def delete_order(order_id):
    repo.delete(order_id)
""",
        {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"},
        __init__="",
        repository='''
import boto3
from boto3.dynamodb.conditions import Key


class OrderRepository:
    """Orders in one DynamoDB table."""

    def __init__(self, table_name, resource=None):
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def get(self, order_id):
        return self._table.get_item(Key={"pk": order_id}).get("Item")

    def list_for_customer(self, customer):
        response = self._table.query(
            IndexName="by-customer", KeyConditionExpression=Key("customer").eq(customer)
        )
        return response["Items"]

    def delete(self, order_id):
        self._table.delete_item(Key={"pk": order_id})
''',
    ),
    _case(
        "lib-s3-helper-takes-a-client",
        """
import boto3
from microframework import App
from lib import storage

app = App("reports")
s3 = boto3.client("s3")

@app.route("/reports/{name}", methods=["PUT"])
def put_report(name):
    storage.save_json(s3, "reports", name, app.current_request.json_body)
    return {"url": storage.link(s3, "reports", name)}

@app.route("/reports/{name}")
def get_report(name):
    return storage.load_json(s3, "reports", name)
""",
        {"s3:PutObject", "s3:GetObject"},
        __init__="",
        storage="""
import json


def save_json(client, bucket, key, data):
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(data).encode())


def load_json(client, bucket, key):
    response = client.get_object(Bucket=bucket, Key=key)
    return json.loads(response["Body"].read())


def link(client, bucket, key, expires=300):
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )
""",
    ),
    _case(
        "session-with-profile",
        """
import os
import boto3

session = boto3.Session(profile_name=os.environ.get("AWS_PROFILE"), region_name="us-east-1")
secrets = session.client("secretsmanager")
table = session.resource("dynamodb").Table("settings")

def handler(event, context):
    password = secrets.get_secret_value(SecretId="db")["SecretString"]
    table.put_item(Item={"pk": "seen", "value": len(password)})
""",
        {"secretsmanager:GetSecretValue", "dynamodb:PutItem"},
    ),
    _case(
        "paginators-in-a-loop",
        """
import boto3

ssm = boto3.client("ssm")
lambda_client = boto3.client("lambda")

def load_settings(prefix):
    settings = {}
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix, Recursive=True, WithDecryption=True):
        for parameter in page["Parameters"]:
            settings[parameter["Name"]] = parameter["Value"]
    return settings

def function_names():
    names = []
    for page in lambda_client.get_paginator("list_functions").paginate():
        names.extend(f["FunctionName"] for f in page["Functions"])
    return names
""",
        {"ssm:GetParametersByPath", "lambda:ListFunctions"},
    ),
    _case(
        "resource-meta-client-upload-file",
        """
import boto3

s3 = boto3.resource("s3")
dynamodb = boto3.resource("dynamodb")

def publish(path, key):
    s3.meta.client.upload_file(path, "site", key)
    dynamodb.meta.client.batch_get_item(RequestItems={"pages": {"Keys": [{"pk": key}]}})
""",
        {"s3:PutObject", "s3:AbortMultipartUpload", "dynamodb:BatchGetItem"},
    ),
    _case(
        "bucket-meta-client",
        """
import boto3

bucket = boto3.resource("s3").Bucket("site")

def publish(path, key):
    bucket.upload_file(path, key)
    client = bucket.meta.client
    client.put_object_acl(Bucket="site", Key=key, ACL="public-read")
""",
        {"s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"},
    ),
    _case(
        "step-functions-client",
        """
import json
import boto3
from microframework import App

app = App("workflows")
sfn = boto3.client("stepfunctions")

@app.route("/runs", methods=["POST"])
def start_run():
    response = sfn.start_execution(stateMachineArn="arn", input=json.dumps({}))
    return {"executionArn": response["executionArn"]}

@app.route("/runs/{arn}")
def run_status(arn):
    return {"status": sfn.describe_execution(executionArn=arn)["status"]}

@app.lambda_function()
def callback(event, context):
    sfn.send_task_success(taskToken=event["token"], output="{}")
""",
        {"states:StartExecution", "states:DescribeExecution", "states:SendTaskSuccess"},
    ),
    _case(
        "sqs-queue-by-url",
        """
import os
import boto3

sqs = boto3.resource("sqs")

def enqueue(jobs):
    queue = sqs.Queue(os.environ["QUEUE_URL"])
    queue.send_messages(Entries=[{"Id": str(i), "MessageBody": j} for i, j in enumerate(jobs)])

def enqueue_one(job):
    sqs.Queue(os.environ["QUEUE_URL"]).send_message(MessageBody=job)
""",
        {"sqs:SendMessage"},
    ),
    _case(
        "repo-injected-resource",
        """
import boto3
from lib.repo import Repo

repo = Repo(boto3.resource("dynamodb"), "users")

def handler(event, context):
    return repo.find(event["id"]), repo.scan_all()
""",
        {"dynamodb:GetItem", "dynamodb:Scan"},
        __init__="",
        repo="""
class Repo:
    def __init__(self, resource, name):
        self.table = resource.Table(name)
        self.client = resource.meta.client

    def find(self, key):
        return self.table.get_item(Key={"pk": key})

    def scan_all(self):
        items = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table.name):
            items.extend(page["Items"])
        return items
""",
    ),
    _case(
        "class-attribute-client",
        """
import boto3

class Notifier:
    sns = boto3.client("sns")

    def send(self, message):
        self.sns.publish(TopicArn="t", Message=message)

    @classmethod
    def send_all(cls, messages):
        for m in messages:
            cls.sns.publish(TopicArn="t", Message=m)

def handler(event, context):
    Notifier().send("x")
""",
        {"sns:Publish"},
    ),
    _case(
        "keyword-argument-client",
        """
import boto3

def archive(key, *, client, bucket="archive"):
    client.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": "b", "Key": key})

def handler(event, context):
    archive("k", client=boto3.client("s3"))
""",
        {"s3:PutObject", "s3:GetObject"},
    ),
    _case(
        "presigned-post-puts-the-object",
        """
import boto3

def upload_form(key):
    return boto3.client("s3").generate_presigned_post(Bucket="uploads", Key=key)
""",
        {"s3:PutObject"},
    ),
    _case(
        "pass-role-to-a-service",
        """
import os
import boto3

sfn = boto3.client("stepfunctions")
lam = boto3.client("lambda")

def make_machine(definition):
    # roleArn is required: Step Functions acts as that role, so the caller passes it.
    sfn.create_state_machine(name="m", definition=definition, roleArn=os.environ["ROLE"])

def retune(name):
    # Role is optional here and not given: nothing is passed.
    lam.update_function_configuration(FunctionName=name, MemorySize=256)
""",
        {"states:CreateStateMachine", "iam:PassRole", "lambda:UpdateFunctionConfiguration"},
    ),
    _case(
        "pass-role-inside-a-target",
        """
import boto3

events = boto3.client("events")

def to_queue(rule, queue_arn):
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])

def to_ecs(rule, cluster_arn, role_arn):
    events.put_targets(
        Rule=rule, Targets=[{"Id": "e", "Arn": cluster_arn, "RoleArn": role_arn}]
    )
""",
        {"events:PutTargets", "iam:PassRole"},
    ),
    _case(
        "no-role-given-no-pass-role",
        """
import boto3

events = boto3.client("events")

def to_queue(rule, queue_arn):
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
""",
        {"events:PutTargets"},
    ),
]
