"""What every resource kind module is made of: record entries, instructions, remote reads.

A kind module (``role``, ``function``, ``rest_api``...) subclasses :class:`Entry` for what the
record keeps of its resources and :class:`Step` for its instructions, and answers its questions
about AWS through :class:`Reader`. ``kinds/__init__`` lists the modules; the planner, the
prefetch, the removals, the executor's table and the SAM template loop over that list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
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
    "MISSING",
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
    "dropped",
    "record_if_missing",
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


def record_if_missing(record: Record, key: str, entry: Entry) -> list[Step]:
    """Adopt a resource AWS has but the record lacks (or records with other ids)."""
    return [] if record.get(key) == entry else [RecordResource(key, entry)]


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
