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
        _dumps = _make_dumps()
    return _dumps(body)


def _make_dumps() -> Any:
    try:
        # The C encoder, straight from _json: importing the json package would pull in re,
        # enum and functools on the first request of every cold start, and JSONEncoder.encode's
        # Python layers cost more than the encoding itself for a typical response.
        from _json import encode_basestring_ascii, make_encoder
    except ImportError:  # an interpreter without the C accelerator
        from json import JSONEncoder

        return JSONEncoder(separators=(",", ":"), default=_json_default).encode
    # No circular-reference markers: a cycle ends in RecursionError, which the app turns into
    # a 500 like any other view bug.
    iterencode = make_encoder(
        None, _json_default, encode_basestring_ascii, None, ":", ",", False, False, True
    )

    def fast_dumps(body: Any) -> str:
        if isinstance(body, str):
            return encode_basestring_ascii(body)
        return "".join(iterencode(body, 0))

    return fast_dumps


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


# "Binary media types for REST APIs in API Gateway": a binary media type may end in a "*"
# wildcard (image/*, */*). Compiled once per list: exact types, and the prefixes of wildcards.
_binary_cache: tuple[tuple[str, ...], frozenset[str], tuple[str, ...]] = ((), frozenset(), ())


def _compiled(binary_types: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    global _binary_cache
    key = tuple(binary_types)
    if key != _binary_cache[0]:
        lowered = [t.lower() for t in key]
        prefixes = tuple(t[:-1] for t in lowered if t.endswith("/*") and t != "*/*")
        _binary_cache = (key, frozenset(lowered), prefixes)
    return _binary_cache[1], _binary_cache[2]


def is_binary(content_type: str, binary_types: list[str]) -> bool:
    """Whether ``content_type`` is one of the API's binary types (an empty one only with ``*/*``)."""
    if not content_type:
        return "*/*" in binary_types
    exact, prefixes = _compiled(binary_types)
    if matches_content_type(content_type, exact):
        return True
    if prefixes:
        for part in content_type.lower().replace(";", ",").split(","):
            if part.strip().startswith(prefixes):
                return True
    return False


def is_binary_media_type(media_type: str, binary_types: list[str]) -> bool:
    """Whether one media type, taken literally (``*/*`` is no wildcard here), is binary."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return False
    exact, prefixes = _compiled(binary_types)
    return media_type in exact or "*/*" in exact or media_type.startswith(prefixes or ("\0",))


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
        content_type = ""
        for name, value in self.headers.items():
            if isinstance(value, list):
                multi[name] = value
            else:
                single[name] = value
                if len(name) == 12 and name.lower() == "content-type":
                    content_type = value
        result: dict[str, Any] = {
            "headers": single,
            "multiValueHeaders": multi,
            "statusCode": self.status_code,
            "body": body,
        }
        if binary_types and is_binary(content_type, binary_types):
            if isinstance(body, str):
                body = body.encode("utf-8")
            import base64

            result["body"] = base64.b64encode(body).decode("ascii")
            result["isBase64Encoded"] = True
        elif isinstance(body, bytes):
            # A bytes body with a non-binary type still has to be text on the wire.
            result["body"] = body.decode("utf-8", errors="replace")
        return result

    def __repr__(self) -> str:
        return f"<Response {self.status_code}>"


def error_response(
    message: str, error_code: str, http_status_code: int, headers: Headers | None = None
) -> Response:
    """The ``{"Code", "Message"}`` body every error answers with (Chalice's signature)."""
    return Response(
        {"Code": error_code, "Message": message}, headers=headers, status_code=http_status_code
    )
