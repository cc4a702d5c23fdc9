"""The deploy pool: dependencies, bounded concurrency, output in plan order, failure and Ctrl-C.

Small fake instructions follow the kind modules' contract: a ``kind`` class attribute, a
``lane`` and a ``message``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import ClassVar

import attrs
import pytest

from deployer.deploy import pool

AFTER = {"role": (), "function": ("role",), "permission": ("function",), "alarm": ()}


@attrs.frozen
class Create:
    kind: ClassVar[str] = "function"
    name: str
    lane_name: str = ""

    @property
    def lane(self) -> str:
        return self.lane_name or self.name

    @property
    def message(self) -> str:
        return f"Creating {self.kind} {self.name}"


@attrs.frozen
class Role(Create):
    kind: ClassVar[str] = "role"


@attrs.frozen
class Permit(Create):
    kind: ClassVar[str] = "permission"


@attrs.frozen
class Alarm(Create):
    kind: ClassVar[str] = "alarm"


@attrs.frozen
class Delete(Create):
    kind: ClassVar[str] = "function"

    @property
    def message(self) -> str:
        return f"Deleting {self.kind} {self.name}"


@attrs.frozen
class DeleteRole(Delete):
    kind: ClassVar[str] = "role"


@attrs.frozen
class DeletePermit(Delete):
    kind: ClassVar[str] = "permission"


def _is_removal(step: object) -> bool:
    return isinstance(step, Delete)


def _needs(plan: list[Create]) -> list[set[int]]:
    found = pool.dependencies(plan, after=AFTER, is_removal=_is_removal)
    return [set(n) for n in found]


def _run(plan: list[Create], apply: Callable[[Create], None], **kwargs: object) -> list[str]:
    lines: list[str] = []
    kwargs.setdefault("workers", 8)
    pool.run(plan, apply, after=AFTER, is_removal=_is_removal, report=lines.append, **kwargs)  # type: ignore[arg-type]
    return lines


def test_creates_wait_for_the_kinds_they_follow_and_their_lane() -> None:
    plan = [Role("r"), Create("a"), Create("b"), Permit("p", "a"), Alarm("x")]
    # b waits for the role only; the permission shares a's lane, waits for both functions
    # and (through them) the role.
    assert _needs(plan) == [set(), {0}, {0}, {0, 1, 2}, set()]


def test_waiting_is_transitive_through_kinds() -> None:
    plan = [Role("r"), Permit("p")]
    assert _needs(plan) == [set(), {0}]


def test_removals_wait_for_every_create_and_for_removals_of_related_kinds() -> None:
    plan = [
        DeletePermit("old-p"),
        Create("a"),
        DeleteRole("old-r"),
        Delete("old-f"),
        Delete("old-g"),
        Alarm("x"),
    ]
    needs = _needs(plan)
    assert needs[0] == {1, 5}  # after every create, even those later in the plan
    assert needs[3] == {0, 1, 2, 5}  # the permission's removal went first; so did the role's
    assert needs[4] == {0, 1, 2, 5}  # but not the other function's: same kind, independent


def test_a_removal_followed_on_its_lane_by_a_create_is_a_replacement() -> None:
    plan = [Role("r"), Delete("f"), Create("f"), Create("g")]
    # The delete runs in plan order with the creates, not after them (that would deadlock).
    assert _needs(plan) == [set(), {0}, {0, 1}, {0}]


def test_independent_steps_run_at_once_up_to_the_bound() -> None:
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def apply(step: Create) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.1)
        with lock:
            in_flight -= 1

    plan = [Create(f"f{i}") for i in range(6)]
    started = time.monotonic()
    _run(plan, apply, workers=3)
    assert peak == 3
    assert time.monotonic() - started < 0.5  # two rounds of 0.1 s, not six


def test_a_step_starts_only_once_what_it_waits_for_has_finished() -> None:
    events: list[str] = []

    def apply(step: Create) -> None:
        events.append(f"start {step.name}")
        time.sleep(0.05)
        events.append(f"end {step.name}")

    _run([Role("r"), Create("a"), Create("b"), Permit("p", "a")], apply)
    assert events.index("end r") < min(events.index("start a"), events.index("start b"))
    assert events.index("start p") > max(events.index("end a"), events.index("end b"))


def test_lines_are_whole_and_in_plan_order_whatever_finishes_first() -> None:
    a_may_finish = threading.Event()
    say = pool.routed(lambda line: None)  # in a pool thread, lines go with the running step

    def apply(step: Create) -> None:
        if step.name == "a":
            assert a_may_finish.wait(5)
            say("  a detail")
        else:
            say("  b detail")
            a_may_finish.set()

    lines = _run([Create("a"), Create("b")], apply)
    assert lines == ["Creating function a", "  a detail", "Creating function b", "  b detail"]


def test_a_step_printed_after_it_ran_long_says_how_long() -> None:
    b_done = threading.Event()

    def apply(step: Create) -> None:
        if step.name == "a":
            assert b_done.wait(5)
        else:
            time.sleep(0.05)
            b_done.set()

    lines = _run([Create("a"), Create("b")], apply, long_step=0.01)
    assert lines[0] == "Creating function a"
    assert lines[1].startswith("Creating function b (") and lines[1].endswith("s)")


def test_the_first_failure_in_plan_order_is_raised_and_nothing_new_starts() -> None:
    started: list[str] = []
    a_may_fail = threading.Event()

    def apply(step: Create) -> None:
        started.append(step.name)
        if step.name == "a":
            assert a_may_fail.wait(5)
            raise RuntimeError("a failed")
        if step.name == "b":
            a_may_fail.set()
            raise RuntimeError("b failed")

    plan = [Create("a"), Create("b"), Permit("p")]
    with pytest.raises(RuntimeError, match="a failed"):
        _run(plan, apply)
    assert sorted(started) == ["a", "b"]  # a ran to its end after b failed; p never started


def test_running_steps_finish_after_a_failure() -> None:
    finished: list[str] = []
    slow_running = threading.Event()

    def apply(step: Create) -> None:
        if step.name == "slow":
            slow_running.set()
            time.sleep(0.2)
            finished.append(step.name)
        else:
            assert slow_running.wait(5)
            raise RuntimeError("quick failed")

    with pytest.raises(RuntimeError, match="quick failed"):
        _run([Create("slow"), Create("quick")], apply)
    assert finished == ["slow"]


def test_ctrl_c_lets_running_steps_finish_then_stops() -> None:
    finished: list[str] = []

    def apply(step: Create) -> None:
        if step.name == "a":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the main thread handles the signal meanwhile
        finished.append(step.name)

    lines: list[str] = []
    with pytest.raises(pool.Interrupted) as raised:
        pool.run(
            [Create("a"), Permit("p", "a")],
            apply,
            after=AFTER,
            is_removal=_is_removal,
            report=lines.append,
        )
    assert finished == ["a"]
    assert raised.value.where == "before creating permission p"
    assert "Stopping after this step, once it is recorded (Ctrl-C again to stop now)" in lines
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_in_a_step_that_ends_at_once_still_says_it_stops() -> None:
    def apply(step: Create) -> None:
        if step.name == "a":
            os.kill(os.getpid(), signal.SIGINT)

    lines: list[str] = []
    with pytest.raises(pool.Interrupted, match="before creating function b"):
        pool.run(
            [Create("a"), Create("b", "a")],
            apply,
            after=AFTER,
            is_removal=_is_removal,
            report=lines.append,
        )
    assert lines == [
        "Creating function a",
        "Stopping after this step, once it is recorded (Ctrl-C again to stop now)",
    ] or lines == [
        "Stopping after this step, once it is recorded (Ctrl-C again to stop now)",
        "Creating function a",
    ]


def test_a_keyboard_interrupt_inside_a_step_stops_the_run_while_it() -> None:
    def apply(step: Create) -> None:
        if step.name == "a":
            raise KeyboardInterrupt

    with pytest.raises(pool.Interrupted, match="while creating function a"):
        _run([Create("a"), Create("b", "a")], apply)


def test_the_result_is_every_message_in_plan_order() -> None:
    plan = [Role("r"), Create("a"), Create("b")]
    assert pool.run(
        plan, lambda step: None, after=AFTER, is_removal=_is_removal, report=lambda line: None
    ) == [step.message for step in plan]


def test_kinds_that_wait_for_each_other_are_refused() -> None:
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        pool.dependencies([Create("x")], after={"a": ("b",), "b": ("a",)}, is_removal=_is_removal)
