"""API Gateway + Lambda, emulated in-process: what ``fw local`` and the test client run.

Turns an HTTP request into the REST API (payload 1.0) proxy event API Gateway would send,
runs the authorizer and CORS preflight as API Gateway would, calls the app, and turns the proxy
result back into an HTTP response. No sockets here: the server and the client own those.
"""

from __future__ import annotations

from .cors import route_preflight
from .response import is_binary_media_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .app import App

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "local"

# "Quotas for configuring and running a REST API in API Gateway": "Length, in characters, of the
# URL" 8192 for an edge-optimized API (and a private one), 10240 for a regional one.
URL_LIMITS = {"EDGE": 8192, "PRIVATE": 8192, "REGIONAL": 10240}
# Same page: "Total combined size of request line and header values", 10240 bytes.
MAX_REQUEST_HEAD_BYTES = 10240
# Same page: "Payload size", 10 MB (a published capture of the 413: "HTTP content length exceeded
# 10485760 bytes.").
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# "Lambda quotas": "Invocation payload (request and response)", 6 MB for a synchronous call; it
# counts the whole event API Gateway sends (headers twice, a binary body in base64), not the body.
MAX_EVENT_BYTES = 6 * 1024 * 1024
# "Amazon API Gateway quotas and important notes": with authorization enabled on a method, its
# ARN may be at most 1,600 bytes, else "the API client receives a 414 Request URI too long".
MAX_METHOD_ARN_BYTES = 1600
# The URL quota counts the whole URL; a deployed API's default host (a 10-character API id).
_DEPLOYED_URL_PREFIX = len(f"https://abcdefghij.execute-api.{REGION}.amazonaws.com")

# The errors API Gateway answers by itself, never reaching the function: status,
# x-amzn-ErrorType and body byte for byte, as "Gateway response types for API Gateway" names
# them and published captures of deployed APIs show them (the Content-Length of each capture
# matches these bodies; note the space after the colon in some and not in others).
_GATEWAY_ERRORS: dict[str, tuple[int, str, bytes]] = {
    # MISSING_AUTHENTICATION_TOKEN: no resource, or no such method on it.
    "missing_token": (
        403,
        "MissingAuthenticationTokenException",
        b'{"message":"Missing Authentication Token"}',
    ),
    # INVALID_API_KEY.
    "forbidden": (403, "ForbiddenException", b'{"message":"Forbidden"}'),
    # UNAUTHORIZED: no token, or the authorizer raised Exception("Unauthorized"), or a Cognito
    # token the user-pool authorizer refuses.
    "unauthorized": (401, "UnauthorizedException", b'{"message":"Unauthorized"}'),
    # UNAUTHORIZED too, with its own message: an expired token under a Cognito user-pool
    # authorizer (published captures: 401,{"message":"The incoming token has expired"}).
    "expired": (401, "UnauthorizedException", b'{"message":"The incoming token has expired"}'),
    # ACCESS_DENIED: the authorizer's policy denies, or allows nothing that matches. The deny
    # wording is what deployed APIs send today (older captures stop at "explicit deny").
    "explicit_deny": (
        403,
        "AccessDeniedException",
        b'{"Message":"User is not authorized to access this resource with an explicit deny in an '
        b'identity-based policy"}',
    ),
    "not_allowed": (
        403,
        "AccessDeniedException",
        b'{"Message":"User is not authorized to access this resource"}',
    ),
    # AUTHORIZER_CONFIGURATION_ERROR: the authorizer failed or answered something unusable.
    "authorizer_error": (500, "AuthorizerConfigurationException", b'{"message": null}'),
    # The function failed, or its result is not a proxy response: 502.
    "bad_gateway": (502, "InternalServerErrorException", b'{"message": "Internal server error"}'),
    # API_CONFIGURATION_ERROR: "base64 decoding fails on binary data".
    "bad_base64": (500, "InternalServerErrorException", b'{"message": "Internal server error"}'),
    # The event is over Lambda's 6 MB ("Lambda quotas"): API Gateway answers 413 with this
    # type and body, as a published capture of an edge API shows (content-length 31).
    "event_too_large": (413, "BadRequestException", b'{"message": "Request Too Long"}'),
}


class BadRequest(ValueError):
    """The HTTP request cannot be turned into an event (bad percent-encoding and the like)."""


class GatewayResponse:
    """An HTTP response: status, header pairs (repeats allowed), body bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        return _find(self.headers, name.lower())

    def __repr__(self) -> str:
        return f"<GatewayResponse {self.status}>"


def _ids(request_id: str) -> list[tuple[str, str]]:
    """The request id headers API Gateway adds to every answer."""
    import base64

    # x-amz-apigw-id looks like "LLCm7FonFiAFXFg=": 11 bytes in base64.
    apigw_id = base64.b64encode(bytes.fromhex(request_id.replace("-", ""))[:11]).decode("ascii")
    return [("x-amzn-RequestId", request_id), ("x-amz-apigw-id", apigw_id)]


def _gateway_error(kind: str, request_id: str) -> GatewayResponse:
    status, error_type, body = _GATEWAY_ERRORS[kind]
    headers = [("Content-Type", "application/json"), *_ids(request_id)]
    headers.append(("x-amzn-ErrorType", error_type))
    return GatewayResponse(status, headers, body)


def limit_error(kind: str) -> GatewayResponse:
    """The answer to a request over one of API Gateway's size quotas.

    ``kind`` is "payload" (over 10 MB), "url" (URL too long) or "head" (request line and header
    values too large). AWS documents no status for the last two; fw's choices are listed in the
    README ("Emulation choices").
    """
    if kind == "payload":
        # The published capture of an edge-optimized API: CloudFront's own 413, as plain text.
        body = f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes.".encode("ascii")
        return GatewayResponse(413, [("Content-Type", "text; charset=utf-8")], body)
    if kind == "url":
        return GatewayResponse(
            414, [("Content-Type", "application/json")], b'{"message": "Request-URI Too Long"}'
        )
    return GatewayResponse(
        431,
        [("Content-Type", "application/json")],
        b'{"message": "Request Header Fields Too Large"}',
    )


def check_limits(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body_length: int,
    endpoint_type: str = "EDGE",
    stage: str = "api",
) -> GatewayResponse | None:
    """API Gateway's size quotas, checked before anything else: the answer, or None.

    Needs only the request head and the declared body length, so the local server can answer
    before it reads a body that is already too large.
    """
    url_length = _DEPLOYED_URL_PREFIX + 1 + len(stage) + len(target)
    if url_length > URL_LIMITS.get(endpoint_type, URL_LIMITS["EDGE"]):
        return limit_error("url")
    head = len(method) + len(target) + 10  # "GET /path HTTP/1.1"
    for _, value in headers:
        head += len(value) if value.isascii() else len(value.encode("utf-8"))
    if head > MAX_REQUEST_HEAD_BYTES:
        return limit_error("head")
    if body_length > MAX_PAYLOAD_BYTES:
        return limit_error("payload")
    return None


class LambdaContext:
    """The context object Lambda passes to a handler, with the same attributes."""

    def __init__(self, function_name: str, memory_size: int = 128, timeout: float = 60.0) -> None:
        import time
        import uuid

        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalGateway:
    """One API stage in front of one app."""

    def __init__(
        self,
        app: App,
        stage: str = "api",
        stage_variables: dict[str, str] | None = None,
        function_name: str | None = None,
        memory_size: int = 128,
        timeout: float = 60.0,
        endpoint_type: str = "EDGE",
    ) -> None:
        self.app = app
        self.stage = stage
        self.stage_variables = stage_variables
        self.function_name = function_name or f"{app.app_name}-local"
        self.memory_size = memory_size
        self.timeout = timeout
        # fw deploys EDGE unless the config says otherwise (api_gateway_endpoint_type).
        self.endpoint_type = endpoint_type

    def check_limits(
        self, method: str, target: str, headers: list[tuple[str, str]], body_length: int
    ) -> GatewayResponse | None:
        """This stage's size quotas for a request head (see the module-level ``check_limits``)."""
        return check_limits(method, target, headers, body_length, self.endpoint_type, self.stage)

    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        body_length: int | None = None,
    ) -> GatewayResponse:
        """Answer one HTTP request as the deployed API would; raises BadRequest for a malformed one.

        ``body_length`` says the body was not read because it is over Lambda's limit already: the
        request gets whatever API Gateway answers before invoking the function (403, 401...),
        else the 413 the invocation would get.
        """
        import uuid

        request_id = str(uuid.uuid4())
        declared = len(body) if body_length is None else body_length
        over = check_limits(method, target, headers, declared, self.endpoint_type, self.stage)
        if over is not None:
            return over
        raw_path, _, raw_query = target.partition("?")
        if not raw_path.startswith("/"):
            raise BadRequest(f"request target must start with '/', got {target!r}")
        if not _escapes_ok(raw_path) or not _escapes_ok(raw_query):
            raise BadRequest(f"bad percent-encoding in {target!r}")
        try:
            # "Amazon API Gateway important notes": REST APIs decode query string parameters...
            query_pairs = _parse_query(raw_query) if raw_query else []
        except UnicodeDecodeError as err:
            raise BadRequest(f"bad percent-encoding in {target!r}") from err
        method = method.upper()
        # ...but not the path: a REST proxy event carries "path" and "pathParameters" as the
        # client sent them, percent-escapes included (Chalice issues #511/#688; published
        # captures: REST keeps the encoding where HTTP APIs decode). So routes match the raw
        # path, and "%2F" inside a segment never splits it.
        match = self.app.route_table.match(raw_path)
        if match is None:
            return _gateway_error("missing_token", request_id)
        resource, params = match
        entries = self.app.routes[resource]
        entry = entries.get(method)
        if entry is None:
            if method == "OPTIONS":
                # A path with CORS has an OPTIONS method of its own in the deployed API (a mock
                # integration, see deployer/package/openapi.py): the preflight never reaches the app.
                preflight = route_preflight(entries)
                if preflight is not None:
                    pairs = list(preflight.items())
                    return GatewayResponse(200, pairs + _ids(request_id), b"")
            # No such method on the resource: API Gateway has nothing to call, so the app never
            # sees it (no 405 + Allow as a WSGI server would send).
            return _gateway_error("missing_token", request_id)
        authorizer_context: dict[str, Any] | None = None
        if entry.authorizer is not None:
            arn = self._method_arn(method, raw_path)
            if len(arn.encode("utf-8")) > MAX_METHOD_ARN_BYTES:
                return limit_error("url")
        if entry.api_key_required and not _find(headers, "x-api-key"):
            return _gateway_error("forbidden", request_id)
        if entry.authorizer is not None:
            denied, authorizer_context = self._authorize(entry, method, raw_path, headers)
            if denied is not None:
                return _gateway_error(denied, request_id)
        if body_length is not None:
            return _gateway_error("event_too_large", request_id)
        event = self._event(
            method, raw_path, resource, params, headers, query_pairs, body, request_id
        )
        if authorizer_context is not None:
            event["requestContext"]["authorizer"] = authorizer_context
        if _event_size_over(event, MAX_EVENT_BYTES):
            return _gateway_error("event_too_large", request_id)
        context = LambdaContext(self.function_name, self.memory_size, self.timeout)
        try:
            result = self.app(event, context)
        except Exception:  # the app's own error handling failed: API Gateway answers 502
            import traceback

            traceback.print_exc()
            return _gateway_error("bad_gateway", request_id)
        return self._to_http(result, headers, request_id)

    def _method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/{method}{path}"

    def _event(
        self,
        method: str,
        path: str,
        resource: str,
        params: dict[str, str] | None,
        headers: list[tuple[str, str]],
        query_pairs: list[tuple[str, str]],
        body: bytes,
        request_id: str,
    ) -> dict[str, Any]:
        import time

        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in headers:
            single[name] = value
            multi.setdefault(name, []).append(value)
        query_multi: dict[str, list[str]] = {}
        for name, value in query_pairs:
            query_multi.setdefault(name, []).append(value)
        content_type = _find(headers, "content-type") or ""
        encoded = False
        text: str | None = None
        if body:
            # "Content type conversions in API Gateway": a body whose Content-Type is one of the
            # API's binary media types reaches the function base64-encoded.
            if content_type and is_binary_media_type(content_type, self.app.api.binary_types):
                encoded = True
            else:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError:
                    encoded = True
            if encoded:
                import base64

                text = base64.b64encode(body).decode("ascii")
        now = time.time()
        return {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": {k: v[-1] for k, v in query_multi.items()} or None,
            "multiValueQueryStringParameters": query_multi or None,
            "pathParameters": params,
            "stageVariables": self.stage_variables or None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": resource,
                "httpMethod": method,
                "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "path": f"/{self.stage}{path}",
                "accountId": ACCOUNT,
                "protocol": "HTTP/1.1",
                "stage": self.stage,
                "domainPrefix": "localhost",
                "requestTimeEpoch": int(now * 1000),
                "requestId": request_id,
                "identity": {"sourceIp": "127.0.0.1", "userAgent": _find(headers, "user-agent")},
                "domainName": _find(headers, "host") or "localhost",
                "apiId": API_ID,
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _authorize(
        self, entry: Any, method: str, path: str, headers: list[tuple[str, str]]
    ) -> tuple[str | None, dict[str, Any] | None]:
        """``(error kind, None)`` for a refusal, ``(None, context)`` to go on."""
        from .authorizers import BuiltinAuthorizer, CognitoUserPoolAuthorizer

        authorizer = entry.authorizer
        if isinstance(authorizer, CognitoUserPoolAuthorizer):
            import time

            from .cognito import CognitoRefusal, authorize

            try:
                return None, authorize(authorizer, _find(headers, authorizer.header), time.time())
            except CognitoRefusal as refusal:
                return refusal.kind, None
        if not isinstance(authorizer, BuiltinAuthorizer):
            return None, None  # IAM and external Lambda authorizers cannot be checked locally
        token = _find(headers, authorizer.config.header or "Authorization")
        if not token:
            return "unauthorized", None
        method_arn = self._method_arn(method, path)
        auth_event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            result = authorizer(
                auth_event, LambdaContext(authorizer.name, self.memory_size, self.timeout)
            )
        except Exception as err:
            if str(err) == "Unauthorized":
                return "unauthorized", None
            import traceback

            traceback.print_exc()
            return "authorizer_error", None
        if not isinstance(result, dict) or not isinstance(result.get("policyDocument"), dict):
            return "authorizer_error", None
        effect = _policy_effect(result["policyDocument"], method_arn)
        if effect == "Deny":
            return "explicit_deny", None
        if effect != "Allow":
            return "not_allowed", None
        context = dict(result.get("context") or {})
        context["principalId"] = result.get("principalId")
        return None, context

    def _to_http(
        self, result: Any, request_headers: list[tuple[str, str]], request_id: str
    ) -> GatewayResponse:
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            return _gateway_error("bad_gateway", request_id)
        pairs: list[tuple[str, str]] = []
        for name, value in (result.get("headers") or {}).items():
            pairs.append((name, str(value)))
        for name, values in (result.get("multiValueHeaders") or {}).items():
            pairs.extend((name, str(v)) for v in values)
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
        pairs.extend(_ids(request_id))
        body = result.get("body")
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = str(body).encode("utf-8")
        if data and result.get("isBase64Encoded") and self._wants_binary(request_headers):
            # "Binary media types for REST APIs": API Gateway uses the first Accept type to decide
            # whether the base64 body goes out as binary; otherwise the client gets the base64
            # text itself ("Content type conversions in API Gateway": only the first counts).
            import base64
            import binascii

            try:
                data = base64.b64decode(data, validate=True)
            except binascii.Error:
                return _gateway_error("bad_base64", request_id)
        return GatewayResponse(result["statusCode"], pairs, data)

    def _wants_binary(self, headers: list[tuple[str, str]]) -> bool:
        binary_types = self.app.api.binary_types
        accept = _find(headers, "accept")
        if not accept:
            # With no Accept, only a "*/*" binary type (which covers everything) applies.
            return "*/*" in binary_types
        first = accept.split(",", 1)[0]
        return is_binary_media_type(first, binary_types)


def _parse_query(raw_query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(raw_query, keep_blank_values=True, errors="strict")


def _event_size_over(event: dict[str, Any], limit: int) -> bool:
    """Whether the event, serialized as Lambda receives it, is over ``limit`` bytes."""
    body = event["body"] or ""
    # Everything but the body is bounded by the URL and header quotas (each header twice, JSON
    # escapes at most 6x): well under 512 KiB. A body can grow 6x when escaped (control bytes
    # become \u00XX), so only a body that could reach the limit costs a serialization.
    if len(body) * 6 + 512 * 1024 <= limit:
        return False
    import json

    size = len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return size > limit


def _escapes_ok(text: str) -> bool:
    """Whether every '%' starts a two-hex-digit escape (API Gateway answers 400 otherwise)."""
    index = text.find("%")
    while index != -1:
        pair = text[index + 1 : index + 3]
        if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return False
        index = text.find("%", index + 3)
    return True


def _find(headers: list[tuple[str, str]], lower_name: str) -> str | None:
    for name, value in headers:
        if name.lower() == lower_name.lower():
            return value
    return None


def _policy_effect(policy: dict[str, Any], arn: str) -> str | None:
    """'Deny' if any Deny statement matches, else 'Allow' if any Allow does, else None."""
    import re

    allowed = False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        resources = statement.get("Resource", [])
        if isinstance(resources, str):
            resources = [resources]
        for pattern in resources:
            regex = "".join(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
            )
            if re.fullmatch(regex, arn):
                if statement.get("Effect") == "Deny":
                    return "Deny"
                if statement.get("Effect") == "Allow":
                    allowed = True
    return "Allow" if allowed else None
