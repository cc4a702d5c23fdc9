"""The contract the kinds keep with the planner, the executor and a concurrent runner."""

from __future__ import annotations

import attrs

from deployer.deploy import kinds
from deployer.deploy.kinds.base import Entry, Step


def _instruction_types(module: object) -> set[type]:
    return {
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Step)
        and attrs.has(value)
        and value.__module__ == getattr(module, "__name__", "")
    }


def test_every_instruction_names_its_kind_and_has_a_handler() -> None:
    table = kinds.handlers()
    for kind in kinds.KINDS:
        types = _instruction_types(kind)
        assert types, kind.NAME
        assert {t.kind for t in types} == {kind.NAME}
        assert types <= set(table)
        assert kind.ENTRY.kind == kind.NAME and issubclass(kind.ENTRY, Entry)


def test_each_kind_comes_after_the_kinds_it_needs_first() -> None:
    order = [kind.NAME for kind in kinds.KINDS]
    assert len(set(order)) == len(order)
    for index, kind in enumerate(kinds.KINDS):
        assert set(kind.AFTER) <= set(order[:index]), kind.NAME


def test_reads_are_named_once_across_the_kinds() -> None:
    names = [name for kind in kinds.KINDS for name in kind.READS]
    assert len(names) == len(set(names)) == len(kinds.reads_table())


def test_every_planned_step_has_a_lane() -> None:
    from test_planner import FakeRemote, deployed, desired_state

    from deployer.deploy import planner
    from deployer.deploy.state import Record

    created = planner.plan(desired_state(), FakeRemote(), Record("app", "dev"))
    remote, record = deployed(desired_state())
    removed = planner.plan_delete(record, remote)
    steps = [*created, *removed]
    assert created.removal_steps == () and removed.removal_steps == removed.instructions
    assert steps and all(step.kind and ":" in step.lane for step in steps)
    # One function's changes share its lane, so a concurrent runner keeps their order.
    lanes = {step.lane for step in created if step.kind == "function"}
    assert lanes == {f"function:{f.function_name}" for f in desired_state().functions}


def test_a_plan_says_where_its_removals_start() -> None:
    from test_planner import deployed, desired_state

    from deployer.deploy import planner

    desired = desired_state()
    remote, record = deployed(desired)
    smaller = attrs.evolve(desired, functions=desired.functions[:-1]).with_wired(
        "event_source_mapping", ()
    )
    plan = planner.plan(smaller, remote, record)
    assert [type(s).__name__ for s in plan.removal_steps] == ["DeleteMapping", "DeleteFunction"]
    assert plan.updates + plan.removal_steps == plan.instructions
