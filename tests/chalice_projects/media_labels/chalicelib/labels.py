"""Image labels from Rekognition, stored beside the image in S3."""

import json

import boto3

_rekognition = boto3.client("rekognition")
_s3 = boto3.client("s3")


def detect(bucket, key, min_confidence=75.0):
    response = _rekognition.detect_labels(
        Image={"S3Object": {"Bucket": bucket, "Name": key}},
        MaxLabels=10,
        MinConfidence=min_confidence,
    )
    return sorted(label["Name"] for label in response["Labels"])


def save_result(bucket, key, names):
    _s3.put_object(
        Bucket=bucket,
        Key="labels/" + key.rsplit("/", 1)[-1] + ".json",
        Body=json.dumps({"key": key, "labels": names}).encode("utf-8"),
        ContentType="application/json",
    )


def flag(bucket, key):
    _s3.copy_object(
        Bucket=bucket,
        Key="review/" + key.rsplit("/", 1)[-1],
        CopySource={"Bucket": bucket, "Key": key},
    )
