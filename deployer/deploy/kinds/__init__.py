"""The resource kinds fw deploys, one module each, and the one ordered list of them.

A kind module owns its frozen model, its typed record entry, its reads of AWS, its plan step
(create / update / no-op), its removal, its instructions with their executor handlers and its
SAM template fragment. The planner, the prefetch, the removals, the executor's table and the
SAM renderer loop over :data:`KINDS`; adding a kind is one module plus one line here.

Order is dependency order for creates and updates (each kind's ``AFTER`` names the kinds whose
changes it needs first, for a concurrent runner); removals run in the reverse order. A kind that
wires a trigger to a resource fw does not create (a bucket, topic, queue or stream) also lists
it in ``trigger_sources(desired)``, so the deploy refuses a missing one before any write, and
says how one is named and created (``describe_source``, ``source_command``). A kind that wires
an app's event handlers names their event sources in ``WIRES`` (the ``kind`` of the records in
``microframework.sources``) and makes its models of one handler in ``wire`` (a
:class:`TriggerKind`); ``desired`` keeps them in
``DesiredState.wired`` under the kind's ``NAME``.
Record bookkeeping steps (``RecordResource``, ``ForgetResource``) have the kind ``"record"``:
they touch no AWS resource and wait for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from deployer.deploy.kinds import (
    event_source_mapping,
    function,
    layer,
    log_group,
    permission,
    rest_api,
    role,
    role_policy,
    rule,
    s3_notification,
    sns_subscription,
    websocket_api,
)
from deployer.deploy.kinds.base import (
    Entry,
    ForgetResource,
    Handler,
    Question,
    Read,
    RecordResource,
    References,
    RemoteState,
    Step,
    Wired,
    WiringContext,
)

if TYPE_CHECKING:
    from deployer.deploy.models import DesiredState
    from deployer.deploy.state import Record
    from deployer.package.sam import Template

__all__ = ["KINDS", "Kind", "TriggerKind", "entry_types", "handlers", "reads_table", "wiring"]


class Kind(Protocol):
    """What a kind module provides (modules satisfy it structurally)."""

    # Read-only, so that a module's constants of narrower types satisfy them.
    @property
    def NAME(self) -> str: ...  # the record's "kind" string, and the instructions' kind
    @property
    def AFTER(self) -> tuple[str, ...]: ...  # kinds whose creates/updates go first
    @property
    def ENTRY(self) -> type[Entry]: ...  # what the record keeps of one resource
    @property
    def READS(self) -> Mapping[str, Read]: ...  # its questions about AWS, by name
    @property
    def HANDLERS(self) -> Mapping[type, Handler]: ...  # instruction type -> executor handler

    def models(self, desired: DesiredState) -> Sequence[Any]: ...
    def reads(self, desired: DesiredState, record: Record) -> list[Question]: ...
    def plan(
        self, desired: DesiredState, remote: RemoteState, record: Record, refs: References
    ) -> Sequence[Step]: ...
    def removal_reads(self, record: Record, keep: frozenset[str]) -> list[Question]: ...
    def removals(
        self, record: Record, remote: RemoteState, keep: frozenset[str]
    ) -> Sequence[Step]: ...
    def template(self, t: Template) -> None: ...  # its part of the SAM template


class TriggerKind(Kind, Protocol):
    """A kind that wires event handlers: what it adds to :class:`Kind`."""

    @property
    def WIRES(self) -> tuple[str, ...]: ...  # event source kinds whose handlers it wires

    def wire(self, source: Any, function: Any, ctx: WiringContext) -> Wired: ...


KINDS: list[Kind] = [
    role,
    layer,
    log_group,
    function,
    rest_api,
    websocket_api,
    role_policy,
    permission,
    rule,
    s3_notification,
    sns_subscription,
    event_source_mapping,
]


def reads_table() -> dict[str, Read]:
    """Every kind's reads by name (a name used twice is a bug in a kind module)."""
    table: dict[str, Read] = {}
    for kind in KINDS:
        for name, read in kind.READS.items():
            assert name not in table, f"read {name!r} of kind {kind.NAME} is already declared"
            table[name] = read
    return table


def wiring(source_kind: str) -> list[TriggerKind]:
    """The kinds that wire the handlers of event source ``source_kind``, in ``KINDS`` order."""
    found: list[Any] = [k for k in KINDS if source_kind in getattr(k, "WIRES", ())]
    return found


def handlers() -> dict[type, Handler]:
    """The executor's table: instruction type -> handler, over every kind."""
    table: dict[type, Handler] = {RecordResource: _record, ForgetResource: _forget}
    for kind in KINDS:
        table.update(kind.HANDLERS)
    return table


def entry_types() -> dict[str, type[Entry]]:
    """Record entry classes by the ``kind`` string the record file holds."""
    return {kind.NAME: kind.ENTRY for kind in KINDS}


def _record(ex: Any, step: RecordResource) -> None:
    ex.state.put(step.key, step.entry)


def _forget(ex: Any, step: ForgetResource) -> None:
    ex.state.remove(step.key)
