"""API Gateway's Cognito user-pool authorizer, as ``fw local`` and the test client run it.

There is no user pool locally, so the token is decoded, never verified: its signature is not
checked against the pool's keys, and a hand-made token with the right claims passes. Everything
API Gateway checks that needs no key is checked, so a real token the deployed API refuses for
one of those reasons is refused here too: the header, the JWT's shape, ``exp``, ``iss`` against
the authorizer's pools, the token type and the route's scopes. A claim a real Cognito token always
has (``exp``, ``iss``, ``token_use``) but a hand-made one leaves out is not required: only the
signature could prove such a token false, and that check cannot be made here.

Sources: "Control access to REST APIs using Amazon Cognito user pools as an authorizer",
"Integrate a REST API with an Amazon Cognito user pool", the knowledge-center article "How do I
troubleshoot 401 Unauthorized errors from an API Gateway REST API endpoint after I've set up an
Amazon Cognito user pool?", the API reference of ``Method.authorizationScopes``, and published
CloudWatch captures of deployed proxy events (cited where each rule is encoded).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .authorizers import CognitoUserPoolAuthorizer

# What the deployed API renders exp and iat as: Java's Date.toString() in UTC, in English
# whatever the locale (captures: "exp": "Thu Jul 02 12:39:49 UTC 2026").
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# RFC 7519's NumericDate claims. exp and iat are seen rendered as dates in captures; nbf (which
# Cognito never issues) is assumed to be rendered like them.
_DATE_CLAIMS = frozenset({"exp", "iat", "nbf"})


class CognitoRefusal(Exception):
    """Why the authorizer refuses a request: ``kind`` names a gateway error in gateway.py."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def authorize(
    authorizer: CognitoUserPoolAuthorizer, header_value: str | None, now: float
) -> dict[str, Any]:
    """The ``requestContext.authorizer`` of the proxy event, or raise :class:`CognitoRefusal`."""
    if not header_value:
        # "Control access to REST APIs using Amazon Cognito user pools as an authorizer": the call
        # succeeds "only if the required token is supplied and the supplied token is valid".
        raise CognitoRefusal("unauthorized", f"no token in the {authorizer.header} header")
    payload = decode_payload(_strip_bearer(header_value))
    _check_expiry(payload, now)
    _check_issuer(payload, authorizer.provider_arns)
    _check_token_use(payload, authorizer.scopes)
    # A deployed REST API puts the claims under "claims" and nothing else beside them (no
    # principalId, unlike a Lambda authorizer's context).
    return {"claims": render_claims(payload)}


def _strip_bearer(value: str) -> str:
    # "Integrate a REST API with an Amazon Cognito user pool" has the client pass the raw ID or
    # access token; AWS's own workshops and Amplify's documentation send "Bearer <token>" and the
    # deployed authorizer accepts both. AWS documents no other scheme, so only this one is removed.
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest
    return value


def decode_payload(token: str) -> dict[str, Any]:
    """The JSON object in a JWT's payload, read without checking the signature."""
    import json

    parts = token.split(".")
    # A JWS in compact serialization: header, payload and signature, base64url without padding.
    # An unsigned token (empty third part) is one no user pool issues.
    if len(parts) != 3 or not all(parts):
        raise CognitoRefusal("unauthorized", "the token is not a signed JWT")
    try:
        header = json.loads(_b64url(parts[0]))
        payload = json.loads(_b64url(parts[1]))
        _b64url(parts[2])
    except ValueError as err:  # bad base64, bad UTF-8, bad JSON
        raise CognitoRefusal("unauthorized", f"the token cannot be decoded ({err})") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise CognitoRefusal("unauthorized", "the token's header or payload is not a JSON object")
    return payload


def _b64url(segment: str) -> bytes:
    import base64
    import binascii

    # urlsafe_b64decode skips characters outside the alphabet; a token must not have any.
    if not segment.isascii() or not segment.replace("-", "").replace("_", "").isalnum():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as err:
        raise ValueError(str(err)) from None


def _check_expiry(payload: dict[str, Any], now: float) -> None:
    if "exp" not in payload:
        return
    exp = payload["exp"]
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise CognitoRefusal("unauthorized", f"the token's exp is not a number: {exp!r}")
    if now >= exp:
        # Knowledge center (401 from a Cognito-authorized REST API): "The security token isn't
        # expired". Deployed APIs answer 401 {"message":"The incoming token has expired"}
        # (published captures); fw checks it because the deployed API would, with no leeway, as
        # AWS documents none.
        raise CognitoRefusal("expired", "the token has expired")


def _check_issuer(payload: dict[str, Any], provider_arns: list[str]) -> None:
    # Knowledge center: "The issuer in the security token matches the Amazon Cognito user pool
    # configured on the API". An ARN fw cannot read (a stage variable in it) could be any pool.
    issuers = [_issuer(arn) for arn in provider_arns]
    if "iss" not in payload or not issuers or None in issuers:
        return
    if payload["iss"] not in issuers:
        raise CognitoRefusal(
            "unauthorized", f"the token's issuer {payload['iss']!r} is none of {issuers}"
        )


def _issuer(arn: str) -> str | None:
    """The ``iss`` of tokens from the pool ``arn`` names (``arn:aws:cognito-idp:REGION:ACCOUNT:
    userpool/POOL_ID``), or None when the ARN is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "cognito-idp" or not parts[5].startswith("userpool/"):
        return None
    partition, region, pool_id = parts[1], parts[3], parts[5][len("userpool/") :]
    if not region or not pool_id or "$" in arn:
        return None
    suffix = ".cn" if partition == "aws-cn" else ""
    return f"https://cognito-idp.{region}.amazonaws.com{suffix}/{pool_id}"


def _check_token_use(payload: dict[str, Any], scopes: list[str]) -> None:
    token_use = payload.get("token_use")
    if not scopes:
        # Knowledge center: "If you didn't configure any scopes on the API Gateway method, then
        # make sure that you use a valid ID token".
        if token_use is not None and token_use != "id":
            raise CognitoRefusal("unauthorized", "the route has no scopes: it takes an ID token")
        return
    # API reference, Method.authorizationScopes: "the client must provide an access token instead
    # of an identity token", and "the method invocation is authorized if any method scopes
    # matches a claimed scope in the access token".
    if token_use is not None and token_use != "access":
        raise CognitoRefusal("unauthorized", "the route has scopes: it takes an access token")
    granted = payload.get("scope")
    granted_scopes = granted.split() if isinstance(granted, str) else []
    if not any(scope in granted_scopes for scope in scopes):
        raise CognitoRefusal(
            "unauthorized", f"the token's scopes {granted_scopes} include none of {scopes}"
        )


def render_claims(payload: dict[str, Any]) -> dict[str, str]:
    """The claims as a deployed REST API hands them to the function: every value a string.

    Published captures of deployed proxy events behind a COGNITO_USER_POOLS authorizer (the
    issue amazon-cognito-identity-js#92, the re:Post question "AWS Cognito Group", a 2026
    CloudWatch log whose token payload tests/test_cognito.py replays) show, in the token's order:
    strings as they are, booleans as "true"/"false", numbers as their digits ("auth_time":
    "1782992389", "version": "2"), exp and iat as Java dates ("Thu Jul 02 12:39:49 UTC 2026"),
    and a list joined with commas ("cognito:groups": "admin" for one group, "admin,staging-manager"
    for two in another capture, as aws/chalice#783 advises splitting it). No capture shows an
    object or a null: fw renders those as JSON text.
    """
    return {name: _render(name, value) for name, value in payload.items()}


def _render(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in _DATE_CLAIMS and isinstance(value, (int, float)):
        return _java_date(value)
    if isinstance(value, (int, float)):
        return str(value)  # the JSON number's own digits (json.loads keeps 1.0 a float)
    if isinstance(value, list):
        return ",".join(_render("", item) for item in value)
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _java_date(seconds: float) -> str:
    import time

    try:
        t = time.gmtime(int(seconds))
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return (
        f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}"
    )
