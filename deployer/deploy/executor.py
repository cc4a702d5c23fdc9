"""Carry out a plan with boto3, recording every resource the moment it exists.

With ``executor_triggers`` (the handlers for the API and the event wiring), the only code of the
deployer with side effects on AWS. Each instruction type has one handler in ``_HANDLERS`` (an
explicit table, so a new instruction without a handler fails loudly). A
failed call ends the run with a DeployError naming the resource, the call and AWS's message;
everything done before it is already in the record, so the next deploy resumes from there.
"""

from __future__ import annotations

import functools
import re
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import botocore.exceptions

from deployer.deploy.aws import GONE, AwsContext, error_code, error_message, ignore_gone
from deployer.deploy.executor_triggers import TRIGGER_HANDLERS
from deployer.deploy.instructions import (
    CreateFunction,
    CreateRole,
    DeleteFunction,
    DeleteLayer,
    DeleteLogGroup,
    DeleteRole,
    ForgetResource,
    Instruction,
    Plan,
    PublishLayer,
    PutFunctionConcurrency,
    PutLogRetention,
    PutRolePolicy,
    RecordResource,
    TagFunction,
    UpdateAssumeRolePolicy,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
)
from deployer.deploy.models import API_ID, MANAGED_LAYER, LambdaFunction, log_group_key
from deployer.deploy.state import StateFile
from deployer.errors import DeployError
from deployer.policy.triggers import grants

__all__ = ["ROLE_RETRY_DELAYS", "Executor", "display_plan"]

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
    # Functions changed during this run, so the next change waits until they are ready.
    _touched: set[str] = attrs.field(factory=set, init=False)

    def execute(self, plan: Plan) -> list[str]:
        """Apply every instruction in order; return the messages of those applied.

        Ctrl-C lets the running instruction finish and be recorded, then stops (a second Ctrl-C
        stops at once: a resource made but not yet recorded is adopted by the next deploy).
        """
        self.role_policies = {**_role_policies(plan), **self.role_policies}
        done: list[str] = []
        where = ""
        try:
            with _StopAfterStep(self.report) as stop:
                for instruction in plan:
                    where = f"before {_lower_first(instruction.message)}"
                    if stop.requested:
                        raise KeyboardInterrupt
                    where = f"while {_lower_first(instruction.message)}"
                    self._apply(instruction)
                    done.append(instruction.message)
        except KeyboardInterrupt:
            self.report(
                f"Interrupted {where}; {self.state.path} records everything done so far:"
                " run the same command again to finish"
            )
            raise
        return done

    def _apply(self, instruction: Instruction) -> None:
        self.report(instruction.message)
        handler = _HANDLERS[type(instruction)]
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
        record = self.state.record
        if API_ID in value:
            api_id = record.rest_api_id()
            if api_id is None:
                raise DeployError("internal error: the REST API id is not recorded yet")
            value = value.replace(API_ID, api_id)
        if MANAGED_LAYER in value:
            layers = record.of_kind("layer")
            if not layers:
                raise DeployError("internal error: the managed layer is not recorded yet")
            value = value.replace(MANAGED_LAYER, next(iter(layers.values()))["version_arn"])
        return value

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

    def _function_settings(self, function: LambdaFunction) -> dict[str, Any]:
        s = function.settings
        return {
            "Role": s.role_arn,
            "Handler": s.handler,
            "Runtime": s.runtime,
            "MemorySize": s.memory_size,
            "Timeout": s.timeout,
            "Environment": {"Variables": dict(s.environment)},
            "Layers": [self.resolve(layer) for layer in s.layers],
            "VpcConfig": {
                "SubnetIds": sorted(s.subnet_ids),
                "SecurityGroupIds": sorted(s.security_group_ids),
            },
            "TracingConfig": {"Mode": "Active" if s.xray else "PassThrough"},
        }


class _StopAfterStep:
    """While a plan runs, the first SIGINT only asks to stop once the running step is recorded.

    Between a create call and the record's write, an interrupt would leave a resource that only
    the next deploy finds again (by adopting it); ``fw delete`` run first would miss it.
    """

    def __init__(self, report: Callable[[str], None]) -> None:
        self.requested = False
        self._report = report
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _StopAfterStep:
        try:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        except ValueError:
            pass  # not the main thread: Ctrl-C is the embedding program's to handle
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            # None: the previous handler was not set from Python; Python's own is the default.
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._report("Stopping after this step, once it is recorded (Ctrl-C again to stop now)")


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


def _read_zip(ex: Executor, function: LambdaFunction) -> bytes:
    try:
        data = function.code.path.read_bytes()
    except OSError as err:
        raise DeployError(
            f"cannot read the deployment package {str(function.code.path)!r}: {err}"
        ) from err
    _announce_upload(ex, function.code.path.name, len(data))
    return data


def _announce_upload(ex: Executor, name: str, size: int) -> None:
    if size >= _ANNOUNCED_UPLOAD:
        ex.report(f"  uploading {name} ({size / (1024 * 1024):.1f} MB)")


# --- roles ------------------------------------------------------------------------------


def _create_role(ex: Executor, step: CreateRole) -> None:
    import json

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
    ex.state.put(role.key, {"kind": "role", "name": role.name, "arn": arn})
    _put_role_policy(ex, PutRolePolicy(role))


def _put_role_policy(ex: Executor, step: PutRolePolicy) -> None:
    import json

    role = step.role
    ex.client("iam").put_role_policy(
        RoleName=role.name,
        PolicyName=role.policy_name,
        PolicyDocument=json.dumps(role.policy_document),
    )


def _update_trust(ex: Executor, step: UpdateAssumeRolePolicy) -> None:
    import json

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


# --- layer ------------------------------------------------------------------------------


def _publish_layer(ex: Executor, step: PublishLayer) -> None:
    layer = step.layer
    try:
        content = layer.code.path.read_bytes()
    except OSError as err:
        raise DeployError(f"cannot read the layer package {str(layer.code.path)!r}: {err}") from err
    _announce_upload(ex, layer.code.path.name, len(content))
    result = ex.client("lambda").publish_layer_version(
        LayerName=layer.name,
        Content={"ZipFile": content},
        CompatibleRuntimes=[layer.runtime],
        CompatibleArchitectures=[layer.architecture],
    )
    ex.state.put(
        layer.key,
        {"kind": "layer", "name": layer.name, "version_arn": result["LayerVersionArn"]},
    )


def _delete_layer(ex: Executor, step: DeleteLayer) -> None:
    client = ex.client("lambda")
    for version in step.versions:
        # DeleteLayerVersion succeeds for a version already deleted; _ignore_gone is for safety.
        ignore_gone(
            functools.partial(
                client.delete_layer_version, LayerName=step.name, VersionNumber=version
            )
        )
    ex.state.remove(step.key)


# --- functions --------------------------------------------------------------------------


def _create_function(ex: Executor, step: CreateFunction) -> None:
    function = step.function
    client = ex.client("lambda")
    settings = ex._function_settings(function)
    if not function.settings.subnet_ids:
        del settings["VpcConfig"]
    zip_bytes = _read_zip(ex, function)
    result = ex.with_role_retry(
        lambda: client.create_function(
            FunctionName=function.function_name,
            Code={"ZipFile": zip_bytes},
            Architectures=[function.architecture],
            Tags=dict(function.tags),
            **settings,
        ),
        function.function_name,
    )
    ex._touched.add(function.function_name)
    ex.state.put(
        function.key,
        {"kind": "function", "name": function.function_name, "arn": result["FunctionArn"]},
    )


def _update_code(ex: Executor, step: UpdateFunctionCode) -> None:
    function = step.function
    ex.wait_ready(function.function_name)
    ex.client("lambda").update_function_code(
        FunctionName=function.function_name,
        ZipFile=_read_zip(ex, function),
        Architectures=[function.architecture],
    )
    ex._touched.add(function.function_name)


def _update_configuration(ex: Executor, step: UpdateFunctionConfiguration) -> None:
    function = step.function
    ex.wait_ready(function.function_name)
    client = ex.client("lambda")
    settings = ex._function_settings(function)
    ex.with_role_retry(
        lambda: client.update_function_configuration(
            FunctionName=function.function_name, **settings
        ),
        function.function_name,
    )
    ex._touched.add(function.function_name)


def _put_concurrency(ex: Executor, step: PutFunctionConcurrency) -> None:
    client = ex.client("lambda")
    if step.reserved is None:
        client.delete_function_concurrency(FunctionName=step.function_name)
    else:
        client.put_function_concurrency(
            FunctionName=step.function_name, ReservedConcurrentExecutions=step.reserved
        )


def _tag_function(ex: Executor, step: TagFunction) -> None:
    client = ex.client("lambda")
    if step.set_tags:
        client.tag_resource(Resource=step.arn, Tags=dict(step.set_tags))
    if step.remove_keys:
        client.untag_resource(Resource=step.arn, TagKeys=list(step.remove_keys))


def _put_log_retention(ex: Executor, step: PutLogRetention) -> None:
    logs = ex.client("logs")
    group = step.group
    try:
        # Lambda creates the group on the first invocation; create it now to set retention.
        logs.create_log_group(logGroupName=group)
    except botocore.exceptions.ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
    ex.state.put(log_group_key(group), {"kind": "log_group", "name": group})
    logs.put_retention_policy(logGroupName=group, retentionInDays=step.days)


def _delete_log_group(ex: Executor, step: DeleteLogGroup) -> None:
    ignore_gone(lambda: ex.client("logs").delete_log_group(logGroupName=step.name))
    ex.state.remove(step.key)


def _delete_function(ex: Executor, step: DeleteFunction) -> None:
    ignore_gone(lambda: ex.client("lambda").delete_function(FunctionName=step.name))
    ex.state.remove(step.key)


# --- record bookkeeping -------------------------------------------------------------------


def _record(ex: Executor, step: RecordResource) -> None:
    ex.state.put(step.key, step.entry)


def _forget(ex: Executor, step: ForgetResource) -> None:
    ex.state.remove(step.key)


_HANDLERS: Mapping[type, Callable[[Executor, Any], None]] = {
    CreateRole: _create_role,
    PutRolePolicy: _put_role_policy,
    UpdateAssumeRolePolicy: _update_trust,
    DeleteRole: _delete_role,
    PublishLayer: _publish_layer,
    DeleteLayer: _delete_layer,
    CreateFunction: _create_function,
    UpdateFunctionCode: _update_code,
    UpdateFunctionConfiguration: _update_configuration,
    PutFunctionConcurrency: _put_concurrency,
    TagFunction: _tag_function,
    PutLogRetention: _put_log_retention,
    DeleteLogGroup: _delete_log_group,
    DeleteFunction: _delete_function,
    RecordResource: _record,
    ForgetResource: _forget,
    **TRIGGER_HANDLERS,
}

_unhandled = set(Instruction.__args__) - set(_HANDLERS)
assert not _unhandled, f"instructions without an executor handler: {_unhandled}"
