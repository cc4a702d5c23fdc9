"""boto3 sessions and clients for the deployer, configured the one way every command needs.

Everything boto3 reads from the environment is left to boto3: credentials, ``AWS_PROFILE``,
``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL`` (boto3 >= 1.28 reads that itself, which is how
the tests reach moto). Added here: a retry policy, ``AWS_REGION``, which the AWS CLI v2, the
other SDKs and Lambda itself honour (ahead of ``AWS_DEFAULT_REGION``) but boto3 ignores, a rate
limiter that keeps one command inside AWS's control-plane quotas (which moto does not enforce),
and no automatic retry of the creates AWS would carry out twice.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import boto3
import botocore.config
import botocore.exceptions

from deployer.errors import DeployError

__all__ = [
    "GONE",
    "MAX_ATTEMPTS",
    "NOT_IDEMPOTENT",
    "AwsContext",
    "CreateMayHaveSucceeded",
    "RateLimiter",
    "create_context",
    "error_code",
    "error_message",
    "ignore_gone",
    "is_write_operation",
    "may_have_reached_aws",
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


# --- staying inside AWS's control-plane quotas -----------------------------------------------

# (rate per second, burst) of a token bucket. "Amazon API Gateway quotas": the fixed quotas for
# creating, deploying and managing an API, per account and Region, and "Total operations" of
# 10 requests per second with a burst of 40. "Lambda quotas": control plane API requests
# (excluding invocation, GetFunction and GetPolicy) 15 requests per second; GetFunction 100.
_SERVICE_RATES: Mapping[str, tuple[float, float]] = {
    "apigateway": (10, 40),
    "apigatewayv2": (10, 40),
    "lambda": (15, 15),
}
_OPERATION_RATES: Mapping[tuple[str, str], tuple[float, float]] = {
    ("apigateway", "CreateRestApi"): (1 / 3, 1),  # regional or private API
    ("apigateway", "CreateRestApi:EDGE"): (1 / 30, 1),  # edge-optimized API
    ("apigateway", "ImportRestApi"): (1 / 3, 1),
    ("apigateway", "ImportRestApi:EDGE"): (1 / 30, 1),
    ("apigateway", "CreateDeployment"): (1 / 5, 1),
    ("apigateway", "DeleteRestApi"): (1 / 30, 1),
    ("apigateway", "PutRestApi"): (1, 1),
    ("apigateway", "GetResources"): (5 / 2, 5),
    ("apigateway", "CreateResource"): (5, 5),
    ("apigateway", "DeleteResource"): (5, 5),
    ("lambda", "GetFunction"): (100, 100),
}
# Calls outside the control plane's 15 requests per second ("Lambda quotas").
_LAMBDA_OWN_QUOTA = frozenset({"GetFunction", "GetPolicy", "Invoke", "InvokeAsync"})


class _Bucket:
    """A token bucket that hands out reservations: a caller learns when its turn is, so
    concurrent callers queue in order instead of all waking at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.at = float("-inf")  # when ``tokens`` was counted

    def earliest(self, when: float) -> float:
        """The first moment at or after ``when`` with a token to spare."""
        when = max(when, self.at)
        tokens = self._tokens(when)
        return when if tokens >= 1 else when + (1 - tokens) / self.rate

    def take(self, when: float) -> None:
        self.tokens = self._tokens(when) - 1
        self.at = when

    def _tokens(self, when: float) -> float:
        if self.at == float("-inf"):
            return self.burst
        return min(self.burst, self.tokens + (when - self.at) * self.rate)


@attrs.define
class RateLimiter:
    """Spaces one command's calls to stay inside AWS's quotas; a botocore hook on
    ``before-parameter-build`` (the last event before sending that still sees the call's own
    parameters, which tell an edge-optimized API from a regional one).

    Per command (per :class:`AwsContext`), not per account: fw cannot see other callers, and
    throttling errors that still happen are retried by botocore's standard mode. The first call
    of every kind goes at once, so a single deploy is slowed only where it would be throttled.
    """

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # Told about a wait of a second or more, so a long pause (DeleteRestApi: one per 30 s)
    # shows on the terminal instead of looking like a hang.
    report: Callable[[str], None] | None = None
    _buckets: dict[str, _Bucket] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def before_call(self, model: Any, params: Any = None, **kwargs: Any) -> None:
        """Wait for this call's turn."""
        service = model.service_model.service_name
        wait = self.reserve(service, _quota_name(model.name, params))
        if wait >= 1 and self.report is not None:
            self.report(f"Waiting {wait:.0f} s for AWS's quota on {service} {model.name} calls")
        if wait > 0:
            self.sleep(wait)

    def reserve(self, service: str, operation: str) -> float:
        """Claim a slot for one call; return how long to wait before making it."""
        keys = []
        if (service, operation) in _OPERATION_RATES:
            keys.append(f"{service}:{operation}")
        if service in _SERVICE_RATES and not (
            service == "lambda" and operation in _LAMBDA_OWN_QUOTA
        ):
            keys.append(service)
        if not keys:
            return 0.0
        with self._lock:
            buckets = [self._bucket(key) for key in keys]
            now = self.clock()
            when = now
            while True:
                later = max(bucket.earliest(when) for bucket in buckets)
                if later <= when:
                    break
                when = later
            for bucket in buckets:
                bucket.take(when)
            return when - now

    def _bucket(self, key: str) -> _Bucket:
        if key not in self._buckets:
            service, _, operation = key.partition(":")
            rate, burst = (
                _OPERATION_RATES[(service, operation)] if operation else _SERVICE_RATES[service]
            )
            self._buckets[key] = _Bucket(rate, burst)
        return self._buckets[key]


def _quota_name(operation: str, params: Any) -> str:
    """CreateRestApi and ImportRestApi have a stricter quota for edge-optimized APIs (the
    default endpoint type when none is given)."""
    if operation in ("CreateRestApi", "ImportRestApi") and isinstance(params, Mapping):
        types = (params.get("endpointConfiguration") or {}).get("types") or ["EDGE"]
        if "EDGE" in types:
            return f"{operation}:EDGE"
    return operation


# --- creates that must not be sent twice -----------------------------------------------------

# Creates that AWS carries out again when the same request arrives twice, so that botocore's
# retry after a lost answer would leave two. CreateRestApi and apigatewayv2 CreateApi: an API's
# name is not unique (two calls, two APIs); PublishLayerVersion: "Each time you call
# PublishLayerVersion with the same layer name, a new version is created" (Lambda API
# reference). Not listed, because a repeat fails or returns the first: CreateFunction,
# CreateRole, CreateLogGroup, AddPermission (by name or statement id), Subscribe (SNS returns
# the existing subscription), PutRule/PutTargets and PutBucketNotificationConfiguration
# (overwrite), CreateEventSourceMapping (ResourceConflictException: a mapping with this source
# and function already exists), PublishVersion (Lambda "doesn't publish a version if the
# function's configuration and code haven't changed"). CreateDeployment repeats harmlessly.
NOT_IDEMPOTENT: frozenset[tuple[str, str]] = frozenset({
    ("apigateway", "CreateRestApi"),
    ("apigateway", "ImportRestApi"),
    ("apigatewayv2", "CreateApi"),
    ("apigatewayv2", "ImportApi"),
    ("lambda", "PublishLayerVersion"),
})  # fmt: skip


class CreateMayHaveSucceeded(botocore.exceptions.BotoCoreError):
    """A create AWS may have carried out, whose answer was lost: not retried automatically."""

    fmt = (
        "the connection to {endpoint_url} failed after the {operation} request was sent"
        " ({error}), so AWS may have carried it out; fw does not repeat a request that would"
        " make a second one: run the same command again to pick up what it made"
    )


def may_have_reached_aws(error: BaseException | None) -> bool:
    """True when a failed request may still have been carried out: the answer was lost (a read
    timeout, a dropped connection), not the request (refused, unresolvable, connect timeout)."""
    return isinstance(error, botocore.exceptions.HTTPClientError) and not isinstance(
        error, botocore.exceptions.ConnectionError
    )


def _no_second_create(
    caught_exception: BaseException | None = None, operation: Any = None, **kwargs: Any
) -> None:
    """A ``needs-retry`` hook, run before botocore's own: a create AWS does not deduplicate is
    not retried once its request may have arrived. Throttling (an answer: nothing was done)
    and connection errors before sending are left to botocore's retry."""
    if operation is None or not may_have_reached_aws(caught_exception):
        return
    if (operation.service_model.service_name, operation.name) not in NOT_IDEMPOTENT:
        return
    endpoint = getattr(caught_exception, "kwargs", {}).get("endpoint_url", "AWS")
    raise CreateMayHaveSucceeded(
        endpoint_url=endpoint, operation=operation.name, error=caught_exception
    ) from caught_exception


@attrs.define
class AwsContext:
    """A session, its region and account, and clients created once per service."""

    session: boto3.Session
    region: str
    limiter: RateLimiter = attrs.field(factory=RateLimiter, repr=False)
    # botocore's default; the tests shorten it to see a lost answer quickly.
    read_timeout: float = attrs.field(default=60, repr=False)
    _clients: dict[str, Any] = attrs.field(factory=dict, repr=False)
    _account_id: str | None = attrs.field(default=None, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def client(self, service: str) -> Any:
        """The client for ``service``, created on first use with the retry policy and limits."""
        with self._lock:  # steps running in parallel share one client per service
            if service not in self._clients:
                config = botocore.config.Config(
                    retries={"mode": "standard", "total_max_attempts": _total_attempts()},
                    user_agent_extra="fw-deployer",
                    read_timeout=self.read_timeout,
                )
                client = self.session.client(service, region_name=self.region, config=config)
                client.meta.events.register("before-parameter-build", self.limiter.before_call)
                client.meta.events.register_first("needs-retry", _no_second_create)
                self._clients[service] = client
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
    report: Callable[[str], None] | None = None,
) -> AwsContext:
    """An :class:`AwsContext` for ``profile``/``region`` (or an existing ``session``).

    ``on_call`` is registered as a botocore ``before-call`` hook on the session, so callers (the
    tests, the benchmark) can count or fail calls exactly where boto3 would send them.
    ``report`` hears of every wait of a second or more for AWS's quotas.
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
    return AwsContext(session=session, region=resolved, limiter=RateLimiter(report=report))
