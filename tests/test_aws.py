"""The boto3 context every deploy command uses: region, profile and endpoint from the environment."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest
from _proxy import Answer, Decision, Forward, Stall, proxy

from deployer.deploy.aws import (
    AwsContext,
    CreateMayHaveSucceeded,
    RateLimiter,
    create_context,
    error_message,
    may_have_reached_aws,
    unreachable,
)


@pytest.mark.parametrize(
    ("env", "flag", "expected"),
    [
        pytest.param({"AWS_REGION": "eu-west-1"}, None, "eu-west-1", id="AWS_REGION-alone"),
        pytest.param({"AWS_DEFAULT_REGION": "eu-west-2"}, None, "eu-west-2", id="DEFAULT-alone"),
        pytest.param(
            {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"},
            None,
            "eu-west-1",
            id="AWS_REGION-wins-as-in-the-aws-cli",
        ),
        pytest.param({"AWS_REGION": "eu-west-1"}, "ap-south-1", "ap-south-1", id="flag-wins"),
    ],
)
def test_region_comes_from_the_flag_then_aws_region_then_boto3(
    aws: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flag: str | None, expected: str
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    context = create_context(region=flag)
    assert context.region == expected
    assert context.client("lambda").meta.region_name == expected
    assert context.account_id == "123456789012"  # AWS_ENDPOINT_URL (moto) is honoured


def test_profile_gives_its_region_and_credentials(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile team]\nregion = eu-central-1\n"
        "aws_access_key_id = team-key\naws_secret_access_key = team-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    context = create_context(profile="team")
    assert context.region == "eu-central-1"
    assert context.session.get_credentials().access_key == "team-key"
    assert context.account_id == "123456789012"


_REFUSED = "AWSHTTPConnection(host='h', port=1): Failed to establish a new connection: [Errno 111] Connection refused"
_NO_NAME = "AWSHTTPConnection(host='h', port=1): Failed to resolve 'h' ([Errno -2] Name or service not known)"


@pytest.mark.parametrize(
    ("err", "text"),
    [
        pytest.param(
            botocore.exceptions.EndpointConnectionError(
                endpoint_url="http://127.0.0.1:1/2015-03-31/functions", error=_REFUSED
            ),
            "the AWS endpoint http://127.0.0.1:1 is unreachable (Connection refused)",
            id="refused",
        ),
        pytest.param(
            botocore.exceptions.EndpointConnectionError(
                endpoint_url="https://lambda.xx.amazonaws.com/", error=_NO_NAME
            ),
            "the AWS endpoint https://lambda.xx.amazonaws.com is unreachable"
            " (Name or service not known)",
            id="dns",
        ),
        pytest.param(
            botocore.exceptions.ConnectTimeoutError(endpoint_url="https://sts.amazonaws.com/"),
            "the AWS endpoint https://sts.amazonaws.com is unreachable (connection timed out)",
            id="timeout",
        ),
        pytest.param(
            botocore.exceptions.ProxyConnectionError(proxy_url="http://proxy:3128", error=""),
            "the proxy http://proxy:3128 is unreachable (no connection); check"
            " HTTPS_PROXY/HTTP_PROXY",
            id="proxy",
        ),
    ],
)
def test_an_unreachable_endpoint_is_named_with_the_os_reason(
    monkeypatch: pytest.MonkeyPatch, err: Exception, text: str
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    message = unreachable(err)
    assert message is not None and message.startswith(text)
    assert error_message(err) == message
    if "proxy" not in text:
        assert message.endswith("; check your network connection and --region")


def test_an_endpoint_that_answered_is_not_unreachable() -> None:
    err = botocore.exceptions.ReadTimeoutError(endpoint_url="https://sts.amazonaws.com/")
    assert unreachable(err) is None


# --- AWS's control-plane quotas -------------------------------------------------------------


class FakeClock:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def _limiter() -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(clock=clock, sleep=clock.sleep), clock


@pytest.mark.parametrize(
    ("service", "operation", "second_waits"),
    [
        ("apigateway", "CreateDeployment", 5.0),
        ("apigateway", "DeleteRestApi", 30.0),
        ("apigateway", "CreateRestApi", 3.0),
        ("apigateway", "CreateRestApi:EDGE", 30.0),
        ("apigateway", "PutRestApi", 1.0),
    ],
    ids=["deployment", "delete-api", "create-regional", "create-edge", "put-api"],
)
def test_one_call_per_interval_where_api_gateway_says_so(
    service: str, operation: str, second_waits: float
) -> None:
    limiter, _ = _limiter()
    assert limiter.reserve(service, operation) == 0  # a deploy's first call is never held
    assert limiter.reserve(service, operation) == pytest.approx(second_waits)


def test_calls_waiting_their_turn_queue_one_interval_apart() -> None:
    limiter, _ = _limiter()
    waits = [limiter.reserve("apigateway", "CreateDeployment") for _ in range(3)]
    assert waits == pytest.approx([0, 5, 10])


def test_api_gateway_allows_a_burst_of_40_then_10_per_second() -> None:
    limiter, clock = _limiter()
    assert [limiter.reserve("apigateway", "GetRestApis") for _ in range(40)] == [0] * 40
    assert limiter.reserve("apigateway", "GetRestApis") == pytest.approx(0.1)
    clock.now = 10.0  # the bucket refills
    assert limiter.reserve("apigateway", "GetRestApis") == 0


def test_lambda_control_plane_is_15_per_second_but_not_get_function() -> None:
    limiter, _ = _limiter()
    assert [limiter.reserve("lambda", "UpdateFunctionCode") for _ in range(15)] == [0] * 15
    assert limiter.reserve("lambda", "GetFunction") == 0  # its own, larger quota
    assert limiter.reserve("lambda", "UpdateFunctionCode") == pytest.approx(1 / 15)


def test_services_without_a_quota_here_are_not_held() -> None:
    limiter, _ = _limiter()
    assert [limiter.reserve("iam", "CreateRole") for _ in range(100)] == [0] * 100


def test_the_limiter_holds_calls_made_through_the_context(aws: str) -> None:
    limiter, clock = _limiter()
    context = AwsContext(session=boto3.Session(region_name="us-east-1"), region="us-east-1")
    context.limiter = limiter
    client = context.client("apigateway")
    client.create_rest_api(name="a", endpointConfiguration={"types": ["REGIONAL"]})
    client.create_rest_api(name="b", endpointConfiguration={"types": ["REGIONAL"]})
    client.create_rest_api(name="c")  # edge-optimized, counted apart
    assert clock.slept == [3.0]


# --- creates AWS would carry out twice ------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reached"),
    [
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), True),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"), True),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), False),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="http://x"), False),
        (None, False),
    ],
    ids=["read-timeout", "dropped", "refused", "connect-timeout", "answered"],
)
def test_which_failures_may_have_reached_aws(error: Exception | None, reached: bool) -> None:
    assert may_have_reached_aws(error) is reached


def _first(method: str, path: str, decision: Decision) -> Callable[[str, str], Decision]:
    """A proxy rule: ``decision`` for the first ``method path`` request, then forward."""
    done = threading.Event()

    def decide(seen_method: str, seen_path: str) -> Decision:
        if seen_method == method and seen_path.split("?")[0] == path and not done.is_set():
            done.set()
            return decision
        return Forward()

    return decide


def _apis(moto: str) -> list[str]:
    client = boto3.client("apigateway", endpoint_url=moto, region_name="us-east-1")
    return sorted(api["name"] for api in client.get_rest_apis()["items"])


def _context(read_timeout: float = 0.5) -> AwsContext:
    return AwsContext(
        session=boto3.Session(region_name="us-east-1"),
        region="us-east-1",
        read_timeout=read_timeout,
    )


def test_a_create_whose_answer_is_lost_is_not_sent_twice(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with proxy(aws, _first("POST", "/restapis", Stall(2))) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        with pytest.raises(CreateMayHaveSucceeded) as raised:
            _context().client("apigateway").create_rest_api(name="app-dev")
    assert _apis(aws) == ["app-dev"]
    assert "CreateRestApi request was sent" in str(raised.value)
    assert "run the same command again" in str(raised.value)


def test_a_deploy_whose_create_answer_is_lost_ends_in_one_line_and_the_next_adopts(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.deploy.run import deploy
    from deployer.errors import DeployError

    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text(json.dumps({"version": "1.0", "app_name": "app"}))
    (tmp_path / "app.py").write_text(
        "from microframework import App\n\napp = App('app')\n\n\n"
        "@app.route('/')\ndef index():\n    return {}\n"
    )
    lines: list[str] = []
    with proxy(aws, _first("POST", "/restapis", Stall(2))) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        with pytest.raises(DeployError) as raised:
            deploy(tmp_path, "dev", aws=_context(), report=lines.append, sleep=lambda s: None)
    message = str(raised.value)
    assert "\n" not in message and not any(line.startswith("Interrupted") for line in lines)
    assert message.startswith("creating REST API app-dev failed: the connection to ")
    assert "CreateRestApi request was sent" in message and "run the same command again" in message

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws)
    deploy(tmp_path, "dev", sleep=lambda s: None)  # adopts the API the lost answer made
    assert _apis(aws) == ["app-dev"]


def test_without_fw_a_lost_answer_makes_two_apis(aws: str) -> None:
    """Why fw refuses the retry: botocore alone sends the create again, and both succeed."""
    with proxy(aws, _first("POST", "/restapis", Stall(2))) as server:
        config = botocore.config.Config(read_timeout=0.5, retries={"mode": "standard"})
        client = boto3.client(
            "apigateway", endpoint_url=server.url, region_name="us-east-1", config=config
        )
        client.create_rest_api(name="app-dev")
    assert _apis(aws) == ["app-dev", "app-dev"]


def test_a_throttled_create_is_still_retried(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    throttled = Answer(
        429,
        json.dumps({"message": "Too Many Requests"}).encode(),
        (("x-amzn-ErrorType", "TooManyRequestsException"),),
    )
    with proxy(aws, _first("POST", "/restapis", throttled)) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        _context().client("apigateway").create_rest_api(name="app-dev")
        assert server.seen.count(("POST", "/restapis")) == 2
    assert _apis(aws) == ["app-dev"]


def test_a_read_whose_answer_is_lost_is_retried(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with proxy(aws, _first("GET", "/restapis", Stall(2))) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        assert _context().client("apigateway").get_rest_apis()["items"] == []


def test_a_wait_of_a_second_or_more_is_said(aws: str) -> None:
    # DeleteRestApi waits 30 s between calls: silent, that looks like a hang.
    limiter, clock = _limiter()
    said: list[str] = []
    limiter.report = said.append
    context = AwsContext(session=boto3.Session(region_name="us-east-1"), region="us-east-1")
    context.limiter = limiter
    client = context.client("apigateway")
    for name in ("a", "b"):
        client.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})
    for _ in range(3):
        client.get_rest_apis()  # within the burst: no wait, nothing said
    assert said == ["Waiting 3 s for AWS's quota on apigateway CreateRestApi calls"]


def test_a_quota_wait_is_printed_under_the_step_that_waits(aws: str, tmp_path: Path) -> None:
    # Steps run on the pool's threads; the limiter's line must join its own step's lines.
    from deployer.deploy.run import deploy

    (tmp_path / ".fw").mkdir()
    (tmp_path / ".fw" / "config.json").write_text('{"version": "1.0", "app_name": "q"}')
    (tmp_path / "app.py").write_text(
        "from microframework import App\n\napp = App('q')\n\n\n"
        "@app.route('/')\ndef index():\n    return {}\n\n\n"
        "@app.schedule('rate(1 hour)')\ndef tick(event):\n    return None\n"
    )
    limiter, _ = _limiter()
    limiter.reserve("apigateway", "CreateRestApi:EDGE")  # an API created just before
    context = AwsContext(session=boto3.Session(region_name="us-east-1"), region="us-east-1")
    context.limiter = limiter
    lines: list[str] = []
    deploy(tmp_path, "dev", aws=context, report=lines.append, sleep=lambda s: None, workers=8)
    wait = lines.index("Waiting 30 s for AWS's quota on apigateway CreateRestApi calls")
    assert lines[wait - 1] == "Creating REST API q-dev"
