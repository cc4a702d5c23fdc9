"""boto3 sessions and clients for the deployer, configured the one way every command needs.

Everything boto3 reads from the environment is left to boto3: credentials, ``AWS_PROFILE``,
``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL`` (boto3 >= 1.28 reads that itself, which is how
the tests reach moto). Added here: a retry policy, and ``AWS_REGION``, which the AWS CLI v2, the
other SDKs and Lambda itself honour (ahead of ``AWS_DEFAULT_REGION``) but boto3 ignores.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import attrs
import boto3
import botocore.config
import botocore.exceptions

from deployer.errors import DeployError

__all__ = [
    "GONE",
    "MAX_ATTEMPTS",
    "AwsContext",
    "create_context",
    "error_code",
    "error_message",
    "ignore_gone",
    "is_write_operation",
    "unreachable",
]

# "standard" retries throttling, 5xx and transient connection errors with jittered backoff.
# 8 retries (botocore's max_attempts counts retries, not attempts) ride out a burst of
# TooManyRequestsException from API Gateway's low per-account rate limits.
MAX_ATTEMPTS = 8
_READ_PREFIXES = ("Get", "List", "Describe", "Head")


def _total_attempts() -> int:
    """Attempts per call: ``AWS_MAX_ATTEMPTS`` when set, else fw's own, more patient default.

    "Retry behavior" (AWS SDKs and Tools Reference Guide): AWS_MAX_ATTEMPTS is the maximum number
    of attempts, a number greater than 0. boto3 would ignore it here, since fw passes its own.
    """
    text = os.environ.get("AWS_MAX_ATTEMPTS", "").strip()
    if not text:
        return MAX_ATTEMPTS + 1
    if not text.isdigit() or int(text) < 1:
        raise DeployError(f"AWS_MAX_ATTEMPTS must be a number greater than 0, not {text!r}")
    return int(text)


def is_write_operation(operation_name: str) -> bool:
    """True for calls that change something (anything but Get*/List*/Describe*/Head*)."""
    return not operation_name.startswith(_READ_PREFIXES)


def error_code(err: Exception) -> str:
    """The ``Error.Code`` of a ClientError (``""`` for anything else)."""
    if isinstance(err, botocore.exceptions.ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


# Deleting something already gone counts as done (a second fw delete, a manual cleanup).
GONE = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "NotFoundException", "NotFound",
})  # fmt: skip


def ignore_gone(call: Callable[[], Any]) -> None:
    """Make a delete call; one that finds its resource already gone counts as done."""
    try:
        call()
    except botocore.exceptions.ClientError as err:
        if error_code(err) not in GONE:
            raise


def unreachable(err: Exception) -> str | None:
    """For a call that never reached AWS (refused, unresolvable, timed out): which endpoint.

    botocore's own text ("Could not connect to the endpoint URL") reads like a credentials
    problem once wrapped; the endpoint and the OS's reason say what to fix.
    """
    # A read timeout or a dropped connection reached the endpoint: not this case.
    if not isinstance(err, botocore.exceptions.ConnectionError):
        return None
    url = err.kwargs.get("endpoint_url") or err.kwargs.get("proxy_url")
    if not url:
        return None
    parts = urllib.parse.urlsplit(str(url))
    endpoint = f"{parts.scheme}://{parts.netloc}" if parts.netloc else str(url)
    found = _OS_REASON.search(str(err.kwargs.get("error", "")))
    if found:
        reason = found[1].strip()
    elif isinstance(err, botocore.exceptions.ConnectTimeoutError):
        reason = "connection timed out"
    elif isinstance(err, botocore.exceptions.SSLError):
        reason = "TLS handshake failed"
    else:
        reason = "no connection"
    what = "proxy" if "proxy_url" in err.kwargs else "AWS endpoint"
    if what == "proxy":
        fix = "check HTTPS_PROXY/HTTP_PROXY"
    elif any(name.startswith("AWS_ENDPOINT_URL") for name in os.environ):
        fix = "check AWS_ENDPOINT_URL"
    else:
        fix = "check your network connection and --region"
    return f"the {what} {endpoint} is unreachable ({reason}); {fix}"


# "[Errno 111] Connection refused", "[Errno -2] Name or service not known".
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\])(]+)")


def error_message(err: Exception) -> str:
    """AWS's own message for a failed call (the ``Error.Message`` of a ClientError), or which
    endpoint could not be reached."""
    gone = unreachable(err)
    if gone is not None:
        return gone
    if isinstance(err, botocore.exceptions.ClientError):
        error = err.response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message") or str(err)
        return f"{code}: {message}" if code else message
    return str(err)


@attrs.define
class AwsContext:
    """A session, its region and account, and clients created once per service."""

    session: boto3.Session
    region: str
    _clients: dict[str, Any] = attrs.field(factory=dict, repr=False)
    _account_id: str | None = attrs.field(default=None, repr=False)

    def client(self, service: str) -> Any:
        """The client for ``service``, created on first use with the retry policy."""
        if service not in self._clients:
            config = botocore.config.Config(
                retries={"mode": "standard", "total_max_attempts": _total_attempts()},
                user_agent_extra="fw-deployer",
            )
            self._clients[service] = self.session.client(
                service, region_name=self.region, config=config
            )
        return self._clients[service]

    @property
    def account_id(self) -> str:
        """The caller's account (STS), which every deterministic ARN needs."""
        if self._account_id is None:
            try:
                identity = self.client("sts").get_caller_identity()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
                hint = "" if unreachable(err) else "; check your credentials and region"
                raise DeployError(
                    f"identifying the AWS account failed (sts GetCallerIdentity):"
                    f" {error_message(err)}{hint}"
                ) from err
            self._account_id = identity["Account"]
        return self._account_id

    @property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)


def create_context(
    *,
    profile: str | None = None,
    region: str | None = None,
    session: boto3.Session | None = None,
    on_call: Callable[..., Any] | None = None,
) -> AwsContext:
    """An :class:`AwsContext` for ``profile``/``region`` (or an existing ``session``).

    ``on_call`` is registered as a botocore ``before-call`` hook on the session, so callers (the
    tests, the benchmark) can count or fail calls exactly where boto3 would send them.
    """
    if session is None:
        region = region or os.environ.get("AWS_REGION") or None
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
        except botocore.exceptions.ProfileNotFound as err:
            raise DeployError(
                f"AWS profile {profile!r} not found; check --profile, AWS_PROFILE and ~/.aws/config"
            ) from err
    resolved = region or session.region_name
    if not resolved:
        raise DeployError(
            "no AWS region configured; pass --region, set AWS_REGION or set a region in your profile"
        )
    try:
        session.get_partition_for_region(resolved)
    except botocore.exceptions.UnknownRegionError as err:
        raise DeployError(f"unknown AWS region {resolved!r}; check --region or AWS_REGION") from err
    if on_call is not None:
        session.events.register("before-call", on_call)
    return AwsContext(session=session, region=resolved)
