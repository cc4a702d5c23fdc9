"""Run a plan's instructions concurrently in a bounded set of threads, dependencies respected.

Deploy time is mostly waiting for AWS: six functions' code updates need not wait for each other.
What must wait is declared, not guessed: each instruction names its ``kind`` and its ``lane``
(instructions on one lane keep plan order, e.g. one function's code, then its configuration),
and each kind names the kinds whose creates and updates must finish first (``after``). Removals
run once every create and update has finished. Every dependency edge points back in plan order
(but the one "removals after creates"), so running the plan one step at a time is always a valid
schedule and the graph can have no cycle.

Output stays a transcript of the plan: a step's lines (its message, then what it reported) are
printed whole and in plan order, each once every earlier step's lines have been.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs

__all__ = ["LONG_STEP", "Interrupted", "Step", "dependencies", "routed", "run"]

# A step that took longer than this before its line could be printed says how long it took.
LONG_STEP = 1.0
# How often the waiting main thread wakes, so Ctrl-C is handled promptly.
_POLL = 0.05


class Step(Protocol):
    """What the pool needs of an instruction (the kind modules' contract)."""

    @property
    def kind(self) -> str: ...

    @property
    def lane(self) -> str: ...

    @property
    def message(self) -> str: ...


S = TypeVar("S", bound=Step)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; ``where`` says at which step ("before ..."/"while ...")."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _closure(after: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """Kind -> every kind it waits for, directly or through another kind."""
    done: dict[str, frozenset[str]] = {}

    def visit(kind: str, path: tuple[str, ...]) -> frozenset[str]:
        if kind in done:
            return done[kind]
        if kind in path:
            raise ValueError(f"kinds wait for each other in a cycle: {' -> '.join((*path, kind))}")
        found: set[str] = set()
        for before in after.get(kind, ()):
            found.add(before)
            found |= visit(before, (*path, kind))
        done[kind] = frozenset(found)
        return done[kind]

    for kind in list(after):
        visit(kind, ())
    return done


def dependencies(
    plan: Sequence[S],
    *,
    after: Mapping[str, Iterable[str]],
    is_removal: Callable[[S], bool],
) -> list[frozenset[int]]:
    """For each step (by plan index), the indexes of the steps that must finish before it.

    - the step before it on its lane;
    - a create/update: the earlier creates/updates of the kinds its kind waits for;
    - a final removal (a removal no create/update follows on its lane; a removal followed by
      one, as in delete-then-recreate, is part of that replacement and counts as an update):
      every create/update, and the earlier final removals of related kinds (the planner lists
      removals in reverse dependency order; the pool keeps that order between related kinds).
    """
    waits = _closure(after)

    def related(a: str, b: str) -> bool:
        return a in waits.get(b, frozenset()) or b in waits.get(a, frozenset())

    last_update_on_lane: dict[str, int] = {}
    for index, step in enumerate(plan):
        if not is_removal(step):
            last_update_on_lane[step.lane] = index
    final = [
        is_removal(step) and last_update_on_lane.get(step.lane, -1) < index
        for index, step in enumerate(plan)
    ]
    updates = [index for index, is_final in enumerate(final) if not is_final]
    previous_on_lane: dict[str, int] = {}
    result: list[frozenset[int]] = []
    for index, step in enumerate(plan):
        needs: set[int] = set()
        if step.lane in previous_on_lane:
            needs.add(previous_on_lane[step.lane])
        previous_on_lane[step.lane] = index
        if final[index]:
            needs.update(updates)
            needs.update(
                earlier
                for earlier in range(index)
                if final[earlier] and related(plan[earlier].kind, step.kind)
            )
        else:
            before = waits.get(step.kind, frozenset())
            needs.update(
                earlier
                for earlier in range(index)
                if not final[earlier] and plan[earlier].kind in before
            )
        result.append(frozenset(needs))
    return result


# The running step of this thread, so ``routed`` can file a handler's lines under its step.
_local = threading.local()


def routed(report: Callable[[str], None]) -> Callable[[str], None]:
    """``report`` as seen by code that runs inside a step: in a pool thread a line joins the
    running step's lines (printed with them, in plan order); elsewhere it goes straight out."""

    def say(message: str) -> None:
        slot = getattr(_local, "slot", None)
        if slot is None:
            report(message)
        else:
            _local.transcript.add(slot, message)

    return say


@attrs.define(eq=False)
class _Slot:
    index: int
    message: str
    needs: set[int]
    state: str = "waiting"  # waiting -> running -> done | failed
    error: BaseException | None = None
    started: float = 0.0
    ended: float = 0.0
    lines: list[str] = attrs.field(factory=list)
    printed: int = -1  # lines printed so far; -1 while the step's own message is not


class _Transcript:
    """Prints the steps' lines in plan order: the lowest step not yet through is the head."""

    def __init__(self, slots: list[_Slot], report: Callable[[str], None], long: float) -> None:
        self._slots = slots
        self._report = report
        self._long = long
        self._head = 0
        self._lock = threading.Lock()
        self._closed = False

    def add(self, slot: _Slot, line: str) -> None:
        with self._lock:
            if self._closed:
                return  # a step still running after a second Ctrl-C: the run has ended
            slot.lines.append(line)
            self._flush()

    def update(self) -> None:
        with self._lock:
            if not self._closed:
                self._flush()

    def note(self, line: str) -> None:
        """A line about the whole run (not a step's), printed now."""
        with self._lock:
            self._report(line)

    def finish(self) -> None:
        """Print what every started step said (a stop leaves some never started); later
        lines are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for slot in self._slots:
                if slot.state != "waiting":
                    self._print(slot)

    def _flush(self) -> None:
        while self._head < len(self._slots):
            slot = self._slots[self._head]
            if slot.state == "waiting":
                return
            self._print(slot)
            if slot.state == "running":
                return
            self._head += 1

    def _print(self, slot: _Slot) -> None:
        if slot.printed < 0:
            line = slot.message
            took = slot.ended - slot.started
            if slot.state != "running" and took >= self._long:
                line = f"{line} ({took:.1f}s)"
            self._report(line)
            slot.printed = 0
        for line in slot.lines[slot.printed :]:
            self._report(line)
        slot.printed = len(slot.lines)


class _StopWhenRunningFinish:
    """The first SIGINT asks to start nothing new and let the running steps finish (and be
    recorded); the second stops waiting for them.

    The handler only sets flags: it runs in the main thread, which may be inside ``report``
    (holding its lock) at that moment. The main loop prints the note.
    """

    def __init__(self) -> None:
        self.requested = False
        self.noted = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _StopWhenRunningFinish:
        try:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        except ValueError:
            pass  # not the main thread: Ctrl-C is the embedding program's to handle
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def run(
    plan: Sequence[S],
    apply: Callable[[S], None],
    *,
    after: Mapping[str, Iterable[str]],
    is_removal: Callable[[S], bool],
    workers: int = 8,
    report: Callable[[str], None],
    long_step: float = LONG_STEP,
) -> list[str]:
    """Apply every step of ``plan``, up to ``workers`` at a time; return the applied messages.

    The first failure starts nothing new; the steps already running finish, and the error of
    the first failed step in plan order is raised. Ctrl-C also lets the running steps finish
    (so the record has them), then raises :class:`Interrupted`. ``apply`` reports through
    :func:`routed` to have its lines printed with its step.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers!r}")
    if not plan:
        return []
    needs = dependencies(plan, after=after, is_removal=is_removal)
    slots = [
        _Slot(i, step.message, set(n)) for i, (step, n) in enumerate(zip(plan, needs, strict=True))
    ]
    transcript = _Transcript(slots, report, long_step)
    changed = threading.Condition()

    def work(slot: _Slot, step: S) -> None:
        _local.slot, _local.transcript = slot, transcript
        try:
            apply(step)
            outcome = "done"
        except BaseException as err:  # handed to the main thread, raised there
            slot.error = err
            outcome = "failed"
        finally:
            _local.slot = None
        slot.ended = time.monotonic()
        with changed:
            slot.state = outcome
            changed.notify_all()
        transcript.update()

    interrupted = False
    try:
        with _StopWhenRunningFinish() as stop:
            while True:
                with changed:
                    states = [slot.state for slot in slots]
                    failed = "failed" in states
                    busy = states.count("running")
                    if stop.requested and not stop.noted:
                        stop.noted = True
                        # Today's sentence, kept word for word even when several steps run:
                        # scripts and tests read it.
                        transcript.note(
                            "Stopping after this step, once it is recorded (Ctrl-C again to stop now)"
                        )
                    if not stop.requested and not failed:
                        for slot in slots:
                            if busy >= workers:
                                break
                            if slot.state == "waiting" and all(
                                states[n] == "done" for n in slot.needs
                            ):
                                slot.state = states[slot.index] = "running"
                                slot.started = time.monotonic()
                                busy += 1
                                threading.Thread(
                                    target=work,
                                    args=(slot, plan[slot.index]),
                                    name=f"fw-step-{slot.index}",
                                    daemon=True,
                                ).start()
                    if busy == 0:
                        break
                    changed.wait(_POLL)
                transcript.update()
    except KeyboardInterrupt:
        # A second Ctrl-C: stop waiting. The running steps' threads end with the process.
        interrupted = True
        transcript.finish()
        first = next((slot for slot in slots if slot.state == "running"), None)
        if first is None:
            first = next((slot for slot in slots if slot.state == "waiting"), slots[-1])
            raise Interrupted(f"before {_lower_first(first.message)}") from None
        raise Interrupted(f"while {_lower_first(first.message)}") from None
    finally:
        if not interrupted:
            transcript.finish()
    failed_slot = next((slot for slot in slots if slot.state == "failed"), None)
    if failed_slot is not None:
        error = failed_slot.error
        assert error is not None
        if isinstance(error, KeyboardInterrupt) and not isinstance(error, Interrupted):
            # Raised inside a step (Ctrl-C where the signal reached that code): the run stops
            # as it does on a second Ctrl-C.
            raise Interrupted(f"while {_lower_first(failed_slot.message)}") from error
        raise error
    pending = next((slot for slot in slots if slot.state == "waiting"), None)
    if pending is not None:
        raise Interrupted(f"before {_lower_first(pending.message)}")
    return [slot.message for slot in slots]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
