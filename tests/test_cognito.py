"""microframework.cognito: Cognito user-pool authorizers under the gateway and the test client."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from test_gateway import UNAUTHORIZED, assert_gateway_error, auth_app, send
from test_local_server import request, start_fw, stop, wait_for_port

from microframework import App, CognitoUserPoolAuthorizer, CustomAuthorizer, IAMAuthorizer
from microframework.cognito import decode_payload, render_claims
from microframework.testing import Client

POOL_ARN = "arn:aws:cognito-idp:us-west-2:123456789012:userpool/us-west-2_2NZtqUo91"
ISSUER = "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_2NZtqUo91"
EXPIRED = (401, "UnauthorizedException", b'{"message":"The incoming token has expired"}')


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token(claims: dict[str, Any], signature: str = "c2lnbmF0dXJl") -> str:
    """A JWT as a user pool shapes it; the signature is never checked locally."""
    header = b64url(json.dumps({"kid": "k1", "alg": "RS256"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def id_claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "58e11340-10d1-701e-4cdc-41e9b488367d",
        "cognito:groups": ["admin", "staff"],
        "email_verified": True,
        "iss": ISSUER,
        "cognito:username": "alice",
        "aud": "s148ajh0lhaib4qp3lpfcja5v",
        "token_use": "id",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
    }
    claims.update(extra)
    return claims


def cognito_app(header: str = "Authorization") -> App:
    app = App("demo")
    pool = CognitoUserPoolAuthorizer("pool", provider_arns=[POOL_ARN], header=header)

    @app.route("/me", authorizer=pool)
    def me() -> Any:
        return app.current_request.context["authorizer"]

    @app.route("/admin", authorizer=pool.with_scopes(["api/admin", "api/root"]))
    def admin() -> Any:
        return app.current_request.context["authorizer"]

    @app.route("/open")
    def open_() -> Any:
        return {"authorizer": app.current_request.context.get("authorizer")}

    @app.route("/iam", authorizer=IAMAuthorizer())
    def iam() -> Any:
        return {"authorizer": app.current_request.context.get("authorizer")}

    @app.route("/custom", authorizer=CustomAuthorizer("ext", "arn:aws:apigateway:uri"))
    def custom() -> Any:
        return {"authorizer": app.current_request.context.get("authorizer")}

    return app


# The payload of a token from a deployed REST API's CloudWatch log (2026-07-02, us-west-2), and
# the claims that API put in requestContext.authorizer for it, in its order.
CAPTURED_PAYLOAD = (
    "eyJzdWIiOiI1OGUxMTM0MC0xMGQxLTcwMWUtNGNkYy00MWU5YjQ4ODM2N2QiLCJjb2duaXRvOmdyb3VwcyI6WyJhZG1p"
    "biJdLCJpc3MiOiJodHRwczovL2NvZ25pdG8taWRwLnVzLXdlc3QtMi5hbWF6b25hd3MuY29tL3VzLXdlc3QtMl8yTlp0"
    "cVVvOTEiLCJ2ZXJzaW9uIjoyLCJjbGllbnRfaWQiOiJzMTQ4YWpoMGxoYWliNHFwM2xwZmNqYTV2Iiwib3JpZ2luX2p0"
    "aSI6ImM3MTEzMjQxLTI0ZTgtNGZlZS1hN2IxLWFhZjJlYjkxYTM1NSIsImV2ZW50X2lkIjoiYTM2OTgyODYtNzc2YS00"
    "MWZiLTljZGMtODM1MGM1ZTAxMTBhIiwidG9rZW5fdXNlIjoiYWNjZXNzIiwic2NvcGUiOiJyYmFjLWFwaS9hZG1pbiBv"
    "cGVuaWQgcmJhYy1hcGkvdXNlciIsImF1dGhfdGltZSI6MTc4Mjk5MjM4OSwiZXhwIjoxNzgyOTk1OTg5LCJpYXQiOjE3"
    "ODI5OTIzODksImp0aSI6ImZkNGUzZTY5LWEyMzEtNDliYS04YWE1LWE1NzU1MDg2Y2RhMiIsInVzZXJuYW1lIjoiYWRt"
    "aW4udGVzdCJ9"
)
CAPTURED_CLAIMS = {
    "sub": "58e11340-10d1-701e-4cdc-41e9b488367d",
    "cognito:groups": "admin",
    "iss": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_2NZtqUo91",
    "version": "2",
    "client_id": "s148ajh0lhaib4qp3lpfcja5v",
    "origin_jti": "c7113241-24e8-4fee-a7b1-aaf2eb91a355",
    "event_id": "a3698286-776a-41fb-9cdc-8350c5e0110a",
    "token_use": "access",
    "scope": "rbac-api/admin openid rbac-api/user",
    "auth_time": "1782992389",
    "exp": "Thu Jul 02 12:39:49 UTC 2026",
    "iat": "Thu Jul 02 11:39:49 UTC 2026",
    "jti": "fd4e3e69-a231-49ba-8aa5-a5755086cda2",
    "username": "admin.test",
}


def test_claims_are_rendered_as_the_deployed_api_rendered_a_captured_token() -> None:
    payload = decode_payload(f"eyJhbGciOiJSUzI1NiJ9.{CAPTURED_PAYLOAD}.c2ln")
    rendered = render_claims(payload)
    assert rendered == CAPTURED_CLAIMS
    assert list(rendered) == list(CAPTURED_CLAIMS)  # the token's order


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["admin", "staging-manager"], "admin,staging-manager"),
        ([], ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1.5, "1.5"),
        ({"city": "Seattle"}, '{"city":"Seattle"}'),
        (None, "null"),
    ],
    ids=["groups", "empty-list", "true", "false", "int", "float", "object", "null"],
)
def test_claim_values_are_strings(value: Any, expected: str) -> None:
    assert render_claims({"c": value}) == {"c": expected}


def test_claims_reach_the_view_through_the_gateway() -> None:
    claims = id_claims(**{"custom:tier": "gold"})
    response = send(cognito_app(), "GET", "/me", {"Authorization": token(claims)})
    assert response.status == 200
    body = json.loads(response.body)
    assert list(body) == ["claims"]  # no principalId beside them on a deployed API
    got = body["claims"]
    assert got["cognito:username"] == "alice"
    assert got["cognito:groups"] == "admin,staff"
    assert got["email_verified"] == "true"
    assert got["custom:tier"] == "gold"
    assert got["auth_time"] == str(claims["auth_time"])
    assert got["exp"].endswith(f" UTC {time.gmtime(claims['exp']).tm_year}")
    assert all(isinstance(value, str) for value in got.values())


def test_bearer_prefix_and_a_custom_header() -> None:
    app = cognito_app(header="X-Id-Token")
    bearer = send(app, "GET", "/me", {"x-id-token": f"Bearer {token(id_claims())}"})
    assert bearer.status == 200
    # The authorizer reads its own header, not Authorization.
    other = send(app, "GET", "/me", {"Authorization": token(id_claims())})
    assert_gateway_error(other, *UNAUTHORIZED)


NOW = int(time.time())


@pytest.mark.parametrize(
    "header_value",
    [
        None,
        "",
        "garbage",
        "Bearer ",
        "a.b",
        "a.b.c.d",
        token(id_claims(), signature=""),  # unsigned
        "eyJhbGciOiJSUzI1NiJ9.!!!.c2ln",  # not base64url
        f"eyJhbGciOiJSUzI1NiJ9.{b64url(b'not json')}.c2ln",
        f"eyJhbGciOiJSUzI1NiJ9.{b64url(b'[1, 2]')}.c2ln",  # payload not an object
        f"{b64url(b'xx')}.{b64url(json.dumps(id_claims()).encode())}.c2ln",  # header not JSON
        f"Basic {token(id_claims())}",  # only the Bearer scheme is removed
        token(id_claims(exp="tomorrow")),
        token(id_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")),
        token(id_claims(token_use="access", scope="openid")),  # no scopes: ID token only
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "bearer-alone",
        "two-parts",
        "four-parts",
        "unsigned",
        "bad-base64",
        "payload-not-json",
        "payload-array",
        "header-not-json",
        "basic-scheme",
        "exp-not-a-number",
        "other-pool",
        "access-token-without-scopes",
    ],
)
def test_refused_tokens_are_401_unauthorized(header_value: str | None) -> None:
    headers = {} if header_value is None else {"Authorization": header_value}
    assert_gateway_error(send(cognito_app(), "GET", "/me", headers), *UNAUTHORIZED)


def test_an_expired_token_gets_api_gateways_expired_message() -> None:
    claims = id_claims(exp=NOW - 1)
    assert_gateway_error(
        send(cognito_app(), "GET", "/me", {"Authorization": token(claims)}), *EXPIRED
    )


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"token_use": "access", "scope": "openid api/root"}, 200),
        ({"token_use": "access", "scope": "openid"}, 401),
        ({"token_use": "access"}, 401),
        ({"token_use": "id", "scope": "api/admin"}, 401),
    ],
    ids=["one-scope-matches", "no-scope-matches", "no-scope-claim", "id-token"],
)
def test_a_route_with_scopes_takes_an_access_token_with_one_of_them(
    claims: dict[str, Any], status: int
) -> None:
    access = {k: v for k, v in id_claims().items() if k not in ("aud", "token_use")}
    access.update(claims)
    response = send(cognito_app(), "GET", "/admin", {"Authorization": token(access)})
    assert response.status == status


def test_hand_made_tokens_need_only_the_claims_they_carry() -> None:
    # No signature can be checked locally, so a test token need not carry exp, iss or token_use.
    response = send(cognito_app(), "GET", "/me", {"Authorization": token({"sub": "u1"})})
    assert (response.status, json.loads(response.body)) == (200, {"claims": {"sub": "u1"}})


def test_an_arn_with_a_stage_variable_accepts_any_issuer() -> None:
    app = App("demo")
    arn = "arn:aws:cognito-idp:us-east-2:111122223333:userpool/${stageVariables.MyUserPool}"

    @app.route("/", authorizer=CognitoUserPoolAuthorizer("pool", provider_arns=[arn]))
    def index() -> Any:
        return {}

    assert send(app, "GET", "/", {"Authorization": token(id_claims())}).status == 200


def test_routes_without_a_cognito_authorizer_are_unaffected() -> None:
    app = cognito_app()
    for path in ("/open", "/iam", "/custom"):
        response = send(app, "GET", path, {"Authorization": "garbage"})
        assert (response.status, json.loads(response.body)) == (200, {"authorizer": None})
    # The built-in authorizer still runs as before.
    assert send(auth_app(), "GET", "/p", {"X-Token": "ok"}).status == 200
    assert_gateway_error(send(auth_app(), "GET", "/p"), *UNAUTHORIZED)


def test_the_test_client_passes_claims_and_refuses_bad_tokens() -> None:
    with Client(cognito_app()) as client:
        ok = client.http.get("/me", headers={"Authorization": token(id_claims())})
        missing = client.http.get("/me")
        garbage = client.http.get("/me", headers={"Authorization": "garbage"})
        expired = client.http.get("/me", headers={"Authorization": token(id_claims(exp=NOW - 60))})
        open_ = client.http.get("/open")
    assert ok.status_code == 200
    assert ok.json_body["claims"]["cognito:username"] == "alice"
    assert (missing.status_code, missing.json_body) == (401, {"message": "Unauthorized"})
    assert missing.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert (garbage.status_code, garbage.json_body) == (401, {"message": "Unauthorized"})
    assert (expired.status_code, expired.json_body) == (
        401,
        {"message": "The incoming token has expired"},
    )
    assert open_.status_code == 200


SERVED_APP = f"""
from microframework import App, CognitoUserPoolAuthorizer

app = App("served")
pool = CognitoUserPoolAuthorizer("pool", provider_arns=[{POOL_ARN!r}])


@app.route("/me", authorizer=pool)
def me():
    return app.current_request.context["authorizer"]


@app.route("/open")
def open_():
    return {{"open": True}}
"""


def test_fw_local_over_a_socket(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(SERVED_APP)
    (tmp_path / ".fw").mkdir()
    config = {"version": "1.0", "app_name": "served", "stages": {"dev": {}}}
    (tmp_path / ".fw" / "config.json").write_text(json.dumps(config))
    port = free_port()
    proc = start_fw(tmp_path, port)
    try:
        wait_for_port(port, proc)
        status, _, body = request(
            port, "GET", "/me", headers={"Authorization": f"Bearer {token(id_claims())}"}
        )
        assert status == 200
        assert json.loads(body)["claims"]["cognito:groups"] == "admin,staff"
        refusals = [
            ({}, "Unauthorized"),
            ({"Authorization": "garbage"}, "Unauthorized"),
            ({"Authorization": token(id_claims(exp=NOW - 1))}, "The incoming token has expired"),
        ]
        for headers, message in refusals:
            status, response_headers, body = request(port, "GET", "/me", headers=headers)
            assert (status, json.loads(body)) == (401, {"message": message})
            assert response_headers["x-amzn-ErrorType"] == "UnauthorizedException"
        assert request(port, "GET", "/open")[0] == 200
    finally:
        stop(proc)


def test_differs_from_chalices_local_mode_on_purpose() -> None:
    """Chalice's test client hands over the JSON-typed claims plus a principalId and admits a
    request without a token; the deployed API (and fw) send strings only and answer 401."""
    from chalice import Chalice
    from chalice import CognitoUserPoolAuthorizer as ChaliceCognito
    from chalice.test import Client as ChaliceClient

    chalice_app = Chalice("demo")
    pool = ChaliceCognito("pool", provider_arns=[POOL_ARN])

    @chalice_app.route("/me", authorizer=pool)
    def me() -> Any:
        return chalice_app.current_request.context.get("authorizer")

    claims = id_claims()
    with pytest.warns(UserWarning), ChaliceClient(chalice_app) as chalice:
        typed = chalice.http.get("/me", headers={"authorization": token(claims)}).json_body
        no_token = chalice.http.get("/me")
    assert typed["claims"]["email_verified"] is True
    assert typed["principalId"] == "alice"
    assert no_token.status_code == 200

    with Client(cognito_app()) as client:
        fw = client.http.get("/me", headers={"authorization": token(claims)}).json_body
        assert client.http.get("/me").status_code == 401
    assert fw == {"claims": render_claims(claims)}
    assert fw["claims"]["email_verified"] == "true"
