from microframework.testing import Client

from app import app


def test_index():
    with Client(app) as client:
        assert client.http.get("/").json_body == {"hello": "world"}


def test_schedule():
    with Client(app) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {})
        assert "ran_at" in client.lambda_.invoke("every_hour", event).payload


def test_upload():
    with Client(app) as client:
        event = client.events.generate_s3_event("{{uploads_bucket}}", "photos/cat.jpg")
        result = client.lambda_.invoke("on_upload", event).payload
    assert result == {"bucket": "{{uploads_bucket}}", "key": "photos/cat.jpg"}


def test_jobs():
    with Client(app) as client:
        event = client.events.generate_sqs_event(["one", "two"], "{{resource_prefix}}-jobs")
        assert client.lambda_.invoke("on_job", event).payload is None
