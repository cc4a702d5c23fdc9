"""Entries of a bucket's notification configuration that invoke a function (others are kept)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import error_code
from deployer.deploy.kinds.base import (
    MISSING,
    Entry,
    Handler,
    Invoker,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    TriggerSource,
    Wired,
    WiringContext,
    delete_or_forget,
    dropped,
    exists,
    record_if_missing,
)

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.kinds.function import LambdaFunction
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "s3_notification"
# S3 checks that it may invoke the function when the notification is put.
AFTER: tuple[str, ...] = ("function", "permission")


@attrs.frozen
class S3Notification:
    """One entry of a bucket's ``LambdaFunctionConfigurations``; other entries are kept."""

    id: str
    bucket: str
    function_name: str
    function_arn: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None

    @property
    def key(self) -> str:
        return f"s3:{self.bucket}/{self.id}"


@attrs.frozen
class S3NotificationEntry(Entry):
    kind: ClassVar[str] = NAME
    bucket: str
    id: str


ENTRY = S3NotificationEntry


@attrs.frozen
class PutS3Notification(Step):
    kind: ClassVar[str] = NAME
    notification: S3Notification

    @property
    def message(self) -> str:
        n = self.notification
        return f"Putting S3 notification {n.id} on bucket {n.bucket}"

    @property
    def lane(self) -> str:
        # A bucket has one notification configuration, read and written whole.
        return f"s3:{self.notification.bucket}"


@attrs.frozen
class RemoveS3Notification(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Removing S3 notification {self.id} from bucket {self.bucket}"
    key: str
    bucket: str
    id: str

    @property
    def lane(self) -> str:
        return f"s3:{self.bucket}"


def _read_notifications(reader: Reader, bucket: str) -> tuple[Mapping[str, Any], ...] | None:
    s3 = reader.client("s3")
    found = reader.read(
        f"bucket {bucket!r} notifications",
        lambda: s3.get_bucket_notification_configuration(Bucket=bucket),
    )
    if found is None:
        return None
    return tuple(found.get("LambdaFunctionConfigurations", []))


def _bucket_exists(reader: Reader, bucket: str) -> bool:
    s3 = reader.client("s3")
    # HeadBucket has no body, so its "not found" is the bare status code.
    return exists(
        reader, f"s3 source {bucket!r}", lambda: s3.head_bucket(Bucket=bucket), MISSING | {"404"}
    )


READS = {
    "s3_notifications": Read("s3", _read_notifications),
    "bucket_exists": Read("s3", _bucket_exists),
}


# --- wiring ---------------------------------------------------------------------------------

WIRES: tuple[str, ...] = ("s3",)


def wire(source: Any, function: LambdaFunction, ctx: WiringContext) -> Wired:
    notification = S3Notification(
        id=function.function_name,
        bucket=source.bucket,
        function_name=function.function_name,
        function_arn=function.arn,
        events=tuple(sorted(source.events)),
        prefix=source.prefix or None,
        suffix=source.suffix or None,
    )
    # Bucket ARNs carry no account: S3's invoke permission names the account that owns it
    # ("Granting Lambda function access to AWS services": SourceAccount for Amazon S3).
    bucket = Invoker(
        "s3.amazonaws.com", f"arn:{ctx.partition}:s3:::{source.bucket}", ctx.account_id
    )
    return Wired((notification,), (bucket,))


def describe_source(source: TriggerSource) -> str:
    """How a missing-source line names it."""
    return f"S3 bucket {source.name!r}"


def source_command(source: TriggerSource, region: str) -> str:
    """The ``aws`` command that creates a missing one."""
    return f"aws s3 mb s3://{source.name} --region {shlex.quote(region)}"


def models(desired: DesiredState) -> tuple[S3Notification, ...]:
    return desired.s3_notifications


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("s3_notifications", (n.bucket,)) for n in desired.s3_notifications]


def trigger_sources(desired: DesiredState) -> list[TriggerSource]:
    return [
        TriggerSource("s3", n.bucket, n.function_name, question=("bucket_exists", (n.bucket,)))
        for n in desired.s3_notifications
    ]


def filter_rules(notification: S3Notification) -> list[dict[str, str]]:
    """The notification's key filter; rule names lowercase (S3 accepts both, moto only these)."""
    rules = []
    if notification.prefix:
        rules.append({"Name": "prefix", "Value": notification.prefix})
    if notification.suffix:
        rules.append({"Name": "suffix", "Value": notification.suffix})
    return rules


def _same(entry: Mapping[str, Any], notification: S3Notification) -> bool:
    rules = (entry.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
    actual = sorted((r["Name"].lower(), r["Value"]) for r in rules)
    expected = sorted((r["Name"], r["Value"]) for r in filter_rules(notification))
    return (
        entry.get("LambdaFunctionArn") == notification.function_arn
        and tuple(sorted(entry.get("Events", []))) == notification.events
        and actual == expected
    )


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    for notification in desired.s3_notifications:
        found = remote.ask("s3_notifications", notification.bucket)
        entries = {e.get("Id"): e for e in found or ()}
        entry = entries.get(notification.id)
        if entry is None or not _same(entry, notification):
            steps.append(PutS3Notification(notification))
            continue
        recorded = S3NotificationEntry(notification.bucket, notification.id)
        steps += record_if_missing(record, notification.key, recorded)
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    entries = dropped(record, S3NotificationEntry, keep).values()
    return [("s3_notifications", (e.bucket,)) for e in entries]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    def delete(key: str, e: S3NotificationEntry) -> Step | None:
        ids = {c.get("Id") for c in remote.ask("s3_notifications", e.bucket) or ()}
        return RemoveS3Notification(key, e.bucket, e.id) if e.id in ids else None

    return delete_or_forget(record, S3NotificationEntry, keep, delete)


def _bucket_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    current: dict[str, Any] = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    return current


def _entry(notification: S3Notification) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": notification.id,
        "LambdaFunctionArn": notification.function_arn,
        "Events": list(notification.events),
    }
    rules = filter_rules(notification)
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": rules}}
    return entry


def _put_s3_notification(ex: Executor, step: PutS3Notification) -> None:
    n = step.notification
    s3 = ex.client("s3")
    # A bucket has one notification configuration: read it now (not at plan time, another
    # instruction may have just changed it) and replace only our entry.
    config = _bucket_configuration(s3, n.bucket)
    others = [c for c in config.get("LambdaFunctionConfigurations", []) if c.get("Id") != n.id]
    config["LambdaFunctionConfigurations"] = [*others, _entry(n)]
    s3.put_bucket_notification_configuration(Bucket=n.bucket, NotificationConfiguration=config)
    ex.state.put(n.key, S3NotificationEntry(n.bucket, n.id))


def _remove_s3_notification(ex: Executor, step: RemoveS3Notification) -> None:
    s3 = ex.client("s3")
    try:
        config = _bucket_configuration(s3, step.bucket)
    except botocore.exceptions.ClientError as err:
        if error_code(err) != "NoSuchBucket":
            raise
    else:
        entries = config.get("LambdaFunctionConfigurations", [])
        kept = [c for c in entries if c.get("Id") != step.id]
        if len(kept) != len(entries):
            config["LambdaFunctionConfigurations"] = kept
            s3.put_bucket_notification_configuration(
                Bucket=step.bucket, NotificationConfiguration=config
            )
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    PutS3Notification: _put_s3_notification,
    RemoveS3Notification: _remove_s3_notification,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    """SAM's ``S3`` event only takes a bucket declared in the same template, and an app's bucket
    already exists: an output says which notification to configure (``fw deploy`` configures
    it itself through the S3 API), and S3's invoke permission, which no SAM event makes."""
    from deployer.package.cfn import invoke_permission

    for function in t.wired_by(WIRES):
        source = function.source
        # Bucket ARNs carry no account ("Granting Lambda function access to AWS services"):
        # pin the account so a bucket of the same name
        # elsewhere cannot invoke the function.
        bucket = f"arn:${{AWS::Partition}}:s3:::{source.bucket}"
        t.resources[f"{function.logical_id}S3Permission"] = invoke_permission(
            function.logical_id, "s3.amazonaws.com", bucket, account=True
        )
        t.notes.append(
            f"the template cannot subscribe {source.name!r} to the existing bucket"
            f" {source.bucket!r}; configure its notification after deploying (see Outputs)."
        )
        filters = []
        if source.prefix:
            filters.append(f"prefix {source.prefix!r}")
        if source.suffix:
            filters.append(f"suffix {source.suffix!r}")
        where = f" ({', '.join(filters)})" if filters else ""
        t.outputs[f"{function.logical_id}S3Notification"] = {
            "Description": (
                f"Configure bucket {source.bucket} to send {', '.join(source.events)}{where} "
                "to this function (SAM cannot add notifications to an existing bucket)"
            ),
            "Value": {"Fn::GetAtt": [function.logical_id, "Arn"]},
        }
