"""Carry out a plan with boto3, recording every resource the moment it exists.

With the kinds' handlers, the only code of the deployer with side effects on AWS. Each
instruction type has one handler in its kind module's ``HANDLERS``, gathered into one explicit
table (``kinds.handlers()``), so a new instruction without a handler fails loudly. The
instructions run in :mod:`~deployer.deploy.pool`, several at a time, each waiting for what it
needs. A failed call ends the run with a DeployError naming the resource, the call and AWS's
message; everything done before it is already in the record, so the next deploy resumes from
there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import botocore.exceptions

from deployer.deploy import kinds, pool
from deployer.deploy.aws import AwsContext, error_code, error_message
from deployer.deploy.instructions import Instruction, Plan
from deployer.deploy.kinds.base import References
from deployer.deploy.kinds.function import CreateFunction, UpdateFunctionConfiguration
from deployer.deploy.kinds.role import CreateRole, PutRolePolicy
from deployer.deploy.state import StateFile
from deployer.errors import DeployError
from deployer.policy.triggers import grants

__all__ = ["DEFAULT_WORKERS", "ROLE_RETRY_DELAYS", "Executor", "display_plan"]

# Instructions applied at once: enough for six functions' code uploads side by side.
DEFAULT_WORKERS = 8

# A new IAM role (or policy) takes a few seconds to reach Lambda; until then CreateFunction fails
# with InvalidParameterValueException "The role defined for the function cannot be assumed by
# Lambda", and CreateEventSourceMapping with "The provided execution role does not have
# permissions to call ReceiveMessage on SQS". Retry on this schedule (about 40 s), then give up.
# The same messages also mean the role truly lacks the action: then only a policy change helps,
# so fw retries only while its own policy for the role grants what Lambda says is missing.
ROLE_RETRY_DELAYS: tuple[float, ...] = (1, 2, 3, 5, 8, 10, 10)
# Lambda refuses a configuration update while a code update (or creation) is in progress;
# poll LastUpdateStatus/State on this schedule before the next change.
READY_POLL_DELAYS: tuple[float, ...] = (0.5, 1, 1, 2, 2, 3, 5, 5, 10, 10, 10, 10)
_NOT_ASSUMABLE = re.compile(r"role .*cannot be assumed", re.I)
# Lambda's messages (InvalidParameterValueException) when a role lacks what it checks:
# CreateEventSourceMapping for SQS ("... does not have permissions to call ReceiveMessage on
# SQS") and CreateFunction in a VPC ("... to call CreateNetworkInterface on EC2"); for Kinesis
# and DynamoDB streams "Cannot access stream <arn>. Please ensure the role can perform the
# GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
_MISSING_CALL = re.compile(r"does not have permissions to call (\w+) on (\w+)", re.I)
_STREAM_ACCESS = re.compile(
    r"Cannot access stream (arn:\S+?)\.? Please ensure the role can perform the (.+?) Actions",
    re.I,
)
_LIST_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


def missing_actions(message: str) -> tuple[str, ...] | None:
    """The IAM actions a Lambda error says the function's role lacks; None if it names none."""
    found = _MISSING_CALL.search(message)
    if found:
        return (f"{found[2].lower()}:{found[1]}",)
    found = _STREAM_ACCESS.search(message)
    if found:
        prefix = found[1].split(":")[2]
        names = [n for n in _LIST_SEPARATOR.split(found[2]) if n]
        return tuple(f"{prefix}:{name}" for name in names)
    return None


class RoleLacksActions(Exception):
    """Lambda refused a call because the role lacks actions fw's own policy does not grant."""

    def __init__(self, error: botocore.exceptions.ClientError, actions: tuple[str, ...]) -> None:
        super().__init__(error_message(error))
        self.error = error
        self.actions = actions


def display_plan(plan: Plan, report: Callable[[str], None]) -> None:
    """The dry-run executor: report each instruction's message and call nothing."""
    if not plan.instructions:
        report("No changes.")
    for instruction in plan:
        report(f"Would: {instruction.message}")


@attrs.define
class Executor:
    """Applies plans for one stage: ``aws`` to call, ``state`` to record into."""

    aws: AwsContext
    state: StateFile
    report: Callable[[str], None] = lambda message: None
    sleep: Callable[[float], None] = time.sleep
    role_retry_delays: tuple[float, ...] = ROLE_RETRY_DELAYS
    ready_poll_delays: tuple[float, ...] = READY_POLL_DELAYS
    # Function name -> the policy fw gives its role (absent: a role fw does not manage). The
    # plan's own role and function instructions add to it.
    role_policies: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    # How many instructions run at once. AWS's request quotas are kept by the clients' rate
    # limiter (``aws.RateLimiter``), not by this number.
    workers: int = DEFAULT_WORKERS
    # Functions changed during this run, so the next change waits until they are ready.
    _touched: set[str] = attrs.field(factory=set, init=False)

    def execute(self, plan: Plan) -> list[str]:
        """Apply every instruction, up to ``workers`` at a time; return the messages applied.

        Steps wait for what they need (their lane, their kind's ``AFTER``; removals for every
        create and update), and their lines print whole, in plan order. A failed step starts
        nothing new: the running ones finish and are recorded, then its DeployError is raised.
        Ctrl-C lets the running steps finish and be recorded, then stops (a second Ctrl-C
        stops at once: a resource made but not yet recorded is adopted by the next deploy).
        """
        self.role_policies = {**_role_policies(plan), **self.role_policies}
        removals = {id(step) for step in plan.removal_steps}
        after = {kind.NAME: kind.AFTER for kind in kinds.KINDS}
        # Handler lines (an upload, a wait for Lambda) are printed with their step.
        sink, self.report = self.report, pool.routed(self.report)
        # So are the AWS quota waits the limiter announces from a step's thread.
        limiter = self.aws.limiter
        quota_report, limiter.report = limiter.report, self.report
        try:
            return pool.run(
                list(plan),
                self._apply_quiet,
                after=after,
                is_removal=lambda step: id(step) in removals,
                workers=self.workers,
                report=sink,
            )
        except pool.Interrupted as err:
            sink(
                f"Interrupted {err.where}; {self.state.path} records everything done so far:"
                " run the same command again to finish"
            )
            raise
        finally:
            self.report = sink
            limiter.report = quota_report

    def apply(self, instruction: Instruction) -> None:
        """Apply one instruction and record what it made (the one entry point for a runner)."""
        self.report(instruction.message)
        self._apply_quiet(instruction)

    def _apply_quiet(self, instruction: Instruction) -> None:
        """:meth:`apply` without the step's message (the pool prints it with the step's lines)."""
        handler = kinds.handlers()[type(instruction)]
        try:
            handler(self, instruction)
        except RoleLacksActions as err:
            them = "it" if len(err.actions) == 1 else "them"
            raise DeployError(
                f"{_lower_first(instruction.message)} failed ({err.error.operation_name}):"
                f" {err}; fw's policy for the function's role does not grant"
                f" {', '.join(err.actions)}: add {them} to the policy file (iam_policy_file)"
                " or the role (iam_role_arn), or set autogen_policy to true"
            ) from err.error
        except botocore.exceptions.ClientError as err:
            raise DeployError(
                f"{_lower_first(instruction.message)} failed"
                f" ({err.operation_name}): {error_message(err)}"
            ) from err
        except botocore.exceptions.BotoCoreError as err:
            raise DeployError(
                f"{_lower_first(instruction.message)} failed: {error_message(err)}"
            ) from err

    # --- helpers ------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def resolve(self, value: str) -> str:
        """Substitute ids that only exist once created (the API id, the layer version)."""
        resolved = References(self.state.record.references()).resolve(value)
        if "{fw:" in resolved:
            raise DeployError(f"internal error: {value!r} names a resource not recorded yet")
        return resolved

    def touched(self, function_name: str) -> None:
        """Note a function this run changed: the next change waits until Lambda is done."""
        self._touched.add(function_name)

    def announce_upload(self, name: str, size: int) -> None:
        if size >= _ANNOUNCED_UPLOAD:
            self.report(f"  uploading {name} ({size / (1024 * 1024):.1f} MB)")

    def with_role_retry(
        self, call: Callable[[], Any], function_name: str, resource: str | None = None
    ) -> Any:
        """Make ``call``, retrying (boundedly) while Lambda cannot use a new role yet.

        "Not yet" only while fw's own policy for ``function_name``'s role grants every action
        Lambda says is missing, on ``resource`` when the call names one (IAM propagation);
        otherwise :class:`RoleLacksActions` at once.
        """
        for delay in (*self.role_retry_delays, None):
            try:
                return call()
            except botocore.exceptions.ClientError as err:
                if error_code(err) != "InvalidParameterValueException":
                    raise
                message = error_message(err)
                actions = missing_actions(message)
                if actions is not None:
                    policy = self.role_policies.get(function_name)
                    lacking = tuple(a for a in actions if not grants(policy, a, resource))
                    if lacking:
                        raise RoleLacksActions(err, lacking) from err
                elif _NOT_ASSUMABLE.search(message) is None:
                    raise
                if delay is None:
                    raise
                self.report(f"  the new IAM role is not usable by Lambda yet; retrying in {delay}s")
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_ready(self, function_name: str) -> None:
        """Wait until Lambda accepts another change to a function this run just changed."""
        if function_name not in self._touched:
            return
        client = self.client("lambda")
        for index, delay in enumerate((*self.ready_poll_delays, None)):
            config = client.get_function_configuration(FunctionName=function_name)
            busy = (
                config.get("State") == "Pending" or config.get("LastUpdateStatus") == "InProgress"
            )
            if not busy:
                return
            if index == 0:
                self.report(f"  waiting for Lambda to finish updating function {function_name}")
            if delay is None:
                raise DeployError(
                    f"function {function_name} is still being updated by Lambda"
                    f" (State {config.get('State')}, LastUpdateStatus"
                    f" {config.get('LastUpdateStatus')}); run the deploy again shortly"
                )
            self.sleep(delay)


def _role_policies(plan: Plan) -> dict[str, Mapping[str, Any]]:
    """Function name -> its role's policy, for the roles and functions this plan writes."""
    by_arn = {
        step.role.arn: step.role.policy_document
        for step in plan
        if isinstance(step, CreateRole | PutRolePolicy)
    }
    return {
        step.function.function_name: by_arn[step.function.settings.role_arn]
        for step in plan
        if isinstance(step, CreateFunction | UpdateFunctionConfiguration)
        and step.function.settings.role_arn in by_arn
    }


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# Above this a zip takes a second or more to send on a typical uplink: say so.
_ANNOUNCED_UPLOAD = 1024 * 1024
