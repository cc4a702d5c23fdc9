import boto3


def test_boto3_reaches_the_moto_server_and_reset_isolates_tests(aws):
    s3 = boto3.client("s3")
    assert s3.meta.endpoint_url == aws
    s3.create_bucket(Bucket="isolation-check")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["isolation-check"]


def test_each_test_starts_from_an_empty_account(aws):
    assert boto3.client("s3").list_buckets()["Buckets"] == []
