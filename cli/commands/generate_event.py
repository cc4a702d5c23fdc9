"""``fw generate-event KIND``: print a realistic event, to pipe into ``fw invoke --local``."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import click

from microframework import sample_events

from ..help import FullSummaryGroup


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise click.BadParameter(
            f"not valid JSON ({err.msg} at column {err.colno}): {value!r}"
        ) from None


def _emit(event: Any) -> None:
    click.echo(json.dumps(event, indent=2))


@click.group("generate-event", cls=FullSummaryGroup)
def command() -> None:
    """Print a sample event as an AWS service would deliver it (JSON on stdout)."""


@command.command("s3")
@click.option("--bucket", default="mybucket", show_default=True)
@click.option("--key", default="example.txt", show_default=True)
@click.option("--event-name", default="ObjectCreated:Put", show_default=True)
def _s3(bucket: str, key: str, event_name: str) -> None:
    """An S3 object notification."""
    _emit(sample_events.s3_event(bucket, key, event_name))


@command.command("sqs")
@click.option("--body", "bodies", multiple=True, help="A message body (repeatable).")
@click.option("--queue", default="myqueue", show_default=True)
def _sqs(bodies: tuple[str, ...], queue: str) -> None:
    """A batch of SQS messages."""
    _emit(sample_events.sqs_event(list(bodies) or ["hello"], queue))


@command.command("sns")
@click.option("--message", default="hello", show_default=True)
@click.option("--subject", default="", show_default=True)
@click.option("--topic", default="mytopic", show_default=True)
def _sns(message: str, subject: str, topic: str) -> None:
    """An SNS notification."""
    _emit(sample_events.sns_event(message, subject, topic))


@command.command("schedule")
@click.option("--rule", default="fw-rule", show_default=True, help="The EventBridge rule name.")
def _schedule(rule: str) -> None:
    """What an EventBridge schedule rule delivers."""
    _emit(sample_events.schedule_event(rule))


@command.command("cw")
@click.option("--source", default="aws.events", show_default=True)
@click.option("--detail-type", default="Scheduled Event", show_default=True)
@click.option("--detail", callback=_json_object, help="The detail object, as JSON.")
def _cw(source: str, detail_type: str, detail: Any) -> None:
    """An EventBridge (CloudWatch Events) event."""
    if detail is not None and not isinstance(detail, dict):
        raise click.BadParameter(f"must be a JSON object, got {detail!r}", param_hint="'--detail'")
    _emit(sample_events.cw_event(source, detail_type, detail))


@command.command("dynamodb")
@click.option("--table", default="mytable", show_default=True)
@click.option(
    "--image",
    "images",
    multiple=True,
    callback=lambda ctx, param, values: [_json_object(ctx, param, v) for v in values],
    help='A new image in DynamoDB JSON, like \'{"id": {"S": "1"}}\' (repeatable).',
)
@click.option(
    "--event-name",
    type=click.Choice(["INSERT", "MODIFY", "REMOVE"]),
    default="INSERT",
    show_default=True,
)
def _dynamodb(table: str, images: list[Any], event_name: str) -> None:
    """DynamoDB stream records."""
    for image in images:
        if not isinstance(image, dict):
            raise click.BadParameter(
                f"must be a JSON object, got {image!r}", param_hint="'--image'"
            )
    _emit(sample_events.dynamodb_event(images or None, table, event_name))


@command.command("kinesis")
@click.option("--data", "data", multiple=True, help="A record's data (repeatable).")
@click.option("--stream", default="mystream", show_default=True)
def _kinesis(data: tuple[str, ...], stream: str) -> None:
    """Kinesis records (data base64-encoded, as Kinesis delivers it)."""
    _emit(sample_events.kinesis_event(list(data) or ["hello"], stream))


def _query(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    for value in values:
        if not value.partition("=")[0]:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
    return list(values)


# RFC 9110 "Field Names": a token, so no spaces, colons or other separators.
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _header(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            raise click.BadParameter(f"expected 'Name: value', got {value!r}")
        pairs.append((name, text.strip()))
    return pairs


@command.command("apigateway")
@click.option("--method", default="GET", show_default=True)
@click.option("--path", default="/", show_default=True, help="The path, with a query if wanted.")
@click.option(
    "--query",
    "queries",
    multiple=True,
    callback=_query,
    metavar="NAME=VALUE",
    help="A query string parameter, URL-encoded for you (repeatable).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    callback=_header,
    metavar="'NAME: VALUE'",
    help="A request header (repeatable; a repeated name keeps every value).",
)
@click.option("--body", default=None, help="The request body (sent as JSON).")
def _apigateway(
    method: str,
    path: str,
    queries: list[str],
    headers: list[tuple[str, str]],
    body: str | None,
) -> None:
    """A REST API proxy event, as API Gateway sends the api_handler."""
    if not path.startswith("/"):
        raise click.BadParameter(f"must start with '/', got {path!r}", param_hint="'--path'")
    if queries:
        pairs = [query.partition("=")[::2] for query in queries]
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode(pairs)
    _emit(sample_events.apigateway_event(method, path, body, headers=headers))
