"""The request a view sees: a read-only view over the API Gateway event, parsed lazily.

Building a request must cost next to nothing (most views read one or two fields), so every
field is computed on first access and cached.
"""

from __future__ import annotations

# _collections_abc is what collections.abc re-exports; importing it directly skips `collections`
# (operator, heapq, reprlib, ...), about a millisecond of every cold start.
from _collections_abc import Iterator, Mapping, MutableMapping

from .errors import BadRequestError, InvalidEventError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class MultiDict(MutableMapping):
    """Query parameters: ``d[k]``/``d.get(k)`` give the last value, ``d.getlist(k)`` all of them.

    Mutable as Chalice's is (middleware rewrites a request's query before the view reads it):
    ``d[k] = v`` replaces every value of ``k`` with ``v``; ``del d[k]`` and ``getlist(k)`` of a
    missing key raise ``KeyError``, as in Chalice.
    """

    __slots__ = ("_data",)

    def __init__(self, mapping: Mapping[str, list[str]] | None) -> None:
        self._data: dict[str, list[str]] = dict(mapping or {})

    def __getitem__(self, key: str) -> str:
        values = self._data[key]
        if not values:
            raise KeyError(key)
        return values[-1]

    def __setitem__(self, key: str, value: str) -> None:
        self._data[key] = [value]

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def getlist(self, key: str) -> list[str]:
        return list(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"MultiDict({self._data!r})"


class CaseInsensitiveMapping(Mapping):
    """Headers: lookups ignore case, as HTTP does; iteration gives lower-case names."""

    __slots__ = ("_data",)

    def __init__(self, mapping: Mapping[str, Any] | None) -> None:
        self._data = {k.lower(): v for k, v in (mapping or {}).items()}

    def __getitem__(self, key: str) -> Any:
        return self._data[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"CaseInsensitiveMapping({self._data!r})"


_UNSET: Any = object()

# The event's shape is API Gateway's: "Lambda proxy integrations in API Gateway" (input format,
# payload 1.0) and "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway" (2.0).
# Maps are JSON objects of strings or null, the body a string or null, isBase64Encoded a
# boolean. Each field is checked where fw first reads it, so a well-formed request pays for no
# more than a type check per field it uses, and a malformed one is a 400 naming the field.
_JSON_TYPES = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def invalid_field(name: str, value: Any, expected: str) -> InvalidEventError:
    """The 400 for an event field API Gateway would never send in this shape."""
    got = _JSON_TYPES.get(type(value), type(value).__name__)
    return InvalidEventError(f"Invalid event: {name} must be {expected}, got {got}")


def _string_map(name: str, value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise invalid_field(name, value, "an object or null")
    for key, item in value.items():
        if type(item) is not str:
            raise invalid_field(f"{name}[{key!r}]", item, "a string")
    return value


def _string_list_map(name: str, value: Any) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise invalid_field(name, value, "an object or null")
    empty = False
    for key, items in value.items():
        if type(items) is not list:
            raise invalid_field(f"{name}[{key!r}]", items, "an array of strings")
        for item in items:
            if type(item) is not str:
                raise invalid_field(f"{name}[{key!r}][]", item, "a string")
        empty = empty or not items
    if empty:
        # A key without values is no parameter: leaving it in would list a key that d[key]
        # then refuses. (API Gateway sends [""] for "?key".)
        return {key: items for key, items in value.items() if items}
    return value


def find_header(headers: Mapping[str, str] | None, lower_name: str) -> str | None:
    """One header from a raw event's dict, without building a case-insensitive copy of all of them.

    Raises InvalidEventError when ``headers`` is not an object or the header is not a string.
    """
    if not headers:
        return None
    if type(headers) is not dict:
        raise invalid_field("headers", headers, "an object or null")
    # API Gateway keeps the client's spelling; try the two usual ones before scanning.
    value = headers.get(lower_name)
    if value is None and lower_name == "content-type":
        value = headers.get("Content-Type")
    if value is None:
        size = len(lower_name)
        for key, item in headers.items():
            if len(key) == size and key.lower() == lower_name:
                value = item
                break
        else:
            return None
    if type(value) is not str:
        raise invalid_field(f"headers[{lower_name!r}]", value, "a string")
    return value


class Request:
    """The current HTTP request (REST API payload 1.0, or HTTP API payload 2.0)."""

    __slots__ = (
        "_event",
        "lambda_context",
        "_headers",
        "_query",
        "_raw_body",
        "_json_body",
        "_v2",
        "_matched",
    )

    def __init__(self, event: dict[str, Any], lambda_context: Any = None) -> None:
        self._event = event
        self.lambda_context = lambda_context
        self._v2 = event.get("version") == "2.0"
        self._headers: CaseInsensitiveMapping | None = None
        self._query: Any = _UNSET
        self._raw_body: Any = _UNSET
        self._json_body: Any = _UNSET
        # (template, params) when fw matched the route itself (an HTTP API's $default route).
        self._matched: tuple[str, dict[str, str] | None] | None = None

    @property
    def method(self) -> str:
        ctx = self.context
        if self._v2:
            http = ctx.get("http")
            if type(http) is not dict:
                raise invalid_field("requestContext.http", http, "an object")
            method = http.get("method")
            if type(method) is not str:
                raise invalid_field("requestContext.http.method", method, "a string")
        else:
            method = ctx.get("httpMethod")
            if type(method) is not str:
                raise invalid_field("requestContext.httpMethod", method, "a string")
        return method

    @property
    def path(self) -> str:
        """The route's path template (``/users/{id}``), as Chalice reports it."""
        if self._matched is not None:
            return self._matched[0]
        if self._v2:
            route_key = self._event.get("routeKey", "")
            if type(route_key) is not str:
                raise invalid_field("routeKey", route_key, "a string")
            return route_key.split(" ", 1)[-1]
        path = self.context.get("resourcePath")
        if type(path) is not str:
            raise invalid_field("requestContext.resourcePath", path, "a string")
        return path

    @property
    def context(self) -> dict[str, Any]:
        ctx = self._event.get("requestContext")
        if type(ctx) is not dict:
            raise invalid_field("requestContext", ctx, "an object")
        return ctx

    @property
    def stage_vars(self) -> dict[str, str] | None:
        return _string_map("stageVariables", self._event.get("stageVariables"))

    @property
    def uri_params(self) -> dict[str, str] | None:
        if self._matched is not None:
            return self._matched[1]
        return _string_map("pathParameters", self._event.get("pathParameters"))

    @property
    def headers(self) -> CaseInsensitiveMapping:
        if self._headers is None:
            headers = _string_map("headers", self._event.get("headers"))
            cookies = self._event.get("cookies") if self._v2 else None
            if cookies is not None:
                if type(cookies) is not list or not all(type(c) is str for c in cookies):
                    raise invalid_field("cookies", cookies, "an array of strings or null")
                if cookies:
                    # HTTP APIs move the Cookie header into a list of their own; put it back.
                    headers = {**(headers or {}), "cookie": "; ".join(cookies)}
            self._headers = CaseInsensitiveMapping(headers)
        return self._headers

    @property
    def query_params(self) -> MultiDict | None:
        if self._query is _UNSET:
            self._query = self._parse_query()
        return self._query

    @query_params.setter
    def query_params(self, value: MultiDict | None) -> None:
        # A plain attribute in Chalice: middleware may replace the whole mapping.
        self._query = value

    def _parse_query(self) -> MultiDict | None:
        event = self._event
        if not self._v2:
            # Both are checked: API Gateway sends both or neither, so one malformed is a
            # malformed event even when the other is the one read.
            single = _string_map("queryStringParameters", event.get("queryStringParameters"))
            multi = _string_list_map(
                "multiValueQueryStringParameters", event.get("multiValueQueryStringParameters")
            )
            if multi is None:
                return None if single is None else MultiDict({k: [v] for k, v in single.items()})
            return MultiDict(multi)
        raw = event.get("rawQueryString")
        if raw is not None and type(raw) is not str:
            raise invalid_field("rawQueryString", raw, "a string")
        if not raw:
            return None
        from urllib.parse import parse_qs

        return MultiDict(parse_qs(raw, keep_blank_values=True))

    @property
    def raw_body(self) -> bytes:
        """The body as bytes, base64-decoded when API Gateway encoded it."""
        if self._raw_body is _UNSET:
            event = self._event
            body = event.get("body")
            encoded = event.get("isBase64Encoded")
            if encoded is not None and type(encoded) is not bool:
                raise invalid_field("isBase64Encoded", encoded, "a boolean")
            if body is None:
                self._raw_body = b""
            elif type(body) is str:
                self._raw_body = _b64decode(body) if encoded else _utf8(body)
            elif type(body) is bytes:  # an event built in Python, not one Lambda decoded
                self._raw_body = body
            else:
                raise invalid_field("body", body, "a string or null")
        return self._raw_body

    @property
    def json_body(self) -> Any:
        """The parsed JSON body for JSON requests (None otherwise); malformed JSON is a 400."""
        if self._headers is not None:
            content_type = self._headers.get("content-type", "")
        else:
            content_type = find_header(self._event.get("headers"), "content-type") or ""
        if not content_type.startswith("application/json"):
            return None
        if self._json_body is _UNSET:
            import json

            raw = self.raw_body
            try:
                self._json_body = json.loads(raw)
            except (ValueError, RecursionError):
                # RecursionError: nesting deeper than the interpreter's stack allows (the C
                # decoder recurses per level); the client sent it, so it is a 400 like any other
                # JSON the parser refuses.
                raise BadRequestError("Error Parsing JSON") from None
        return self._json_body

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable summary of the request (the Lambda context left out)."""
        query = self.query_params
        return {
            "query_params": None if query is None else {k: query[k] for k in query},
            "headers": dict(self.headers),
            "uri_params": self.uri_params,
            "method": self.method,
            "context": self.context,
            "stage_vars": self.stage_vars,
            "path": self.path,
        }

    def to_original_event(self) -> dict[str, Any]:
        """The event exactly as Lambda delivered it: the escape hatch for anything unmapped."""
        return self._event

    def __repr__(self) -> str:
        try:
            return f"<Request {self.method} {self.path}>"
        except InvalidEventError:
            return "<Request of a malformed event>"


def _utf8(body: str) -> bytes:
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): JSON can carry it, UTF-8 cannot
        raise InvalidEventError("Invalid event: body is not valid Unicode text") from None


def _b64decode(body: str) -> bytes:
    import base64
    import binascii

    try:
        # validate=True: API Gateway's base64 has no line breaks or stray characters, and
        # skipping them (the default) would hand the view silently truncated bytes.
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidEventError("Invalid event: body is not valid base64") from None
