"""Realistic events as AWS services deliver them, for tests and ``fw generate-event``.

Field names and shapes follow what each service sends to Lambda, so a handler that works on
these works on the real ones.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
_TIME = "2026-01-01T00:00:00Z"


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def s3_event(
    bucket: str,
    key: str,
    event_name: str = "ObjectCreated:Put",
    size: int = 0,
    region: str = REGION,
) -> dict[str, Any]:
    """An S3 notification; ``key`` is encoded as S3 does (spaces as '+')."""
    from urllib.parse import quote_plus

    name = event_name[3:] if event_name.startswith("s3:") else event_name
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _TIME,
                "eventName": name,
                "userIdentity": {"principalId": "AWS:EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "fw-notification",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0A1B2C3D4E5F678901",
                    },
                },
            }
        ]
    }


def sns_event(
    message: str,
    subject: str = "",
    topic: str = "mytopic",
    message_attributes: dict[str, Any] | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    topic_arn = topic if topic.startswith("arn:") else f"arn:aws:sns:{region}:{ACCOUNT}:{topic}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{_uuid()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": _uuid(),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2026-01-01T00:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": message_attributes or {},
                },
            }
        ]
    }


def sqs_event(bodies: list[str], queue: str = "myqueue", region: str = REGION) -> dict[str, Any]:
    queue_arn = queue if queue.startswith("arn:") else f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}"
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": _uuid(),
                "receiptHandle": "AQEB" + _uuid().replace("-", ""),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767225600000",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1767225600001",
                },
                "messageAttributes": {},
                "md5OfBody": _md5(body),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode("utf-8")).hexdigest()


def cw_event(
    source: str = "aws.events",
    detail_type: str = "Scheduled Event",
    detail: dict[str, Any] | None = None,
    resources: list[str] | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """An EventBridge event; with the defaults, what a schedule rule delivers."""
    return {
        "version": "0",
        "id": _uuid(),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": _TIME,
        "region": region,
        "resources": resources
        if resources is not None
        else [f"arn:aws:events:{region}:{ACCOUNT}:rule/fw-rule"],
        "detail": detail or {},
    }


def schedule_event(rule: str = "fw-rule", region: str = REGION) -> dict[str, Any]:
    return cw_event(resources=[f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule}"], region=region)


def kinesis_event(
    data: Sequence[bytes | str], stream: str = "mystream", region: str = REGION
) -> dict[str, Any]:
    import base64

    records = []
    for index, item in enumerate(data):
        raw = item.encode("utf-8") if isinstance(item, str) else item
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": str(index),
                    "sequenceNumber": f"{49590338271490256608559692538361571095921575989136588898 + index}",
                    "data": base64.b64encode(raw).decode("ascii"),
                    "approximateArrivalTimestamp": 1767225600.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000000:{index}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/fw",
                "awsRegion": region,
                "eventSourceARN": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{stream}",
            }
        )
    return {"Records": records}


def dynamodb_event(
    new_images: list[dict[str, Any]] | None = None,
    table: str = "mytable",
    event_name: str = "INSERT",
    region: str = REGION,
) -> dict[str, Any]:
    """DynamoDB stream records; images in DynamoDB's typed JSON (``{"id": {"S": "1"}}``)."""
    images = new_images if new_images is not None else [{"id": {"S": "1"}}]
    records = []
    for index, image in enumerate(images):
        key_name = next(iter(image), "id")
        records.append(
            {
                "eventID": f"{index + 1:032x}",
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "ApproximateCreationDateTime": 1767225600,
                    "Keys": {key_name: image.get(key_name, {"S": "1"})},
                    "NewImage": image,
                    "SequenceNumber": f"{111 + index}",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}/stream/2026-01-01T00:00:00.000",
            }
        )
    return {"Records": records}


def apigateway_event(
    method: str = "GET",
    path: str = "/",
    body: str | None = None,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    stage: str = "api",
) -> dict[str, Any]:
    """A REST API (payload 1.0) proxy event for ``path``; ``resource`` is the route template.

    ``headers`` may repeat a name as ``(name, value)`` pairs: as "Set up Lambda proxy
    integrations in API Gateway" (multi-value headers) describes, ``headers`` keeps the last
    value and ``multiValueHeaders`` all of them.
    """
    from collections.abc import Mapping
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
    if body is not None and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return {
        "resource": resource or parts.path,
        "path": parts.path,
        "httpMethod": method.upper(),
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource or parts.path,
            "httpMethod": method.upper(),
            "extendedRequestId": "EXAMPLE=",
            "requestTime": "01/Jan/2026:00:00:00 +0000",
            "path": f"/{stage}{parts.path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "local",
            "requestTimeEpoch": 1767225600000,
            "requestId": _uuid(),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "fw"},
            "domainName": "localhost",
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def http_api_event(
    method: str = "GET",
    path: str = "/",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    route_key: str | None = None,
    path_parameters: dict[str, str] | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event; ``route_key`` defaults to ``"METHOD path"``.

    Shape: "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway" (payload format
    2.0): header names lower-case, repeated query keys joined with commas, cookies in a list.
    """
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(path)
    query = parse_qs(parts.query, keep_blank_values=True)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if body is not None and "content-type" not in headers:
        headers["content-type"] = "application/json"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method.upper()} {parts.path}",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": headers,
        "queryStringParameters": {k: ",".join(v) for k, v in query.items()} or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "fw",
            },
            "requestId": _uuid(),
            "routeKey": route_key or f"{method.upper()} {parts.path}",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = list(cookies)
    return event
