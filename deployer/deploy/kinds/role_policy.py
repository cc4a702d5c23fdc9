"""Inline policies fw adds to its roles once a resource they name exists: today the WebSocket
API's ``@connections`` grant, which names the API's id.

The role and its main policy come first (the functions need the role to be created), before the
API has an id; so this grant is a second inline policy on the same role (``<role>-websocket``),
put once the API is made, deleted with the API, and counted in the role's size check
(``role.plan``: IAM's quota covers all of a role's inline policies together).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    Entry,
    Handler,
    Question,
    Read,
    References,
    RemoteState,
    Step,
    delete_or_forget,
    dropped,
    record_if_missing,
)
from deployer.deploy.kinds.websocket_api import WEBSOCKET_API_ID

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.kinds.role import RemoteRole
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "role_policy"
# Its document names the API's id: the API (and the role it goes on) must exist first.
AFTER: tuple[str, ...] = ("role", "websocket_api")


@attrs.frozen
class RolePolicy:
    """One extra inline policy of a role fw manages; ``document`` may hold placeholders."""

    role_name: str
    policy_name: str
    document: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{NAME}:{self.role_name}/{self.policy_name}"


@attrs.frozen
class RolePolicyEntry(Entry):
    kind: ClassVar[str] = NAME
    role_name: str
    policy_name: str


ENTRY = RolePolicyEntry


def websocket_policy(role_name: str, stage: str, scope: Any) -> RolePolicy:
    """The grant a websocket handler's role needs on its own API's ``@connections``."""
    from deployer.policy.role_policy import POLICY_VERSION
    from deployer.policy.triggers import manage_connections

    statement = manage_connections(scope, WEBSOCKET_API_ID, stage)
    return RolePolicy(
        role_name,
        f"{role_name}-websocket",
        {"Version": POLICY_VERSION, "Statement": [statement]},
    )


# --- instructions ---------------------------------------------------------------------------


@attrs.frozen
class PutRolePolicy(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = (
        "Putting policy {self.policy.policy_name} on IAM role {self.policy.role_name}"
    )
    policy: RolePolicy

    @property
    def lane(self) -> str:
        return self.policy.key


@attrs.frozen
class DeleteRolePolicy(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = (
        "Deleting policy {self.entry.policy_name} of IAM role {self.entry.role_name}"
    )
    key: str
    entry: RolePolicyEntry


# --- plan: the role kind's read answers (each role's inline policies) -------------------------

READS: Mapping[str, Read] = {}


def models(desired: DesiredState) -> tuple[RolePolicy, ...]:
    return desired.role_policies


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("role", (p.role_name,)) for p in desired.role_policies]


def resolved(document: Mapping[str, Any], refs: References) -> dict[str, Any]:
    """``document`` with the ids its placeholders stand for."""
    return dict(json.loads(refs.resolve(json.dumps(document))))


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    from deployer.deploy.kinds.role import same_document

    steps: list[Step] = []
    for policy in desired.role_policies:
        found: RemoteRole | None = remote.ask("role", policy.role_name)
        current = None if found is None else found.policies.get(policy.policy_name)
        text = json.dumps(policy.document)
        # An API not made yet: its id is unknown, so the policy is put after it is.
        if (
            current is None
            or not refs.known(text)
            or not same_document(current, resolved(policy.document, refs))
        ):
            steps.append(PutRolePolicy(policy))
            continue
        steps += record_if_missing(
            record, policy.key, RolePolicyEntry(policy.role_name, policy.policy_name)
        )
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("role", (e.role_name,)) for e in dropped(record, RolePolicyEntry, keep).values()]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    def delete(key: str, entry: RolePolicyEntry) -> Step | None:
        found: RemoteRole | None = remote.ask("role", entry.role_name)
        has = found is not None and entry.policy_name in found.policies
        return DeleteRolePolicy(key, entry) if has else None

    return delete_or_forget(record, RolePolicyEntry, keep, delete)


# --- executor -------------------------------------------------------------------------------


def _put(ex: Executor, step: PutRolePolicy) -> None:
    policy = step.policy
    document = ex.resolve(json.dumps(policy.document))
    ex.client("iam").put_role_policy(
        RoleName=policy.role_name, PolicyName=policy.policy_name, PolicyDocument=document
    )
    ex.state.put(policy.key, RolePolicyEntry(policy.role_name, policy.policy_name))


def _delete(ex: Executor, step: DeleteRolePolicy) -> None:
    entry = step.entry
    ignore_gone(
        lambda: ex.client("iam").delete_role_policy(
            RoleName=entry.role_name, PolicyName=entry.policy_name
        )
    )
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {PutRolePolicy: _put, DeleteRolePolicy: _delete}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    """The template knows the API's logical id, so each function's own policy (the role
    kind's ``Policies``) names that API and stage: every function of an app with a websocket
    API, as fw deploy grants every role it writes (a REST route may post to a connection)."""
    from deployer.package.cfn import substituted
    from deployer.package.sam import WEBSOCKET_API_ID as API
    from deployer.policy.triggers import CLOUDFORMATION_SCOPE, manage_connections

    statement = manage_connections(CLOUDFORMATION_SCOPE, f"${{{API}}}", t.config.api_gateway_stage)
    if not t.of_role("websocket"):
        return
    for function in t.functions:
        settings = t.settings(function)
        if not settings.manage_iam_role or not settings.autogen_policy:
            continue
        (policy,) = t.properties(function)["Policies"]
        policy["Statement"] = [*policy["Statement"], substituted(statement)]
