import functools
import os

import boto3


@functools.cache
def orders_table():
    return boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


@functools.cache
def queue_url():
    sqs = boto3.client("sqs")
    return sqs.get_queue_url(QueueName=os.environ["ORDERS_QUEUE"])["QueueUrl"]
