"""The Python runtimes Lambda creates functions on, and the one a new project pins.

A project that leaves ``runtime`` unset deploys on the local Python's version, so moving to
another Python would change the deployed function by itself; ``fw new-project`` writes the
runtime into the config instead, chosen here.
"""

from __future__ import annotations

import datetime
import sys

import attrs

__all__ = ["LAMBDA_PYTHON_RUNTIMES", "RuntimeChoice", "offered_runtimes", "pin_runtime"]

# "Building Lambda functions with Python" and "Lambda runtimes" (AWS Lambda Developer Guide):
# each Python runtime with the "Block function create" date of its deprecation schedule, after
# which Lambda refuses to create a function on it (python3.9 and older are past theirs).
LAMBDA_PYTHON_RUNTIMES: dict[str, datetime.date] = {
    "python3.10": datetime.date(2026, 11, 30),
    "python3.11": datetime.date(2027, 7, 31),
    "python3.12": datetime.date(2028, 11, 30),
    "python3.13": datetime.date(2029, 7, 31),
    "python3.14": datetime.date(2029, 7, 31),
}


@attrs.frozen
class RuntimeChoice:
    """The runtime to pin, and why it is not the local Python's when it is not."""

    runtime: str
    note: str | None = None


def _minor(runtime: str) -> int:
    return int(runtime.rpartition(".")[2])


def offered_runtimes(today: datetime.date | None = None) -> tuple[str, ...]:
    """Runtimes Lambda still creates functions on ``today``, oldest first."""
    today = today or datetime.date.today()
    offered = [name for name, blocked in LAMBDA_PYTHON_RUNTIMES.items() if today < blocked]
    # Past every date in the table: the newest is still the best guess (the table is old).
    return tuple(sorted(offered, key=_minor)) or (max(LAMBDA_PYTHON_RUNTIMES, key=_minor),)


def pin_runtime(
    version: tuple[int, int] | None = None, today: datetime.date | None = None
) -> RuntimeChoice:
    """The local Python's ``pythonX.Y`` if Lambda offers it, else the nearest one it offers."""
    major, minor = version or (sys.version_info.major, sys.version_info.minor)
    local = f"python{major}.{minor}"
    offered = offered_runtimes(today)
    if local in offered:
        return RuntimeChoice(local)
    nearest = min(offered, key=lambda name: (abs(_minor(name) - minor), -_minor(name)))
    return RuntimeChoice(
        nearest,
        f"the local Python is {major}.{minor}, which Lambda does not offer for new functions;"
        f" pinned {nearest}, the nearest it does (run fw with Python"
        f" {nearest.removeprefix('python')} so the package check can import the app as Lambda"
        " will)",
    )
