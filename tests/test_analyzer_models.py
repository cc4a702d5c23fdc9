"""Lookups in botocore's and boto3's models, as the analyzer uses them."""

from __future__ import annotations

from deployer.policy import service_models as models


def test_method_names_come_from_botocore() -> None:
    ops = models.method_operations("s3")
    assert ops["list_objects_v2"] == "ListObjectsV2"
    assert ops["put_object"] == "PutObject"
    assert "generate_presigned_url" not in ops


def test_waiter_operation_accepts_client_and_resource_names() -> None:
    assert models.waiter_operation("s3", "bucket_exists") == "HeadBucket"
    assert models.waiter_operation("dynamodb", "TableExists") == "DescribeTable"
    assert models.waiter_operation("s3", "nope") is None
    assert models.waiter_operation("sns", "anything") is None  # sns has no waiters file


def test_service_resource_exposes_every_resource_type() -> None:
    s3 = models.resource_type("s3", None)
    assert s3 is not None
    assert s3.subresources["Object"] == "Object"
    assert s3.collections["buckets"] == ("ListBuckets", "Bucket")
    assert s3.action_results["create_bucket"] == ("Bucket", False)


def test_resource_type_details() -> None:
    table = models.resource_type("dynamodb", "Table")
    assert table is not None
    assert table.actions["put_item"] == ("PutItem",)
    assert table.load_operation == "DescribeTable"
    assert "item_count" in table.attributes and "name" not in table.attributes
    queue = models.resource_type("sqs", "Queue")
    assert queue is not None and queue.action_results["receive_messages"] == ("Message", True)


def test_services_without_resources() -> None:
    assert not models.has_resources("lambda")
    assert models.resource_type("lambda", None) is None
    assert models.service_exists("stepfunctions") and not models.service_exists("s4")
