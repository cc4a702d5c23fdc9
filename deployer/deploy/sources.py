"""The resources an app's triggers read from (buckets, topics, queues, streams): fw never creates
them, so a deploy whose trigger names one that does not exist is refused before any write, one
line per missing resource with the ``aws`` command that creates it.

Without this, the plan runs until the notification, subscription or mapping, and stops halfway
with the functions, role and API already made.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import attrs

from deployer.deploy import kinds
from deployer.deploy.kinds.base import Question, RemoteState, TriggerSource
from deployer.deploy.models import DesiredState
from deployer.errors import DeployError

__all__ = ["TriggerSource", "check_sources", "source_reads", "trigger_sources"]

# "Creating and configuring an Amazon SQS event source mapping" (Lambda): set the queue's
# visibility timeout to at least six times the function's timeout; SQS's own default is 30 s,
# and its maximum 12 hours ("Amazon SQS visibility timeout").
_VISIBILITY_FACTOR = 6
_MAX_VISIBILITY = 43_200


def trigger_sources(desired: DesiredState) -> Iterator[TriggerSource]:
    """Every resource the stage's triggers name, in the plan's order, each once; the kinds
    that wire triggers (S3, SNS, mappings) list theirs."""
    timeouts = {f.function_name: f.settings.timeout for f in desired.functions}
    seen: set[tuple[str, str]] = set()
    for kind in kinds.KINDS:
        listed = getattr(kind, "trigger_sources", None)
        for source in listed(desired) if listed else ():
            if (source.kind, source.name) not in seen:
                seen.add((source.kind, source.name))
                timeout = timeouts.get(source.function_name, 60)
                yield attrs.evolve(source, timeout=timeout)


def source_reads(desired: DesiredState) -> list[Question]:
    """The questions :func:`check_sources` asks, for the prefetch."""
    return [s.question for s in trigger_sources(desired)]


def check_sources(desired: DesiredState, remote: RemoteState) -> None:
    """Refuse the plan if a resource a trigger names does not exist (one line per resource)."""
    missing = [s for s in trigger_sources(desired) if not remote.ask(*_flat(s.question))]
    if not missing:
        return
    region = desired.region
    count = "1 resource" if len(missing) == 1 else f"{len(missing)} resources"
    lines = [
        f"the app's triggers name {count} that does not exist in {region} (fw does not create"
        " them; nothing was changed): create each, then deploy again"
    ]
    if len(missing) > 1:
        lines[0] = lines[0].replace("does not exist", "do not exist")
    lines += [
        f"  {_describe(s)} ({s.function_name}): {_create_command(s, region)}" for s in missing
    ]
    raise DeployError("\n".join(lines))


def _flat(question: Question) -> tuple[Any, ...]:
    return (question[0], *question[1])


def _arn_part(arn: str, index: int) -> str:
    parts = arn.split(":", 5)
    return parts[index] if len(parts) == 6 else arn


def _describe(source: TriggerSource) -> str:
    if source.kind == "s3":
        return f"S3 bucket {source.name!r}"
    if source.kind == "sns":
        return f"SNS topic {_arn_part(source.name, 5)!r}"
    if source.kind == "sqs":
        return f"SQS queue {_arn_part(source.name, 5)!r}"
    if source.kind == "kinesis":
        return f"Kinesis stream {_arn_part(source.name, 5).removeprefix('stream/')!r}"
    return f"DynamoDB stream {source.name}"


def _create_command(source: TriggerSource, region: str) -> str:
    name = _arn_part(source.name, 5)
    region = _arn_part(source.name, 3) if source.kind != "s3" else region
    quoted = shlex.quote
    if source.kind == "s3":
        return f"aws s3 mb s3://{source.name} --region {quoted(region)}"
    if source.kind == "sns":
        return f"aws sns create-topic --name {quoted(name)} --region {quoted(region)}"
    if source.kind == "sqs":
        visibility = min(_MAX_VISIBILITY, max(30, _VISIBILITY_FACTOR * source.timeout))
        attributes = f"VisibilityTimeout={visibility}"
        if name.endswith(".fifo"):
            attributes += ",FifoQueue=true"
        return (
            f"aws sqs create-queue --queue-name {quoted(name)} --attributes {attributes}"
            f" --region {quoted(region)}"
        )
    if source.kind == "kinesis":
        stream = name.removeprefix("stream/")
        return (
            f"aws kinesis create-stream --stream-name {quoted(stream)} --shard-count 1"
            f" --region {quoted(region)}"
        )
    # arn:...:table/<table>/stream/<label>: a new stream gets a new label, so the app must name
    # the ARN DynamoDB reports for it.
    table = name.split("/")[1] if name.count("/") >= 3 else name
    return (
        f"aws dynamodb update-table --table-name {quoted(table)} --stream-specification"
        f" StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES --region {quoted(region)}"
        " (then use its LatestStreamArn in the app)"
    )
