"""The resources an app's triggers read from (buckets, topics, queues, streams): fw never creates
them, so a deploy whose trigger names one that does not exist is refused before any write, one
line per missing resource with the ``aws`` command that creates it.

Without this, the plan runs until the notification, subscription or mapping, and stops halfway
with the functions, role and API already made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from deployer.deploy import kinds
from deployer.deploy.kinds.base import Question, RemoteState, TriggerSource
from deployer.deploy.models import DesiredState
from deployer.errors import DeployError

__all__ = ["TriggerSource", "check_sources", "source_reads", "trigger_sources"]


def trigger_sources(desired: DesiredState) -> Iterator[TriggerSource]:
    """Every resource the stage's triggers name, in the plan's order, each once; the kinds
    that wire triggers (S3, SNS, mappings) list theirs."""
    for _, source in _owned_sources(desired):
        yield source


def _owned_sources(desired: DesiredState) -> Iterator[tuple[Any, TriggerSource]]:
    """Each trigger source with the kind that listed it (which also names and creates it)."""
    timeouts = {f.function_name: f.settings.timeout for f in desired.functions}
    seen: set[tuple[str, str]] = set()
    for kind in kinds.KINDS:
        listed = getattr(kind, "trigger_sources", None)
        for source in listed(desired) if listed else ():
            if (source.kind, source.name) not in seen:
                seen.add((source.kind, source.name))
                timeout = timeouts.get(source.function_name, 60)
                yield kind, attrs.evolve(source, timeout=timeout)


def source_reads(desired: DesiredState) -> list[Question]:
    """The questions :func:`check_sources` asks, for the prefetch."""
    return [s.question for s in trigger_sources(desired)]


def check_sources(desired: DesiredState, remote: RemoteState) -> None:
    """Refuse the plan if a resource a trigger names does not exist (one line per resource)."""
    missing = [
        (kind, s) for kind, s in _owned_sources(desired) if not remote.ask(*_flat(s.question))
    ]
    if not missing:
        return
    region = desired.region
    count = "1 resource" if len(missing) == 1 else f"{len(missing)} resources"
    lines = [
        f"the app's triggers name {count} that does not exist in {region} (fw does not create"
        " them; nothing was changed): create each, then deploy again"
    ]
    if len(missing) > 1:
        lines[0] = lines[0].replace("does not exist", "do not exist")
    # A kind that lists trigger sources says how a missing one is named and created.
    lines += [
        f"  {kind.describe_source(s)} ({s.function_name}): {kind.source_command(s, region)}"
        for kind, s in missing
    ]
    raise DeployError("\n".join(lines))


def _flat(question: Question) -> tuple[Any, ...]:
    return (question[0], *question[1])
