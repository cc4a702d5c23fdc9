"""``lambda:InvokeFunction`` grants to the services that invoke a function.

Not recorded: a function's statements go with it, and the plan compares them with the
function's resource policy on every deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds import function as function_kind
from deployer.deploy.kinds.base import (
    Entry,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    json_document,
)

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "permission"
AFTER: tuple[str, ...] = ("function", "rest_api", "websocket_api")

# Statement ids fw owns on its functions' resource policies; others are left alone.
OWN_SID_PREFIX = "fw-"


@attrs.frozen
class Permission:
    """A ``lambda:InvokeFunction`` grant to one service, scoped to one source ARN.

    Each invoker of a function has its own statement id (``desired.statement_ids``: the first
    keeps ``fw-invoke``); a changed source of the first replaces its statement.
    """

    function_name: str
    statement_id: str
    principal: str  # "apigateway.amazonaws.com", "events.amazonaws.com", ...
    source_arn: str  # may name a placeholder (the REST API's id)
    source_account: str | None = None  # S3 bucket ARNs carry no account, so AWS advises one

    @property
    def key(self) -> str:
        return f"permission:{self.function_name}:{self.statement_id}"


@attrs.frozen
class PermissionEntry(Entry):
    """Never recorded (see the module's docstring)."""

    kind: ClassVar[str] = NAME


ENTRY = PermissionEntry


@attrs.frozen
class RemoteStatement:
    sid: str
    principal: str | None
    source_arn: str | None
    source_account: str | None = None


@attrs.frozen
class AddPermission(Step):
    kind: ClassVar[str] = NAME
    permission: Permission

    @property
    def message(self) -> str:
        service = self.permission.principal.split(".")[0]
        return f"Allowing {service} to invoke function {self.permission.function_name}"

    @property
    def lane(self) -> str:
        return f"permission:{self.permission.function_name}"


@attrs.frozen
class RemovePermission(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = (
        "Removing invoke permission {self.statement_id} of function {self.function_name}"
    )
    function_name: str
    statement_id: str

    @property
    def lane(self) -> str:
        return f"permission:{self.function_name}"


def _read_statements(reader: Reader, name: str) -> Mapping[str, RemoteStatement]:
    client = reader.client("lambda")
    found = reader.read(f"function {name!r} policy", lambda: client.get_policy(FunctionName=name))
    if found is None:
        return {}
    statements = {}
    for statement in json_document(found["Policy"]).get("Statement", []):
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            principal = principal.get("Service") or principal.get("AWS")
        condition = statement.get("Condition") or {}
        source = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        account = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
        sid = statement.get("Sid", "")
        statements[sid] = RemoteStatement(sid, principal, source, account)
    return statements


READS = {"function_permissions": Read("lambda", _read_statements)}


def models(desired: DesiredState) -> tuple[Permission, ...]:
    return desired.permissions


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("function_permissions", (f.function_name,)) for f in desired.functions]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    wanted: dict[str, list[Permission]] = {}
    for permission in desired.permissions:
        wanted.setdefault(permission.function_name, []).append(permission)
    steps: list[Step] = []
    for function in desired.functions:
        name = function.function_name
        statements: Mapping[str, RemoteStatement] = {}
        if function_kind.found(remote, name) is not None:
            statements = remote.ask("function_permissions", name)
        permissions = wanted.get(name, [])
        for permission in permissions:
            source = refs.resolve(permission.source_arn)
            current = statements.get(permission.statement_id)
            if (
                current is not None
                and refs.known(source)
                and current.principal == permission.principal
                and current.source_arn == source
                and current.source_account == permission.source_account
            ):
                continue
            if current is not None:
                steps.append(RemovePermission(name, permission.statement_id))
            steps.append(AddPermission(attrs.evolve(permission, source_arn=source)))
        own = {p.statement_id for p in permissions}
        for sid in sorted(statements):
            if sid.startswith(OWN_SID_PREFIX) and sid not in own:
                steps.append(RemovePermission(name, sid))
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return []


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return []


def _add_permission(ex: Executor, step: AddPermission) -> None:
    p = step.permission
    kwargs: dict[str, Any] = {
        "FunctionName": p.function_name,
        "StatementId": p.statement_id,
        "Action": "lambda:InvokeFunction",
        "Principal": p.principal,
        "SourceArn": ex.resolve(p.source_arn),
    }
    if p.source_account:
        kwargs["SourceAccount"] = p.source_account
    ex.client("lambda").add_permission(**kwargs)


def _remove_permission(ex: Executor, step: RemovePermission) -> None:
    ignore_gone(
        lambda: ex.client("lambda").remove_permission(
            FunctionName=step.function_name, StatementId=step.statement_id
        )
    )


HANDLERS: Mapping[type, Handler] = {
    AddPermission: _add_permission,
    RemovePermission: _remove_permission,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    """The grants SAM's events do not make for the API (a trigger kind without a SAM event
    writes its own grant, as ``s3_notification`` does)."""
    from deployer.package.cfn import invoke_permission
    from deployer.package.sam import REST_API_ID

    api = f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{REST_API_ID}}}"
    if t.graph.has_api:
        for function in t.of_role("rest"):
            t.resources[f"{function.logical_id}InvokePermission"] = invoke_permission(
                function.logical_id, "apigateway.amazonaws.com", f"{api}/*"
            )
        for function in t.of_role("authorizer"):
            # API Gateway calls an authorizer from its /authorizers/<id> ARN, not a method's.
            t.resources[f"{function.logical_id}InvokePermission"] = invoke_permission(
                function.logical_id, "apigateway.amazonaws.com", f"{api}/authorizers/*"
            )
