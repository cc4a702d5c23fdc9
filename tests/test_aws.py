"""The boto3 context every deploy command uses: region, profile and endpoint from the environment."""

from __future__ import annotations

from pathlib import Path

import botocore.exceptions
import pytest

from deployer.deploy.aws import create_context, error_message, unreachable


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
