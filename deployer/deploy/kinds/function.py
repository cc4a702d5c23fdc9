"""Lambda functions: code, configuration, reserved concurrency and tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    DEPLOYMENT_TAG,
    CodeArtifact,
    Entry,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    delete_or_forget,
    deployment_of,
    dropped,
    record_if_missing,
    refuse_other_deployment,
)
from deployer.errors import DeployError

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "function"
# The log group too: removals go in reverse, so the group is deleted only once the function is
# ("Configuring CloudWatch log groups": Lambda makes /aws/lambda/<name> when a function runs).
AFTER: tuple[str, ...] = ("role", "layer", "log_group")


def log_group_name(function_name: str) -> str:
    """The CloudWatch Logs group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


@attrs.frozen
class FunctionSettings:
    """The part of a function ``UpdateFunctionConfiguration`` sets; compared as a whole."""

    handler: str
    role_arn: str
    runtime: str
    memory_size: int
    timeout: int
    environment: Mapping[str, str] = attrs.field(factory=dict)
    layers: tuple[str, ...] = ()
    subnet_ids: frozenset[str] = frozenset()
    security_group_ids: frozenset[str] = frozenset()
    xray: bool = False


@attrs.frozen
class LambdaFunction:
    """One Lambda function: the REST handler, an event handler or a built-in authorizer."""

    logical_name: str  # "api_handler" or the handler's name in the app
    function_name: str
    arn: str
    code: CodeArtifact
    architecture: str
    settings: FunctionSettings
    reserved_concurrency: int | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    log_retention_in_days: int | None = None

    @property
    def key(self) -> str:
        return f"function:{self.function_name}"

    @property
    def log_group(self) -> str:
        return log_group_name(self.function_name)


@attrs.frozen
class FunctionEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str
    arn: str


ENTRY = FunctionEntry


@attrs.frozen
class RemoteFunction:
    name: str
    arn: str
    code_sha256: str
    architecture: str
    settings: FunctionSettings
    reserved_concurrency: int | None = None
    tags: Mapping[str, str] = attrs.field(factory=dict)
    state: str = "Active"
    last_update_status: str = "Successful"

    @property
    def busy(self) -> bool:
        """Lambda is still creating the function or applying an update to it ("Lambda function
        states": Pending, or LastUpdateStatus InProgress), so it refuses another change
        ("Lambda: UpdateFunctionConfiguration": during an update "you can't modify the
        function"). A deploy cut short right after an update call leaves it so."""
        return self.state == "Pending" or self.last_update_status == "InProgress"


# --- instructions ---------------------------------------------------------------------------


class _FunctionStep(Step):
    __slots__ = ()
    kind: ClassVar[str] = NAME

    @property
    def lane(self) -> str:
        return f"function:{self.function_name}"

    @property
    def function_name(self) -> str:
        return str(getattr(self, "function").function_name)  # noqa: B009


@attrs.frozen
class CreateFunction(_FunctionStep):
    MESSAGE: ClassVar[str] = "Creating function {self.function.function_name}"
    function: LambdaFunction


@attrs.frozen
class UpdateFunctionCode(_FunctionStep):
    MESSAGE: ClassVar[str] = "Updating code of function {self.function.function_name}"
    function: LambdaFunction
    busy: bool = False  # Lambda was still applying an earlier update when the plan read it


@attrs.frozen
class UpdateFunctionConfiguration(_FunctionStep):
    function: LambdaFunction
    changed: tuple[str, ...] = ()  # names of the settings that differ, for the message
    busy: bool = False  # Lambda was still applying an earlier update when the plan read it

    @property
    def message(self) -> str:
        what = f" ({', '.join(self.changed)})" if self.changed else ""
        return f"Updating configuration of function {self.function.function_name}{what}"


@attrs.frozen
class PutFunctionConcurrency(Step):
    kind: ClassVar[str] = NAME
    function_name: str
    reserved: int | None

    @property
    def lane(self) -> str:
        return f"function:{self.function_name}"

    @property
    def message(self) -> str:
        if self.reserved is None:
            return f"Removing reserved concurrency of function {self.function_name}"
        return f"Setting reserved concurrency of function {self.function_name} to {self.reserved}"


@attrs.frozen
class TagFunction(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Updating tags of function {self.function_name}"
    function_name: str
    arn: str
    set_tags: Mapping[str, str]
    remove_keys: tuple[str, ...] = ()

    @property
    def lane(self) -> str:
        return f"function:{self.function_name}"


@attrs.frozen
class DeleteFunction(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Deleting function {self.name}"
    key: str
    name: str


# --- reads ----------------------------------------------------------------------------------


def _read_function(reader: Reader, name: str) -> RemoteFunction | None:
    client = reader.client("lambda")
    found = reader.read(f"function {name!r}", lambda: client.get_function(FunctionName=name))
    if found is None:
        return None
    config = found["Configuration"]
    vpc = config.get("VpcConfig") or {}
    settings = FunctionSettings(
        handler=config.get("Handler", ""),
        role_arn=config.get("Role", ""),
        runtime=config.get("Runtime", ""),
        memory_size=config.get("MemorySize", 128),
        timeout=config.get("Timeout", 3),
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        layers=tuple(layer["Arn"] for layer in config.get("Layers") or ()),
        subnet_ids=frozenset(vpc.get("SubnetIds") or ()),
        security_group_ids=frozenset(vpc.get("SecurityGroupIds") or ()),
        xray=(config.get("TracingConfig") or {}).get("Mode") == "Active",
    )
    concurrency = (found.get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    return RemoteFunction(
        name=name,
        arn=config["FunctionArn"],
        code_sha256=config.get("CodeSha256", ""),
        architecture=(config.get("Architectures") or ["x86_64"])[0],
        settings=settings,
        reserved_concurrency=concurrency,
        tags=dict(found.get("Tags") or {}),
        state=config.get("State") or "Active",
        last_update_status=config.get("LastUpdateStatus") or "Successful",
    )


READS = {"function": Read("lambda", _read_function)}


def found(remote: RemoteState, name: str) -> RemoteFunction | None:
    """What AWS has of function ``name`` (for the kinds wired to it)."""
    answer: RemoteFunction | None = remote.ask("function", name)
    return answer


# --- plan -----------------------------------------------------------------------------------


def models(desired: DesiredState) -> tuple[LambdaFunction, ...]:
    return desired.functions


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("function", (f.function_name,)) for f in desired.functions]


def _settings_diff(desired: FunctionSettings, actual: FunctionSettings) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in attrs.fields(FunctionSettings)
        if getattr(desired, field.name) != getattr(actual, field.name)
    )


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    steps: list[Step] = []
    deployment = deployment_of(desired.app_name, desired.stage)
    for function in desired.functions:
        remote_function = found(remote, function.function_name)
        if remote_function is not None:
            # Names alone collide (app "shop" stage "eu-dev", app "shop-eu" stage "dev"); the
            # tag fw gives every function tells whose it is.
            refuse_other_deployment(
                f"function {function.function_name!r}",
                remote_function.tags.get(DEPLOYMENT_TAG),
                deployment,
            )
        steps += _plan_function(function, remote_function, record, refs)
    return steps


def _plan_function(
    function: LambdaFunction, found: RemoteFunction | None, record: Record, refs: References
) -> list[Step]:
    # The managed layer's ARN is known when the layer is unchanged (else the executor resolves
    # it once published, and the configuration differs anyway).
    settings = attrs.evolve(
        function.settings, layers=tuple(refs.resolve(a) for a in function.settings.layers)
    )
    function = attrs.evolve(function, settings=settings)
    if found is None:
        steps: list[Step] = [CreateFunction(function)]
        if function.reserved_concurrency is not None:
            steps.append(
                PutFunctionConcurrency(function.function_name, function.reserved_concurrency)
            )
        return steps
    steps = record_if_missing(
        record, function.key, FunctionEntry(function.function_name, found.arn)
    )
    if (
        found.code_sha256 != function.code.code_sha256
        or found.architecture != function.architecture
    ):
        steps.append(UpdateFunctionCode(function, found.busy))
    changed = _settings_diff(settings, found.settings)
    if changed:
        steps.append(UpdateFunctionConfiguration(function, changed, found.busy))
    if found.reserved_concurrency != function.reserved_concurrency:
        steps.append(PutFunctionConcurrency(function.function_name, function.reserved_concurrency))
    to_set = {k: v for k, v in function.tags.items() if found.tags.get(k) != v}
    to_remove = tuple(
        sorted(k for k in found.tags if k not in function.tags and not k.startswith("aws:"))
    )
    if to_set or to_remove:
        steps.append(TagFunction(function.function_name, found.arn, to_set, to_remove))
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("function", (e.name,)) for e in dropped(record, FunctionEntry, keep).values()]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    return delete_or_forget(
        record,
        FunctionEntry,
        keep,
        lambda key, e: DeleteFunction(key, e.name) if found(remote, e.name) else None,
    )


# --- executor -------------------------------------------------------------------------------


def _configuration(ex: Executor, function: LambdaFunction) -> dict[str, Any]:
    s = function.settings
    return {
        "Role": s.role_arn,
        "Handler": s.handler,
        "Runtime": s.runtime,
        "MemorySize": s.memory_size,
        "Timeout": s.timeout,
        "Environment": {"Variables": dict(s.environment)},
        "Layers": [ex.resolve(layer) for layer in s.layers],
        "VpcConfig": {
            "SubnetIds": sorted(s.subnet_ids),
            "SecurityGroupIds": sorted(s.security_group_ids),
        },
        "TracingConfig": {"Mode": "Active" if s.xray else "PassThrough"},
    }


def _read_zip(ex: Executor, function: LambdaFunction) -> bytes:
    try:
        data = function.code.path.read_bytes()
    except OSError as err:
        raise DeployError(
            f"cannot read the deployment package {str(function.code.path)!r}: {err}"
        ) from err
    ex.announce_upload(function.code.path.name, len(data))
    return data


def _create_function(ex: Executor, step: CreateFunction) -> None:
    function = step.function
    client = ex.client("lambda")
    settings = _configuration(ex, function)
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
    ex.touched(function.function_name)
    ex.state.put(function.key, FunctionEntry(function.function_name, result["FunctionArn"]))


def _wait_ready(ex: Executor, function_name: str, busy: bool) -> None:
    """Wait while Lambda applies an update: one this run made, or one the plan found in
    progress (an earlier deploy stopped right after its update call), which the executor's
    wait covers once the function counts as touched."""
    if busy:
        ex.touched(function_name)
    ex.wait_ready(function_name)


def _update_code(ex: Executor, step: UpdateFunctionCode) -> None:
    function = step.function
    _wait_ready(ex, function.function_name, step.busy)
    ex.client("lambda").update_function_code(
        FunctionName=function.function_name,
        ZipFile=_read_zip(ex, function),
        Architectures=[function.architecture],
    )
    ex.touched(function.function_name)


def _update_configuration(ex: Executor, step: UpdateFunctionConfiguration) -> None:
    function = step.function
    _wait_ready(ex, function.function_name, step.busy)
    client = ex.client("lambda")
    settings = _configuration(ex, function)
    ex.with_role_retry(
        lambda: client.update_function_configuration(
            FunctionName=function.function_name, **settings
        ),
        function.function_name,
    )
    ex.touched(function.function_name)


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


def _delete_function(ex: Executor, step: DeleteFunction) -> None:
    ignore_gone(lambda: ex.client("lambda").delete_function(FunctionName=step.name))
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {
    CreateFunction: _create_function,
    UpdateFunctionCode: _update_code,
    UpdateFunctionConfiguration: _update_configuration,
    PutFunctionConcurrency: _put_concurrency,
    TagFunction: _tag_function,
    DeleteFunction: _delete_function,
}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    from deployer.deploy.kinds.layer import MANAGED_LAYER
    from deployer.package.sam import FUNCTION_ZIP_URI

    for function in t.functions:
        settings = t.settings(function)
        properties = t.properties(function)
        properties.update(
            {
                "CodeUri": FUNCTION_ZIP_URI,
                "Handler": function.node.handler,
                "Runtime": settings.runtime,
                "Architectures": [settings.architecture],
                "MemorySize": settings.lambda_memory_size,
                "Timeout": settings.lambda_timeout,
            }
        )
        if settings.environment_variables:
            properties["Environment"] = {"Variables": dict(settings.environment_variables)}
        if settings.xray:
            properties["Tracing"] = "Active"
        if settings.subnet_ids:
            properties["VpcConfig"] = {
                "SubnetIds": list(settings.subnet_ids),
                "SecurityGroupIds": list(settings.security_group_ids),
            }
        layers: list[Any] = list(settings.layers)
        if MANAGED_LAYER in t.refs:
            # The dependencies left the function zip for the layer: every function needs it.
            layers.append(t.refs[MANAGED_LAYER])
        if layers:
            properties["Layers"] = layers
        if settings.reserved_concurrency is not None:
            properties["ReservedConcurrentExecutions"] = settings.reserved_concurrency
        if settings.tags:
            properties["Tags"] = dict(settings.tags)
