"""microframework.authorizers: policy documents, declared authorizers, built-in Lambda authorizers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework import (
    App,
    AuthResponse,
    AuthRoute,
    CognitoUserPoolAuthorizer,
    CustomAuthorizer,
    IAMAuthorizer,
)
from microframework.authorizers import AuthRequest

METHOD_ARN = "arn:aws:execute-api:us-west-2:123456789012:abcdef/dev/GET/needs/auth"
BASE = "arn:aws:execute-api:us-west-2:123456789012:abcdef/dev"


def resources(routes: list[Any]) -> list[str]:
    policy = AuthResponse(routes, principal_id="user").to_dict(
        AuthRequest("TOKEN", "t", METHOD_ARN)
    )
    return policy["policyDocument"]["Statement"][0]["Resource"]


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        (["/a"], [f"{BASE}/*/a"]),
        (["/a/b", "/c"], [f"{BASE}/*/a/b", f"{BASE}/*/c"]),
        (["*"], [f"{BASE}/*/*"]),
        (["/"], [f"{BASE}/*/"]),
        ([AuthRoute("/a", ["GET", "PUT"])], [f"{BASE}/GET/a", f"{BASE}/PUT/a"]),
        ([AuthRoute("/a/{id}", ["GET"])], [f"{BASE}/GET/a/{{id}}"]),
    ],
    ids=["path", "paths", "star", "root", "auth-route", "template"],
)
def test_auth_response_resources(routes: list[Any], expected: list[str]) -> None:
    assert resources(routes) == expected


def test_auth_response_policy_document() -> None:
    response = AuthResponse(["/a"], principal_id="user-1", context={"tier": "gold"})
    assert response.to_dict(AuthRequest("TOKEN", "t", METHOD_ARN)) == {
        "context": {"tier": "gold"},
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{BASE}/*/a"]}
            ],
        },
    }


@given(
    st.lists(
        st.text(alphabet="abc{}/-_", max_size=12).map(lambda s: "/" + s), min_size=1, max_size=4
    ),
    st.sampled_from(["aws", "aws-cn", "aws-us-gov"]),
)
def test_resources_keep_partition_region_account_api_and_stage(
    paths: list[str], partition: str
) -> None:
    arn = f"arn:{partition}:execute-api:eu-west-1:999:api1/prod/POST/x/y"
    request = AuthRequest("TOKEN", "t", arn)
    got = AuthResponse(paths, "p").to_dict(request)["policyDocument"]["Statement"][0]["Resource"]
    assert got == [f"arn:{partition}:execute-api:eu-west-1:999:api1/prod/*{p}" for p in paths]


def test_builtin_authorizer_is_a_lambda_handler() -> None:
    app = App("demo")
    seen = []

    @app.authorizer(ttl_seconds=60, header="X-Token")
    def auth(request: AuthRequest) -> AuthResponse:
        seen.append((request.auth_type, request.token, request.method_arn))
        return AuthResponse(["/a"], principal_id="u")

    result = auth({"type": "TOKEN", "authorizationToken": "secret", "methodArn": METHOD_ARN}, None)
    assert result["principalId"] == "u"
    assert result["policyDocument"]["Statement"][0]["Resource"] == [f"{BASE}/*/a"]
    assert seen == [("TOKEN", "secret", METHOD_ARN)]
    config = app.builtin_auth_handlers[0]
    assert (config.name, config.handler_string, config.ttl_seconds, config.header) == (
        "auth", "app.auth", 60, "X-Token"
    )  # fmt: skip


def test_builtin_authorizer_passes_a_raw_dict_through() -> None:
    app = App("demo")
    policy = {"principalId": "x", "policyDocument": {"Statement": []}}

    @app.authorizer(name="raw")
    def auth(request: AuthRequest) -> dict[str, Any]:
        return policy

    assert auth({"authorizationToken": "t", "methodArn": METHOD_ARN}, None) is policy
    assert app.handlers["raw"] is auth


def test_route_records_its_authorizer() -> None:
    app = App("demo")
    iam = IAMAuthorizer()

    @app.route("/", authorizer=iam)
    def index() -> None: ...

    assert app.routes["/"]["GET"].authorizer is iam
    assert iam.name == "sigv4"


def test_with_scopes_copies_the_authorizer() -> None:
    cognito = CognitoUserPoolAuthorizer("pool", provider_arns=["arn:aws:cognito-idp:x"])
    scoped = cognito.with_scopes(["read"])
    assert (scoped.scopes, cognito.scopes) == (["read"], [])
    assert scoped.provider_arns == cognito.provider_arns
    assert scoped.name == "pool"


def test_cognito_provider_arns_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="got the string 'arn:aws:cognito-idp:x'"):
        CognitoUserPoolAuthorizer("pool", provider_arns="arn:aws:cognito-idp:x")  # type: ignore[arg-type]


def test_custom_authorizer_defaults() -> None:
    custom = CustomAuthorizer("ext", authorizer_uri="arn:aws:apigateway:...")
    assert (custom.ttl_seconds, custom.header, custom.invoke_role_arn, custom.scopes) == (
        300, "Authorization", None, []
    )  # fmt: skip
