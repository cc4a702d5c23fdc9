"""API Gateway + Lambda, emulated in-process: what ``fw local`` and the test client run.

Turns an HTTP request into the REST API (payload 1.0) proxy event API Gateway would send,
runs the authorizer and CORS preflight as API Gateway would, calls the app, and turns the proxy
result back into an HTTP response. No sockets here: the server and the client own those.
"""

from __future__ import annotations

from .cors import preflight_headers
from .response import dumps, matches_content_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .app import App

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "local"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


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
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None

    def __repr__(self) -> str:
        return f"<GatewayResponse {self.status}>"


def _json_response(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> GatewayResponse:
    pairs = [("Content-Type", "application/json")]
    pairs.extend((headers or {}).items())
    return GatewayResponse(status, pairs, dumps(body).encode("utf-8"))


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
    ) -> None:
        self.app = app
        self.stage = stage
        self.stage_variables = stage_variables
        self.function_name = function_name or f"{app.app_name}-local"
        self.memory_size = memory_size
        self.timeout = timeout

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> GatewayResponse:
        """Answer one HTTP request as the deployed API would; raises BadRequest for a malformed one."""
        import uuid
        from urllib.parse import parse_qsl, unquote

        request_id = str(uuid.uuid4())
        raw_path, _, raw_query = target.partition("?")
        if not _escapes_ok(raw_path) or not _escapes_ok(raw_query):
            raise BadRequest(f"bad percent-encoding in {target!r}")
        try:
            path = unquote(raw_path, errors="strict")
            query_pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as err:
            raise BadRequest(f"bad percent-encoding in {target!r}") from err
        if not path.startswith("/"):
            raise BadRequest(f"request target must start with '/', got {target!r}")
        if len(body) > MAX_PAYLOAD_BYTES:
            return _json_response(413, {"message": "Request Too Long"})
        method = method.upper()
        match = self.app.route_table.match(path)
        if match is None:
            return _json_response(403, {"message": "Missing Authentication Token"})
        resource, params = match
        entries = self.app.routes[resource]
        entry = entries.get(method)
        if entry is None and method == "OPTIONS":
            cors = next((e.cors for e in entries.values() if e.cors is not None), None)
            if cors is not None:
                return GatewayResponse(
                    200, list(preflight_headers(cors, list(entries)).items()), b""
                )
        event = self._event(method, path, resource, params, headers, query_pairs, body, request_id)
        if len(event["body"] or "") > MAX_PAYLOAD_BYTES:
            # Lambda's limit applies to the event, where a binary body is base64 (4/3 larger).
            return _json_response(413, {"message": "Request Too Long"})
        if entry is not None:
            if entry.api_key_required and not _find(headers, "x-api-key"):
                return _json_response(403, {"message": "Forbidden"})
            denied = self._authorize(entry, event, headers)
            if denied is not None:
                return denied
        context = LambdaContext(self.function_name, self.memory_size, self.timeout)
        try:
            result = self.app(event, context)
        except Exception:  # the app's own error handling failed: API Gateway answers 502
            import traceback

            traceback.print_exc()
            return _json_response(502, {"message": "Internal server error"})
        return self._to_http(result, request_id)

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
            binary = [t.lower() for t in self.app.api.binary_types]
            if content_type and matches_content_type(content_type, binary):
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
        self, entry: Any, event: dict[str, Any], headers: list[tuple[str, str]]
    ) -> GatewayResponse | None:
        from .authorizers import BuiltinAuthorizer

        authorizer = entry.authorizer
        if not isinstance(authorizer, BuiltinAuthorizer):
            return None  # IAM, Cognito and external authorizers cannot be checked locally
        token = _find(headers, authorizer.config.header or "Authorization")
        if not token:
            return _json_response(401, {"message": "Unauthorized"})
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{self.stage}/{event['httpMethod']}{event['path']}"
        auth_event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            result = authorizer(
                auth_event, LambdaContext(authorizer.name, self.memory_size, self.timeout)
            )
        except Exception as err:
            if str(err) == "Unauthorized":
                return _json_response(401, {"message": "Unauthorized"})
            import traceback

            traceback.print_exc()
            return _json_response(500, {"message": None})
        effect = _policy_effect(result.get("policyDocument", {}), method_arn)
        if effect == "Deny":
            return _json_response(
                403,
                {"Message": "User is not authorized to access this resource with an explicit deny"},
            )
        if effect != "Allow":
            return _json_response(
                403, {"Message": "User is not authorized to access this resource"}
            )
        context = dict(result.get("context") or {})
        context["principalId"] = result.get("principalId")
        event["requestContext"]["authorizer"] = context
        return None

    def _to_http(self, result: Any, request_id: str) -> GatewayResponse:
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            return _json_response(502, {"message": "Internal server error"})
        pairs: list[tuple[str, str]] = []
        for name, value in (result.get("headers") or {}).items():
            pairs.append((name, str(value)))
        for name, values in (result.get("multiValueHeaders") or {}).items():
            pairs.extend((name, str(v)) for v in values)
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
        pairs.append(("x-amzn-RequestId", request_id))
        body = result.get("body")
        if body is None:
            data = b""
        elif result.get("isBase64Encoded"):
            import base64

            data = base64.b64decode(body)
        elif isinstance(body, bytes):
            data = body
        else:
            data = str(body).encode("utf-8")
        return GatewayResponse(result["statusCode"], pairs, data)


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
