"""The plan: an ordered, immutable tuple of instructions.

Each instruction type is defined in its kind's module (``kinds/<kind>.py``) next to the handler
that applies it, and imported from there. Every instruction carries its own message, its
``kind`` and its ``lane``.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from deployer.deploy.kinds.base import ForgetResource, RecordResource, Step

__all__ = ["LOCAL_ONLY", "Instruction", "Plan"]

# Any kind's instruction: the executor's table (``kinds.handlers()``) has one handler per type.
Instruction = Step

# Instructions that only touch the local record, never AWS.
LOCAL_ONLY = (RecordResource, ForgetResource)


@attrs.frozen
class Plan:
    """An ordered, immutable list of instructions: the creates and updates, then the last
    ``removals`` of them, the removals (in reverse dependency order, run after every other)."""

    instructions: tuple[Instruction, ...] = ()
    removals: int = 0

    @property
    def updates(self) -> tuple[Instruction, ...]:
        """The creates and updates, in dependency order."""
        return self.instructions[: len(self.instructions) - self.removals]

    @property
    def removal_steps(self) -> tuple[Instruction, ...]:
        return self.instructions[len(self.instructions) - self.removals :]

    def __len__(self) -> int:
        return len(self.instructions)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)

    @property
    def aws_changes(self) -> tuple[Instruction, ...]:
        """The instructions that call AWS (everything but record bookkeeping)."""
        return tuple(i for i in self.instructions if not isinstance(i, LOCAL_ONLY))

    def messages(self) -> list[str]:
        return [i.message for i in self.instructions]
