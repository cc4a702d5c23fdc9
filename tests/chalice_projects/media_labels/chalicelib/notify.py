import json
import os

import boto3

REVIEW_LABELS = {"Weapon", "Person"}


def publish_labels(bucket, key, names):
    boto3.client("sns").publish(
        TopicArn=os.environ["RESULTS_TOPIC_ARN"],
        Subject="labels",
        Message=json.dumps({"bucket": bucket, "key": key, "labels": names}),
    )


def needs_review(names):
    return bool(REVIEW_LABELS.intersection(names))
