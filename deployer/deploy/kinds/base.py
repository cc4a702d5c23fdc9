"""What every resource kind module is made of: record entries, instructions, remote reads.

A kind module (``role``, ``function``, ``rest_api``...) subclasses :class:`Entry` for what the
record keeps of its resources and :class:`Step` for its instructions, and answers its questions
about AWS through :class:`Reader`. ``kinds/__init__`` lists the modules; the planner, the
prefetch, the removals, the executor's table and the SAM template loop over that list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import AwsContext, error_code, error_message
from deployer.errors import DeployError

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.state import Record

__all__ = [
    "CodeArtifact",
    "DENIED",
    "DEPLOYMENT_TAG",
    "MISSING",
    "Candidate",
    "Entry",
    "ForgetResource",
    "Handler",
    "Question",
    "Read",
    "Reader",
    "RecordResource",
    "References",
    "RemoteState",
    "Step",
    "Invoker",
    "TriggerSource",
    "Wired",
    "WiringContext",
    "all_pages",
    "arn_part",
    "adopt",
    "planned_url",
    "deployment_of",
    "delete_or_forget",
    "dropped",
    "duplicate_deletions",
    "named_api_removal_reads",
    "named_api_removals",
    "record_if_missing",
    "refuse_other_deployment",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound="Entry")

# A question for AWS: (read name, args). Read names are unique across the kinds (checked).
Question = tuple[str, tuple[Any, ...]]
Handler = Callable[["Executor", Any], None]

# Error codes that mean "not there" for the reads.
MISSING = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NoSuchBucket",
    "NotFound", "NoSuchKey", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
})  # fmt: skip
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError"})

# The tag fw puts on what it creates; its value names the deployment (:func:`deployment_of`).
DEPLOYMENT_TAG = "fw:deployment"


@attrs.frozen
class CodeArtifact:
    """A zip on disk and the hash Lambda reports for it (``CodeSha256``)."""

    path: Path
    code_sha256: str
    size: int


# --- the record ---------------------------------------------------------------------------


@attrs.frozen
class Entry:
    """What the record keeps of one resource; each kind subclasses it with its ids."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **attrs.asdict(self)}

    def references(self) -> dict[str, str]:
        """Placeholders this resource's ids resolve (the REST API's id, the layer's ARN)."""
        return {}

    @classmethod
    def from_json(cls: type[_E], data: Mapping[str, Any]) -> _E:
        names = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def dropped(record: Record, entry_type: type[_E], keep: frozenset[str]) -> dict[str, _E]:
    """The recorded entries of one kind whose keys are not in ``keep``, by sorted key."""
    return {
        key: entry
        for key, entry in sorted(record.resources.items())
        if isinstance(entry, entry_type) and key not in keep
    }


def delete_or_forget(
    record: Record,
    entry_type: type[_E],
    keep: frozenset[str],
    delete: Callable[[str, _E], Step | None],
) -> list[Step]:
    """The removals of one kind's recorded resources not in ``keep``: ``delete(key, entry)``
    gives the step that deletes one, or None when AWS no longer has it, which is then only
    forgotten (so a second ``fw delete``, or one after a manual cleanup, is harmless)."""
    return [
        delete(key, entry) or ForgetResource(key)
        for key, entry in dropped(record, entry_type, keep).items()
    ]


def record_if_missing(record: Record, key: str, entry: Entry) -> list[Step]:
    """Adopt a resource AWS has but the record lacks (or records with other ids)."""
    return [] if record.get(key) == entry else [RecordResource(key, entry)]


# --- what fw made, and for which deployment --------------------------------------------------


def deployment_of(app_name: str, stage: str) -> str:
    """The value of :data:`DEPLOYMENT_TAG`: app ``shop`` stage ``eu-dev`` and app ``shop-eu``
    stage ``dev`` give their resources the same names, but not the same tag."""
    return f"{app_name}/{stage}"


@attrs.frozen
class Candidate:
    """One resource AWS has under a name fw looks for (an API: names need not be unique)."""

    id: str
    created: str  # sorts oldest first
    made_by_fw: bool
    deployment: str | None = None  # its DEPLOYMENT_TAG value; None: untagged


def adopt(
    by_id: Candidate | None, named: list[Candidate], deployment: str
) -> tuple[Candidate, tuple[str, ...]] | None:
    """The resource to use, and the extra copies fw made for ``deployment`` to delete.

    Creates such as ``CreateRestApi`` are not idempotent: a create botocore retried after a
    read timeout may leave two. With no usable id on record (a deploy cut short right after the
    create, or a lost record), the oldest one tagged for this deployment is adopted; failing
    that, the oldest untagged one fw made (fw before the tag), or one another deployment tagged
    (the caller refuses it: see :func:`refuse_other_deployment`). What fw did not make (a
    Chalice deployment's API has the same name) is never adopted: fw makes its own. Only those
    tagged for this deployment are copies: an untagged one may be another deployment's.
    """
    oldest_first = sorted(named, key=lambda c: (c.created, c.id))
    ours = [c for c in oldest_first if c.made_by_fw and c.deployment == deployment]
    legacy = [c for c in oldest_first if c.made_by_fw and c.deployment is None]
    others = [c for c in oldest_first if c.made_by_fw and c.deployment not in (None, deployment)]
    found = by_id
    if found is None:
        found = next(iter(ours or legacy or others), None)
    if found is None:
        return None
    return found, tuple(c.id for c in ours if c.id != found.id)


# Builds the step deleting one API: (record key, API id, name, whether it is an extra copy).
ApiDeletion = Callable[[str, str, str, bool], "Step"]


def duplicate_deletions(key: str, name: str, found: Any, delete: ApiDeletion) -> list[Step]:
    """The deletions of the extra copies of an API that ``adopt`` found (``found.duplicates``),
    each under a key of its own (they are never recorded)."""
    return [delete(f"{key}#{extra}", extra, name, True) for extra in found.duplicates]


def named_api_removal_reads(
    record: Record, keep: frozenset[str], entry_type: type[Entry], read: str
) -> list[Question]:
    """The reads :func:`named_api_removals` asks: each dropped API by id, name and stage."""
    deployment = deployment_of(record.app_name, record.stage)
    entries: Iterable[Any] = dropped(record, entry_type, keep).values()
    return [(read, (e.id, e.name, e.stage, deployment)) for e in entries]


def named_api_removals(
    record: Record,
    remote: RemoteState,
    keep: frozenset[str],
    entry_type: type[Entry],
    read: str,
    delete: ApiDeletion,
) -> list[Step]:
    """The removals of an API kind whose names need not be unique (REST, WebSocket): the
    recorded API itself, or (found by name: the recorded one is gone) one fw tagged for this
    deployment; another of that name, untagged included, may be someone else's and is only
    forgotten. Extra copies fw made for this deployment go too."""
    steps: list[Step] = []
    deployment = deployment_of(record.app_name, record.stage)
    entries: Mapping[str, Any] = dropped(record, entry_type, keep)
    for key, e in entries.items():
        found = remote.ask(read, e.id, e.name, e.stage, deployment)
        if found is not None and (
            found.id == e.id or (found.made_by_fw and found.deployment == deployment)
        ):
            steps.append(delete(key, found.id, e.name, False))
        else:
            steps.append(ForgetResource(key))
        if found is not None:
            steps += duplicate_deletions(key, e.name, found, delete)
    return steps


def refuse_other_deployment(what: str, tagged: str | None, deployment: str) -> None:
    """A DeployError when ``what`` carries another deployment's tag: adopting it would take
    over (and later delete) another app's or stage's resource."""
    if tagged is not None and tagged != deployment:
        raise DeployError(
            f"{what} belongs to {tagged!r} (its {DEPLOYMENT_TAG} tag), not to {deployment!r}:"
            " the two app and stage names make the same resource names; rename the app or"
            " the stage of one of them"
        )


# --- instructions -------------------------------------------------------------------------


class Step:
    """Base of the instructions: each says what it does in ``MESSAGE`` (formatted with it).

    ``kind`` names the kind module; ``lane`` the one resource the step changes: a concurrent
    runner keeps the plan order of the steps of one lane.
    """

    __slots__ = ()
    kind: ClassVar[str] = ""
    MESSAGE: ClassVar[str] = ""

    @property
    def message(self) -> str:
        return self.MESSAGE.format(self=self)

    @property
    def lane(self) -> str:
        return str(getattr(self, "key"))  # noqa: B009 - every step without a key overrides lane


@attrs.frozen
class RecordResource(Step):
    """Nothing to change in AWS, but the record lacks a resource that exists (adopt it)."""

    kind: ClassVar[str] = "record"
    MESSAGE: ClassVar[str] = "Recording existing {self.key}"
    key: str
    entry: Entry


@attrs.frozen
class ForgetResource(Step):
    """The record holds a resource that is already gone from AWS."""

    kind: ClassVar[str] = "record"
    MESSAGE: ClassVar[str] = "Forgetting {self.key} (already gone)"
    key: str


class References:
    """Ids that exist only once something is created (the REST API's id, the layer's version
    ARN), written into strings as placeholders owned by their kind; one substitution for the
    planner (ids read from AWS) and the executor (ids from the record)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})

    def set(self, placeholder: str, value: str) -> None:
        self._values[placeholder] = value

    def known(self, value: str) -> bool:
        """True when ``value`` holds no placeholder left unresolved."""
        return "{fw:" not in self.resolve(value)

    def resolve(self, value: str) -> str:
        for placeholder, known in self._values.items():
            value = value.replace(placeholder, known)
        return value


def planned_url(
    steps: Iterable[Step],
    record: Record,
    entry_type: type[_E],
    url: Callable[[_E], str],
    replaced: Callable[[Step], bool],
) -> str | None:
    """A kind's URL once ``steps`` have run (for a dry run), else from the record: None when
    they make, delete (``replaced``) or forget its resource: a dry run must not print the
    URL of an API that will be gone; an adopted one's URL is its id's."""
    entries = record.entries(entry_type)
    for step in steps:
        if replaced(step) or (isinstance(step, ForgetResource) and step.key in entries):
            return None
        if isinstance(step, RecordResource) and isinstance(step.entry, entry_type):
            return url(step.entry)
    return next((url(entry) for _, entry in sorted(entries.items())), None)


# --- reading AWS --------------------------------------------------------------------------


class RemoteState(Protocol):
    """Read-only questions about AWS; ``None`` (or empty) means "does not exist"."""

    def ask(self, read: str, *args: Any) -> Any: ...


@attrs.frozen
class Read:
    """One read of a kind: the boto3 service it calls and the function that calls it."""

    service: str
    call: Callable[..., Any]  # (reader, *args) -> answer


class Reader:
    """boto3 clients for the reads, with "not there" mapped to ``None``."""

    def __init__(self, aws: AwsContext) -> None:
        self.aws = aws

    @property
    def region(self) -> str:
        return self.aws.region

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def read(self, what: str, call: Callable[[], _T]) -> _T | None:
        """``call()``, or None when AWS says it is not there; other failures name ``what``."""
        try:
            return call()
        except botocore.exceptions.ClientError as err:
            if error_code(err) in MISSING:
                return None
            raise DeployError(
                f"reading {what} failed ({err.operation_name}): {error_message(err)}"
            ) from err
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(f"reading {what} failed: {error_message(err)}") from err


def all_pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item under ``key`` across all pages of a paginated read."""
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page.get(key, [])]


def json_document(value: Any) -> Any:
    """A policy document as a dict: IAM returns it URL-decoded by boto3, Lambda as a string."""
    if isinstance(value, str):
        from urllib.parse import unquote

        try:
            return json.loads(value)
        except ValueError:
            return json.loads(unquote(value))
    return value


# --- wiring an app's event handlers ---------------------------------------------------------


class WiringContext(Protocol):
    """Where the stage lives, for a trigger kind's ``wire``: names become ARNs here."""

    @property
    def region(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def partition(self) -> str: ...
    @property
    def scope(self) -> Any: ...  # policy.triggers.ArnScope of the stage

    def arn(
        self, service: str, resource: str, *, region: bool = True, account: bool = True
    ) -> str: ...


@attrs.frozen
class Invoker:
    """A service a trigger kind's resource makes invoke the function: its invoke permission."""

    principal: str  # "events.amazonaws.com", "s3.amazonaws.com", ...
    source_arn: str
    source_account: str | None = None


@attrs.frozen
class Wired:
    """What a trigger kind makes of one event handler (``wire(source, function, ctx)``)."""

    models: tuple[Any, ...] = ()
    invokers: tuple[Invoker, ...] = ()


@attrs.frozen
class TriggerSource:
    """One resource a trigger names, which fw never creates: ``name`` is a bucket or an ARN."""

    kind: str  # "s3", "sns", "sqs", "kinesis", "dynamodb"
    name: str
    function_name: str
    timeout: int = 60  # the function's, for an SQS queue's visibility timeout
    question: Question = ("", ())  # the read that tells whether it exists


def arn_part(arn: str, index: int) -> str:
    """Field ``index`` of ``arn`` (3 the region, 5 the resource); ``arn`` itself if not one."""
    parts = arn.split(":", 5)
    return parts[index] if len(parts) == 6 else arn


def in_region(reader: Reader, arn: str) -> bool:
    """True when ``arn`` names a resource in the clients' region (which fw can read)."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[3] == reader.region


def exists(reader: Reader, what: str, call: Callable[[], Any], missing: frozenset[str]) -> bool:
    """False only when AWS says a trigger's bucket, topic, queue or stream does not exist.

    One fw may not read (AccessDenied, another account's) counts as existing: AWS judges it
    when the trigger is wired.
    """
    try:
        call()
    except botocore.exceptions.ClientError as err:
        return error_code(err) not in missing
    except botocore.exceptions.BotoCoreError as err:
        raise DeployError(f"reading {what} failed: {err}") from err
    return True
