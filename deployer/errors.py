"""Errors that end a command with one clear line instead of a traceback."""

from __future__ import annotations


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
