"""IAM roles fw creates for its functions, each with one inline policy."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import botocore.exceptions

from deployer.deploy.aws import GONE, error_code, ignore_gone
from deployer.deploy.kinds.base import (
    Entry,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    delete_or_forget,
    dropped,
    json_document,
    record_if_missing,
)
from deployer.errors import DeployError

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "role"
AFTER: tuple[str, ...] = ()

LAMBDA_TRUST_POLICY: Mapping[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@attrs.frozen
class ManagedRole:
    """An IAM role fw creates for its functions, with one inline policy."""

    name: str
    arn: str
    policy_name: str
    policy_document: Mapping[str, Any]
    trust_policy: Mapping[str, Any] = LAMBDA_TRUST_POLICY

    @property
    def key(self) -> str:
        return f"role:{self.name}"


@attrs.frozen
class RoleEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str
    arn: str


ENTRY = RoleEntry


@attrs.frozen
class RemoteRole:
    arn: str
    trust_policy: Mapping[str, Any] | None
    policies: Mapping[str, Mapping[str, Any]]  # inline policy name -> document


# --- instructions ---------------------------------------------------------------------------


class _RoleStep(Step):
    __slots__ = ()
    kind: ClassVar[str] = NAME
    role: ManagedRole

    @property
    def lane(self) -> str:
        return self.role.key


@attrs.frozen
class CreateRole(_RoleStep):
    MESSAGE: ClassVar[str] = "Creating IAM role {self.role.name}"
    role: ManagedRole


@attrs.frozen
class PutRolePolicy(_RoleStep):
    MESSAGE: ClassVar[str] = "Updating the policy of IAM role {self.role.name}"
    role: ManagedRole


@attrs.frozen
class UpdateAssumeRolePolicy(_RoleStep):
    role: ManagedRole
    MESSAGE: ClassVar[str] = "Updating the trust policy of IAM role {self.role.name}"


@attrs.frozen
class DeleteRole(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Deleting IAM role {self.name}"
    key: str
    name: str


# --- reads ----------------------------------------------------------------------------------


def _read_role(reader: Reader, name: str) -> RemoteRole | None:
    iam = reader.client("iam")
    found = reader.read(f"IAM role {name!r}", lambda: iam.get_role(RoleName=name))
    if found is None:
        return None
    trust = found["Role"].get("AssumeRolePolicyDocument")
    names = reader.read(
        f"IAM role {name!r}", lambda: iam.list_role_policies(RoleName=name)["PolicyNames"]
    )
    policies = {}
    for policy_name in names or ():
        doc = reader.read(
            f"IAM role {name!r}",
            functools.partial(iam.get_role_policy, RoleName=name, PolicyName=policy_name),
        )
        if doc is not None:
            policies[policy_name] = json_document(doc["PolicyDocument"])
    return RemoteRole(found["Role"]["Arn"], json_document(trust) if trust else None, policies)


READS = {"role": Read("iam", _read_role)}


# --- plan -----------------------------------------------------------------------------------


def models(desired: DesiredState) -> tuple[ManagedRole, ...]:
    return desired.roles


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("role", (r.name,)) for r in desired.roles]


# "IAM and AWS STS quotas": a role's inline policies hold at most 10,240 characters in total;
# IAM does not count white space.
MAX_ROLE_POLICY_CHARS = 10_240
# "{fw:websocket_api_id}" and the like, resolved once the API exists; API Gateway's ids have
# 10 characters.
_API_ID_PLACEHOLDER = re.compile(r"\{fw:[a-z_]*api_id\}")


def _check_policy_size(role: ManagedRole, desired: DesiredState) -> None:
    """Refuse role policies IAM would refuse, before the deploy writes anything: the role's own
    and the inline policies the role_policy kind adds to it (an API id placeholder counts as
    the 10-character id it stands for)."""
    documents = [role.policy_document]
    documents += [p.document for p in desired.role_policies if p.role_name == role.name]
    text = "".join(json.dumps(d, separators=(",", ":")) for d in documents)
    size = len(_API_ID_PLACEHOLDER.sub("0123456789", text))
    if size > MAX_ROLE_POLICY_CHARS:
        raise DeployError(
            f"the policy of role {role.name} is {size} characters, over IAM's"
            f" {MAX_ROLE_POLICY_CHARS} for a role's inline policies; give some functions"
            " their own role (a different iam_policy_file or autogen_policy per function"
            " in lambda_functions), or set manage_iam_role to false with an iam_role_arn"
        )


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    for role in desired.roles:
        _check_policy_size(role, desired)
    steps: list[Step] = []
    for role in desired.roles:
        found: RemoteRole | None = remote.ask("role", role.name)
        if found is None:
            steps.append(CreateRole(role))
            continue
        steps += record_if_missing(record, role.key, RoleEntry(role.name, found.arn))
        if found.trust_policy is None or not same_document(found.trust_policy, role.trust_policy):
            steps.append(UpdateAssumeRolePolicy(role))
        current = found.policies.get(role.policy_name)
        if current is None or not same_document(current, role.policy_document):
            steps.append(PutRolePolicy(role))
    return steps


def same_document(a: Any, b: Any) -> bool:
    """IAM normalizes documents (a one-item Action list may come back as a string, and key
    order changes), so compare canonical forms rather than raw JSON."""
    return _canonical_policy(a) == _canonical_policy(b)


def _canonical_policy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _canonical_policy(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        items = [_canonical_policy(v) for v in value]
        if len(items) == 1 and not isinstance(items[0], (dict, list)):
            return items[0]
        return items
    return value


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("role", (e.name,)) for e in dropped(record, RoleEntry, keep).values()]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return delete_or_forget(
        record,
        RoleEntry,
        keep,
        lambda key, e: DeleteRole(key, e.name) if remote.ask("role", e.name) else None,
    )


# --- executor -------------------------------------------------------------------------------


def _create_role(ex: Executor, step: CreateRole) -> None:
    iam = ex.client("iam")
    role = step.role
    try:
        arn = iam.create_role(
            RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust_policy)
        )["Role"]["Arn"]
    except botocore.exceptions.ClientError as err:
        # Created by an earlier run that stopped before recording it: adopt it.
        if error_code(err) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=role.name)["Role"]["Arn"]
    ex.state.put(role.key, RoleEntry(role.name, arn))
    _put_role_policy(ex, PutRolePolicy(role))


def _put_role_policy(ex: Executor, step: PutRolePolicy) -> None:
    role = step.role
    ex.client("iam").put_role_policy(
        RoleName=role.name,
        PolicyName=role.policy_name,
        PolicyDocument=json.dumps(role.policy_document),
    )


def _update_trust(ex: Executor, step: UpdateAssumeRolePolicy) -> None:
    ex.client("iam").update_assume_role_policy(
        RoleName=step.role.name, PolicyDocument=json.dumps(step.role.trust_policy)
    )


def _delete_role(ex: Executor, step: DeleteRole) -> None:
    iam = ex.client("iam")
    try:
        names = iam.list_role_policies(RoleName=step.name)["PolicyNames"]
        for name in names:
            ignore_gone(
                functools.partial(iam.delete_role_policy, RoleName=step.name, PolicyName=name)
            )
        ignore_gone(lambda: iam.delete_role(RoleName=step.name))
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in GONE:
            raise
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    CreateRole: _create_role,
    PutRolePolicy: _put_role_policy,
    UpdateAssumeRolePolicy: _update_trust,
    DeleteRole: _delete_role,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    """SAM makes each function's role from its ``Policies``: the app's policy, plus what AWS
    checks for the function's own trigger and VPC (with the stack's ARNs)."""
    from deployer.package.cfn import substituted
    from deployer.policy.role_policy import LOGS_STATEMENT, POLICY_VERSION
    from deployer.policy.triggers import CLOUDFORMATION_SCOPE, extend_document, function_statements

    # Lambda needs these to write the function's logs whatever else the app does.
    logs_only = {"Version": POLICY_VERSION, "Statement": [LOGS_STATEMENT]}
    for function in t.functions:
        settings = t.settings(function)
        if not settings.manage_iam_role:
            t.properties(function)["Role"] = settings.iam_role_arn
            continue
        policy = t.policy or logs_only
        if settings.autogen_policy:
            statements = function_statements(function.source, settings, CLOUDFORMATION_SCOPE)
            policy = substituted(extend_document(policy, statements))
        t.properties(function)["Policies"] = [policy]
