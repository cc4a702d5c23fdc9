"""Responses as plain values, rendered once into the Lambda proxy result."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Headers = dict[str, "str | list[str]"]


def _json_default(obj: Any) -> Any:
    # Lambda's own serializer turns Decimal (what DynamoDB returns) into numbers; do the same.
    import decimal

    if isinstance(obj, decimal.Decimal):
        if obj.is_finite() and obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    from .request import MultiDict

    if isinstance(obj, MultiDict):
        return {k: obj[k] for k in obj}
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_dumps: Any = None


def dumps(body: Any) -> str:
    """Compact JSON, as API Gateway clients of Chalice apps receive it."""
    global _dumps
    if _dumps is None:
        import json

        _dumps = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
    return _dumps(body)


def matches_content_type(
    header_value: str, allowed: list[str] | tuple[str, ...] | frozenset[str]
) -> bool:
    """Whether a Content-Type/Accept value names one of ``allowed`` (``*/*`` on either side matches)."""
    value = header_value.lower()
    if "*/*" in value or "*/*" in allowed:
        return True
    if "," not in value and ";" not in value:
        return value.strip() in allowed
    for part in value.replace(";", ",").split(","):
        if part.strip() in allowed:
            return True
    return False


class Response:
    """What a view returns when it needs a status code or headers; anything else becomes the body."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, body: Any, headers: Headers | None = None, status_code: int = 200) -> None:
        self.body = body
        self.headers: Headers = {} if headers is None else headers
        self.status_code = status_code

    def to_dict(self, binary_types: list[str] | None = None) -> dict[str, Any]:
        """The Lambda proxy result; a body whose Content-Type is binary is base64-encoded."""
        body = self.body
        if not isinstance(body, (str, bytes)):
            body = dumps(body)
        single: dict[str, Any] = {}
        multi: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            if isinstance(value, list):
                multi[name] = value
            else:
                single[name] = value
        result: dict[str, Any] = {
            "headers": single,
            "multiValueHeaders": multi,
            "statusCode": self.status_code,
            "body": body,
        }
        if binary_types is not None:
            content_type = _header(single, "content-type") or ""
            if matches_content_type(content_type, [t.lower() for t in binary_types]):
                if isinstance(body, str):
                    body = body.encode("utf-8")
                if not isinstance(body, bytes):  # pragma: no cover - defensive
                    raise ValueError(f"Expected bytes for a binary Content-Type, got {type(body)}")
                import base64

                result["body"] = base64.b64encode(body).decode("ascii")
                result["isBase64Encoded"] = True
        if isinstance(result["body"], bytes):
            # A bytes body with a non-binary type still has to be text on the wire.
            result["body"] = result["body"].decode("utf-8", errors="replace")
        return result

    def __repr__(self) -> str:
        return f"<Response {self.status_code}>"


def _header(headers: dict[str, Any], lower_name: str) -> Any:
    for key, value in headers.items():
        if key.lower() == lower_name:
            return value
    return None


def error_response(
    code: str, message: str, status_code: int, headers: Headers | None = None
) -> Response:
    """The ``{"Code", "Message"}`` body every error answers with."""
    return Response({"Code": code, "Message": message}, headers=headers, status_code=status_code)
