"""The boto3 context every deploy command uses: region, profile and endpoint from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.aws import create_context


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
