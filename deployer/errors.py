"""Errors that end a command with one clear line instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterable


class FwError(Exception):
    """Base for every expected failure: the CLI prints ``str(err)`` and exits with ``exit_code``."""

    exit_code: int = 1


class ConfigError(FwError):
    """The project's config file (``.fw/`` or ``.chalice/config.json``) or a flag is invalid."""


class PackagingError(FwError):
    """The deployment package cannot be built or breaks a Lambda limit."""


class PolicyError(FwError):
    """The IAM policy cannot be generated or the policy file is unreadable."""


class DeployError(FwError):
    """An AWS call failed during deploy/delete; the message names the resource and the call."""


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice a mistyped ``value`` most likely meant, for a "did you mean" hint.

    A fragment of one choice ("memory", "env") is too short for difflib to match, so a value
    contained in exactly one choice counts too.
    """
    import difflib

    options = list(choices)
    match = difflib.get_close_matches(value, options, n=1)
    if match:
        return match[0]
    if len(value) >= 3:
        containing = [option for option in options if value.lower() in option.lower()]
        if len(containing) == 1:
            return containing[0]
    return None
