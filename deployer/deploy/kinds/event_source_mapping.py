"""Event source mappings: Lambda polls an SQS queue, a Kinesis stream or a DynamoDB stream."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import error_code, error_message, ignore_gone
from deployer.deploy.kinds import function as function_kind
from deployer.deploy.kinds.base import (
    DENIED,
    MISSING,
    Entry,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    TriggerSource,
    Wired,
    WiringContext,
    all_pages,
    arn_part,
    delete_or_forget,
    dropped,
    exists,
    in_region,
    record_if_missing,
)
from deployer.errors import DeployError

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "event_source_mapping"
# Lambda checks the function's role against the source when the mapping is made.
AFTER: tuple[str, ...] = ("role", "function")


@attrs.frozen
class EventSourceMapping:
    """An SQS, Kinesis or DynamoDB stream mapping; Lambda polls the source."""

    source_kind: str  # "sqs", "kinesis", "dynamodb"
    source_arn: str
    function_name: str
    batch_size: int
    maximum_batching_window_in_seconds: int = 0
    starting_position: str | None = None  # streams only
    function_response_types: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"mapping:{self.function_name}:{self.source_arn}"


@attrs.frozen
class MappingEntry(Entry):
    kind: ClassVar[str] = NAME
    uuid: str
    source_arn: str
    function_name: str


ENTRY = MappingEntry


@attrs.frozen
class RemoteMapping:
    uuid: str
    source_arn: str
    batch_size: int
    maximum_batching_window_in_seconds: int
    function_response_types: tuple[str, ...] = ()
    starting_position: str | None = None  # streams only


@attrs.frozen
class RemoteQueue:
    arn: str
    visibility_timeout: int  # seconds


@attrs.frozen
class CreateMapping(Step):
    kind: ClassVar[str] = NAME
    mapping: EventSourceMapping

    @property
    def message(self) -> str:
        m = self.mapping
        return f"Creating {m.source_kind} event source mapping {m.source_arn} -> {m.function_name}"

    @property
    def lane(self) -> str:
        return self.mapping.key


@attrs.frozen
class UpdateMapping(Step):
    kind: ClassVar[str] = NAME
    uuid: str
    mapping: EventSourceMapping

    @property
    def message(self) -> str:
        m = self.mapping
        return f"Updating {m.source_kind} event source mapping {m.source_arn} -> {m.function_name}"

    @property
    def lane(self) -> str:
        return self.mapping.key


@attrs.frozen
class DeleteMapping(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Deleting event source mapping {self.source_arn} ({self.uuid})"
    key: str
    uuid: str
    source_arn: str


# --- reads ----------------------------------------------------------------------------------


def _read_mappings(reader: Reader, function_name: str) -> tuple[RemoteMapping, ...]:
    client = reader.client("lambda")
    items = reader.read(
        f"event source mappings of {function_name!r}",
        lambda: all_pages(
            client, "list_event_source_mappings", "EventSourceMappings", FunctionName=function_name
        ),
    )
    return tuple(
        RemoteMapping(
            uuid=item["UUID"],
            source_arn=item.get("EventSourceArn", ""),
            batch_size=item.get("BatchSize") or 0,
            maximum_batching_window_in_seconds=item.get("MaximumBatchingWindowInSeconds") or 0,
            function_response_types=tuple(item.get("FunctionResponseTypes") or ()),
            starting_position=item.get("StartingPosition"),
        )
        for item in items or ()
    )


def _read_queue(reader: Reader, arn: str) -> RemoteQueue | None:
    # arn:<partition>:sqs:<region>:<account>:<name>; the URL is asked for, not built, as
    # its host differs between partitions and endpoints.
    parts = arn.split(":")
    if len(parts) != 6:
        return None
    account, name = parts[4], parts[5]
    sqs = reader.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
            "Attributes"
        ]
    except botocore.exceptions.ClientError as err:
        # Only a check ahead of Lambda's own: a queue fw may not read (another account's,
        # or a deploy role without SQS reads) is not checked, and Lambda still refuses a
        # bad mapping with its own message.
        if error_code(err) in MISSING or error_code(err) in DENIED:
            return None
        raise DeployError(
            f"reading queue {arn!r} failed ({err.operation_name}): {error_message(err)}"
        ) from err
    except botocore.exceptions.BotoCoreError as err:
        raise DeployError(f"reading queue {arn!r} failed: {error_message(err)}") from err
    return RemoteQueue(arn, int(attributes.get("VisibilityTimeout", 30)))


def _queue_exists(reader: Reader, arn: str) -> bool:
    if not in_region(reader, arn):
        return True  # AWS judges a queue in another region when the mapping is made
    parts = arn.split(":", 5)
    sqs = reader.client("sqs")
    call = lambda: sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])  # noqa: E731
    return exists(reader, f"sqs source {arn!r}", call, MISSING)


def _kinesis_exists(reader: Reader, arn: str) -> bool:
    if not in_region(reader, arn):
        return True
    stream = arn.split(":", 5)[5].removeprefix("stream/")
    kinesis = reader.client("kinesis")
    call = lambda: kinesis.describe_stream_summary(StreamName=stream)  # noqa: E731
    return exists(reader, f"kinesis source {arn!r}", call, MISSING)


def _dynamodb_exists(reader: Reader, arn: str) -> bool:
    if not in_region(reader, arn):
        return True
    streams = reader.client("dynamodbstreams")
    call = lambda: streams.describe_stream(StreamArn=arn)  # noqa: E731
    return exists(reader, f"dynamodb source {arn!r}", call, MISSING)


READS = {
    "event_source_mappings": Read("lambda", _read_mappings),
    "queue": Read("sqs", _read_queue),
    "queue_exists": Read("sqs", _queue_exists),
    "kinesis_stream_exists": Read("kinesis", _kinesis_exists),
    "dynamodb_stream_exists": Read("dynamodbstreams", _dynamodb_exists),
}
_EXISTS = {
    "sqs": "queue_exists",
    "kinesis": "kinesis_stream_exists",
    "dynamodb": "dynamodb_stream_exists",
}


# --- plan -----------------------------------------------------------------------------------


# --- wiring ---------------------------------------------------------------------------------

WIRES: tuple[str, ...] = ("sqs", "kinesis", "dynamodb")


def wire(source: Any, function: function_kind.LambdaFunction, ctx: WiringContext) -> Wired:
    """A mapping Lambda polls with the function's own role: no invoke permission."""
    from deployer.policy.triggers import source_arn

    arn = source_arn(source, ctx.scope)
    assert arn is not None
    batching = source.maximum_batching_window_in_seconds or 0
    if source.kind == "sqs":
        mapping = EventSourceMapping(
            source_kind="sqs",
            source_arn=arn,
            function_name=function.function_name,
            batch_size=source.batch_size,
            maximum_batching_window_in_seconds=batching,
            # SQS handlers report partial batch failures (the runtime returns them).
            function_response_types=("ReportBatchItemFailures",),
        )
    else:
        mapping = EventSourceMapping(
            source_kind=source.kind,
            source_arn=arn,
            function_name=function.function_name,
            batch_size=source.batch_size,
            maximum_batching_window_in_seconds=batching,
            starting_position=source.starting_position,
        )
    return Wired((mapping,))


def describe_source(source: TriggerSource) -> str:
    if source.kind == "sqs":
        return f"SQS queue {arn_part(source.name, 5)!r}"
    if source.kind == "kinesis":
        return f"Kinesis stream {arn_part(source.name, 5).removeprefix('stream/')!r}"
    return f"DynamoDB stream {source.name}"


# "Creating and configuring an Amazon SQS event source mapping" (Lambda): set the queue's
# visibility timeout to at least six times the function's timeout; SQS's own default is 30 s,
# and its maximum 12 hours ("Amazon SQS visibility timeout").
_VISIBILITY_FACTOR = 6
_MAX_VISIBILITY = 43_200


def source_command(source: TriggerSource, region: str) -> str:
    name = arn_part(source.name, 5)
    quoted = shlex.quote
    region = quoted(arn_part(source.name, 3))
    if source.kind == "sqs":
        visibility = min(_MAX_VISIBILITY, max(30, _VISIBILITY_FACTOR * source.timeout))
        attributes = f"VisibilityTimeout={visibility}"
        if name.endswith(".fifo"):
            attributes += ",FifoQueue=true"
        return (
            f"aws sqs create-queue --queue-name {quoted(name)} --attributes {attributes}"
            f" --region {region}"
        )
    if source.kind == "kinesis":
        stream = name.removeprefix("stream/")
        return (
            f"aws kinesis create-stream --stream-name {quoted(stream)} --shard-count 1"
            f" --region {region}"
        )
    # arn:...:table/<table>/stream/<label>: a new stream gets a new label, so the app must name
    # the ARN DynamoDB reports for it.
    table = name.split("/")[1] if name.count("/") >= 3 else name
    return (
        f"aws dynamodb update-table --table-name {quoted(table)} --stream-specification"
        f" StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES --region {region}"
        " (then use its LatestStreamArn in the app)"
    )


def models(desired: DesiredState) -> tuple[EventSourceMapping, ...]:
    return desired.mappings


def reads(desired: DesiredState, record: Record) -> list[Question]:
    questions: list[Question] = [
        ("event_source_mappings", (m.function_name,)) for m in desired.mappings
    ]
    questions += [("queue", (m.source_arn,)) for m in desired.mappings if m.source_kind == "sqs"]
    return questions


def trigger_sources(desired: DesiredState) -> list[TriggerSource]:
    return [
        TriggerSource(
            m.source_kind,
            m.source_arn,
            m.function_name,
            question=(_EXISTS[m.source_kind], (m.source_arn,)),
        )
        for m in desired.mappings
    ]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    for mapping in desired.mappings:
        exists = function_kind.found(remote, mapping.function_name) is not None
        steps += _plan_mapping(mapping, remote, record, exists)
    _check_queues(desired, remote, steps)
    return steps


def _plan_mapping(
    mapping: EventSourceMapping, remote: RemoteState, record: Record, function_exists: bool
) -> list[Step]:
    found_all: tuple[RemoteMapping, ...] = ()
    if function_exists:
        found_all = remote.ask("event_source_mappings", mapping.function_name)
    for found in found_all:
        if found.source_arn != mapping.source_arn:
            continue
        if mapping.starting_position and found.starting_position != mapping.starting_position:
            # UpdateEventSourceMapping cannot change where a stream is read from.
            delete = DeleteMapping(mapping.key, found.uuid, mapping.source_arn)
            return [delete, CreateMapping(mapping)]
        entry = MappingEntry(found.uuid, mapping.source_arn, mapping.function_name)
        steps = record_if_missing(record, mapping.key, entry)
        if (
            found.batch_size != mapping.batch_size
            or found.maximum_batching_window_in_seconds
            != mapping.maximum_batching_window_in_seconds
            or tuple(sorted(found.function_response_types))
            != tuple(sorted(mapping.function_response_types))
        ):
            steps.append(UpdateMapping(found.uuid, mapping))
        return steps
    return [CreateMapping(mapping)]


def _check_queues(desired: DesiredState, remote: RemoteState, steps: list[Step]) -> None:
    """Refuse a mapping the plan writes whose function outlasts its queue's visibility timeout.

    "Creating and configuring an Amazon SQS event source mapping" (Lambda): the function's
    timeout must be less than or equal to the queue's visibility timeout, and Lambda checks it
    when it creates or updates the mapping (not when the function's timeout changes later), so
    a mapping left as it is is not checked; the page advises six times the function timeout.
    """
    timeouts = {f.function_name: f.settings.timeout for f in desired.functions}
    written = [s.mapping for s in steps if isinstance(s, (CreateMapping, UpdateMapping))]
    for mapping in written:
        if mapping.source_kind != "sqs":
            continue
        queue: RemoteQueue | None = remote.ask("queue", mapping.source_arn)
        timeout = timeouts.get(mapping.function_name)
        if queue is None or timeout is None or timeout <= queue.visibility_timeout:
            continue
        raise DeployError(
            f"function {mapping.function_name} has a timeout of {timeout} s, longer than the"
            f" visibility timeout of its queue {mapping.source_arn} ({queue.visibility_timeout} s),"
            " and Lambda refuses such a mapping; set lambda_timeout to at most"
            f" {queue.visibility_timeout} or raise the queue's VisibilityTimeout (AWS advises six"
            " times the function timeout)"
        )


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    entries = dropped(record, MappingEntry, keep).values()
    return [("event_source_mappings", (e.function_name,)) for e in entries]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    def delete(key: str, e: MappingEntry) -> Step | None:
        uuids = {m.uuid for m in remote.ask("event_source_mappings", e.function_name)}
        return DeleteMapping(key, e.uuid, e.source_arn) if e.uuid in uuids else None

    return delete_or_forget(record, MappingEntry, keep, delete)


# --- executor -------------------------------------------------------------------------------


def _settings(mapping: EventSourceMapping) -> dict[str, Any]:
    return {
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.maximum_batching_window_in_seconds,
        "FunctionResponseTypes": list(mapping.function_response_types),
    }


def _create_mapping(ex: Executor, step: CreateMapping) -> None:
    m = step.mapping
    kwargs = _settings(m)
    if m.starting_position:
        kwargs["StartingPosition"] = m.starting_position
    client = ex.client("lambda")
    # Lambda checks the role's access to the source now, so a policy just put may not be seen.
    result = ex.with_role_retry(
        lambda: client.create_event_source_mapping(
            EventSourceArn=m.source_arn, FunctionName=m.function_name, Enabled=True, **kwargs
        ),
        m.function_name,
        m.source_arn,
    )
    ex.state.put(m.key, MappingEntry(result["UUID"], m.source_arn, m.function_name))


def _update_mapping(ex: Executor, step: UpdateMapping) -> None:
    ex.client("lambda").update_event_source_mapping(UUID=step.uuid, **_settings(step.mapping))


def _delete_mapping(ex: Executor, step: DeleteMapping) -> None:
    ignore_gone(lambda: ex.client("lambda").delete_event_source_mapping(UUID=step.uuid))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    CreateMapping: _create_mapping,
    UpdateMapping: _update_mapping,
    DeleteMapping: _delete_mapping,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    from deployer.package.cfn import substituted
    from deployer.policy.triggers import CLOUDFORMATION_SCOPE, source_arn

    for function in t.wired_by(WIRES):
        source = function.source
        arn = source_arn(source, CLOUDFORMATION_SCOPE)
        assert arn is not None
        properties: dict[str, Any] = {
            "Queue" if source.kind == "sqs" else "Stream": substituted(arn),
        }
        if source.kind != "sqs":
            properties["StartingPosition"] = source.starting_position
        properties["BatchSize"] = source.batch_size
        if source.kind == "sqs":
            # SQS handlers may report the messages that failed; without this Lambda ignores the
            # report and retries the whole batch.
            properties["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if source.maximum_batching_window_in_seconds:
            properties["MaximumBatchingWindowInSeconds"] = source.maximum_batching_window_in_seconds
        types = {"sqs": "SQS", "kinesis": "Kinesis", "dynamodb": "DynamoDB"}
        event_id = "Queue" if source.kind == "sqs" else "Stream"
        t.add_event(function, event_id, {"Type": types[source.kind], "Properties": properties})
