"""The managed layer holding the requirements when ``automatic_layer`` is set."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import attrs

from deployer.deploy.aws import ignore_gone
from deployer.deploy.kinds.base import (
    CodeArtifact,
    Entry,
    Handler,
    Question,
    Read,
    Reader,
    References,
    RemoteState,
    Step,
    all_pages,
    delete_or_forget,
    dropped,
    record_if_missing,
)
from deployer.errors import DeployError

if TYPE_CHECKING:
    from deployer.deploy.executor import Executor
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

NAME = "layer"
AFTER: tuple[str, ...] = ()

# The layer's version ARN only exists once published: functions name it by this placeholder.
MANAGED_LAYER = "{fw:managed_layer}"


@attrs.frozen
class LambdaLayer:
    """The managed layer holding the requirements when ``automatic_layer`` is set."""

    name: str
    code: CodeArtifact
    runtime: str
    architecture: str

    @property
    def key(self) -> str:
        return f"layer:{self.name}"


@attrs.frozen
class LayerEntry(Entry):
    kind: ClassVar[str] = NAME
    name: str
    version_arn: str

    def references(self) -> dict[str, str]:
        return {MANAGED_LAYER: self.version_arn}


ENTRY = LayerEntry


@attrs.frozen
class RemoteLayer:
    version_arn: str
    code_sha256: str
    # What the version was published for; empty when unknown (then not compared).
    runtimes: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    versions: tuple[int, ...] = ()  # every version under the name, oldest first


@attrs.frozen
class PublishLayer(Step):
    kind: ClassVar[str] = NAME
    MESSAGE: ClassVar[str] = "Publishing layer {self.layer.name}"
    layer: LambdaLayer

    @property
    def lane(self) -> str:
        return self.layer.key


@attrs.frozen
class DeleteLayer(Step):
    """Delete the versions of fw's managed layer (all of them: every deploy that changed the
    requirements published one, and each is kept until the stage or its layer goes)."""

    kind: ClassVar[str] = NAME
    key: str
    name: str
    versions: tuple[int, ...] = ()

    @property
    def message(self) -> str:
        if not self.versions:
            return f"Deleting layer {self.name}"
        numbers = ", ".join(str(v) for v in self.versions)
        return (
            f"Deleting layer {self.name} (version{'s' if len(self.versions) > 1 else ''} {numbers})"
        )


def _read_layer(reader: Reader, name: str) -> RemoteLayer | None:
    client = reader.client("lambda")
    # Every version, not just the latest: fw delete removes all those published under fw's
    # name (one page of 50 holds them unless a stage was redeployed that many times).
    versions = reader.read(
        f"layer {name!r}",
        lambda: all_pages(client, "list_layer_versions", "LayerVersions", LayerName=name),
    )
    if not versions:
        return None
    latest = max(versions, key=lambda v: v["Version"])
    detail = reader.read(
        f"layer {name!r}",
        lambda: client.get_layer_version(LayerName=name, VersionNumber=latest["Version"]),
    )
    if detail is None:
        return None
    return RemoteLayer(
        latest["LayerVersionArn"],
        detail["Content"].get("CodeSha256", ""),
        runtimes=tuple(detail.get("CompatibleRuntimes") or ()),
        architectures=tuple(detail.get("CompatibleArchitectures") or ()),
        versions=tuple(sorted(v["Version"] for v in versions)),
    )


READS = {"layer": Read("lambda", _read_layer)}


def models(desired: DesiredState) -> tuple[LambdaLayer, ...]:
    return () if desired.layer is None else (desired.layer,)


def reads(desired: DesiredState, record: Record) -> list[Question]:
    return [("layer", (layer.name,)) for layer in models(desired)]


def plan(
    desired: DesiredState, remote: RemoteState, record: Record, refs: References
) -> list[Step]:
    layer = desired.layer
    if layer is None:
        return []
    found: RemoteLayer | None = remote.ask("layer", layer.name)
    # Pure-Python requirements give the same zip for every runtime and architecture, but the
    # version's compatible runtime/architecture must still follow the stage's settings.
    if (
        found is None
        or found.code_sha256 != layer.code.code_sha256
        or (found.runtimes and layer.runtime not in found.runtimes)
        or (found.architectures and layer.architecture not in found.architectures)
    ):
        return [PublishLayer(layer)]
    refs.set(MANAGED_LAYER, found.version_arn)
    return record_if_missing(record, layer.key, LayerEntry(layer.name, found.version_arn))


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    return [("layer", (e.name,)) for e in dropped(record, LayerEntry, keep).values()]


def removals(record: Record, remote: RemoteState, keep: frozenset[str]) -> list[Step]:
    def delete(key: str, entry: LayerEntry) -> Step | None:
        found: RemoteLayer | None = remote.ask("layer", entry.name)
        return DeleteLayer(key, entry.name, found.versions) if found else None

    return delete_or_forget(record, LayerEntry, keep, delete)


def _publish_layer(ex: Executor, step: PublishLayer) -> None:
    layer = step.layer
    try:
        content = layer.code.path.read_bytes()
    except OSError as err:
        raise DeployError(f"cannot read the layer package {str(layer.code.path)!r}: {err}") from err
    ex.announce_upload(layer.code.path.name, len(content))
    result = ex.client("lambda").publish_layer_version(
        LayerName=layer.name,
        Content={"ZipFile": content},
        CompatibleRuntimes=[layer.runtime],
        CompatibleArchitectures=[layer.architecture],
    )
    ex.state.put(layer.key, LayerEntry(layer.name, result["LayerVersionArn"]))


def _delete_layer(ex: Executor, step: DeleteLayer) -> None:
    client = ex.client("lambda")
    for version in step.versions:
        # DeleteLayerVersion succeeds for a version already deleted; ignore_gone is for safety.
        ignore_gone(
            functools.partial(
                client.delete_layer_version, LayerName=step.name, VersionNumber=version
            )
        )
    ex.state.remove(step.key)


HANDLERS: Mapping[type, Handler] = {PublishLayer: _publish_layer, DeleteLayer: _delete_layer}


# --- SAM --------------------------------------------------------------------------------------


def template(t: Template) -> None:
    from deployer.package.sam import LAYER_ID, LAYER_ZIP_URI

    if t.package.layer_zip is None:
        return
    all_settings = [t.settings(function) for function in t.functions]
    t.resources[LAYER_ID] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "ContentUri": LAYER_ZIP_URI,
            "CompatibleRuntimes": sorted({s.runtime for s in all_settings}),
            "CompatibleArchitectures": sorted({s.architecture for s in all_settings}),
            "Description": f"Dependencies of {t.config.app_name} ({t.config.stage})",
        },
    }
    t.refs[MANAGED_LAYER] = {"Ref": LAYER_ID}
