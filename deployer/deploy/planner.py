"""Compare the desired state with AWS and the record, and list what to change: a pure function.

``plan(desired, remote, record)`` asks ``remote`` (read-only) what exists and returns a
:class:`Plan`: an immutable, ordered tuple of instructions, each a frozen record that says what
to do and carries its own message. Nothing here calls AWS directly, so the tests answer
``remote`` from a dict. The work is the kinds' (``kinds/<kind>.py``): each plans its own
resources, in the order of ``kinds.KINDS`` (dependency order), and removals come last, in the
reverse order (what invokes a function before the function, functions before their roles).
"""

from __future__ import annotations

from deployer.deploy import kinds
from deployer.deploy.instructions import Instruction, Plan
from deployer.deploy.kinds.base import Question, References, RemoteState
from deployer.deploy.models import DesiredState
from deployer.deploy.sources import check_sources, source_reads
from deployer.deploy.state import Record

__all__ = ["plan", "plan_delete", "plan_removals", "reads_for", "removal_reads"]


def plan(desired: DesiredState, remote: RemoteState, record: Record) -> Plan:
    """The instructions that make AWS match ``desired``, given what ``remote`` reports.

    A plan AWS would refuse halfway is refused here, before anything is written.
    """
    check_sources(desired, remote)
    refs = References()
    steps: list[Instruction] = []
    for kind in kinds.KINDS:
        steps += kind.plan(desired, remote, record, refs)
    removals = plan_removals(record, remote, keep=desired.keys())
    return Plan((*steps, *removals), removals=len(removals))


def plan_delete(record: Record, remote: RemoteState) -> Plan:
    """The instructions that remove everything ``record`` holds, skipping what is gone."""
    removals = plan_removals(record, remote, keep=frozenset())
    return Plan(tuple(removals), removals=len(removals))


def plan_removals(
    record: Record, remote: RemoteState, *, keep: frozenset[str]
) -> list[Instruction]:
    """What removes every recorded resource whose key is not in ``keep``, in a safe order.

    Each recorded resource is deleted if AWS still has it and forgotten otherwise, so a second
    ``fw delete`` or a manual cleanup is harmless.
    """
    steps: list[Instruction] = []
    for kind in reversed(kinds.KINDS):
        steps += kind.removals(record, remote, keep)
    return steps


def removal_reads(record: Record, keep: frozenset[str]) -> list[Question]:
    """The questions :func:`plan_removals` will ask."""
    return [q for kind in reversed(kinds.KINDS) for q in kind.removal_reads(record, keep)]


def reads_for(desired: DesiredState | None, record: Record) -> list[Question]:
    """The ``(read, args)`` questions ``plan`` will ask, so they can be prefetched concurrently.
    Only a speed-up: a question missing here is simply asked when needed."""
    questions: list[Question] = []
    keep: frozenset[str] = frozenset()
    if desired is not None:
        keep = desired.keys()
        for kind in kinds.KINDS:
            questions += kind.reads(desired, record)
        questions += source_reads(desired)
    questions += removal_reads(record, keep)
    return questions
