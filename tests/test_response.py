"""microframework.response: the Lambda proxy result, binary bodies, compact JSON, content types."""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework import MultiDict, Response
from microframework.response import dumps, error_response, matches_content_type


def test_dict_body_renders_as_compact_json() -> None:
    result = Response({"a": [1, 2], "b": None}).to_dict()
    assert result == {
        "headers": {},
        "multiValueHeaders": {},
        "statusCode": 200,
        "body": '{"a":[1,2],"b":null}',
    }


def test_string_body_is_sent_as_is() -> None:
    assert Response("plain text", status_code=202).to_dict()["body"] == "plain text"


def test_list_header_values_go_to_multi_value_headers() -> None:
    result = Response("", headers={"Set-Cookie": ["a=1", "b=2"], "X-One": "1"}).to_dict()
    assert result["headers"] == {"X-One": "1"}
    assert result["multiValueHeaders"] == {"Set-Cookie": ["a=1", "b=2"]}


@pytest.mark.parametrize(
    ("value", "body"),
    [
        (Decimal("3"), "3"),
        (Decimal("1E+2"), "100"),
        (Decimal("1.5"), "1.5"),
        (Decimal("-0.25"), "-0.25"),
    ],
    ids=["integral", "exponent", "fraction", "negative"],
)
def test_decimals_render_as_numbers(value: Decimal, body: str) -> None:
    assert Response(value).to_dict()["body"] == body


def test_multidict_renders_with_last_values() -> None:
    assert Response({"q": MultiDict({"a": ["1", "2"]})}).to_dict()["body"] == '{"q":{"a":"2"}}'


def test_unserializable_body_raises_type_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        Response({"x": object()}).to_dict()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"\x00\xff", "image/png", "AP8="),
        ("text", "application/octet-stream", "dGV4dA=="),
        ({"a": 1}, "application/json", base64.b64encode(b'{"a":1}').decode()),
    ],
    ids=["bytes", "str", "json-as-binary"],
)
def test_binary_content_type_is_base64_encoded(body: Any, content_type: str, expected: str) -> None:
    binary_types = ["image/png", "application/octet-stream", "application/json"]
    result = Response(body, headers={"Content-Type": content_type}).to_dict(binary_types)
    assert result["isBase64Encoded"] is True
    assert result["body"] == expected


def test_non_binary_content_type_is_not_encoded() -> None:
    result = Response(b"abc", headers={"content-type": "text/plain"}).to_dict(["image/png"])
    assert "isBase64Encoded" not in result
    assert result["body"] == "abc"


def test_error_response_shape() -> None:
    result = error_response("gone", "NotFoundError", 404, {"X": "1"}).to_dict()
    assert (result["statusCode"], result["headers"]) == (404, {"X": "1"})
    assert json.loads(result["body"]) == {"Code": "NotFoundError", "Message": "gone"}


@pytest.mark.parametrize(
    ("header", "allowed", "matches"),
    [
        ("image/png", ["image/png"], True),
        ("IMAGE/PNG", ["image/png"], True),
        ("text/html, image/png;q=0.9", ["image/png"], True),
        ("application/json; charset=utf-8", ["application/json"], True),
        ("*/*", ["image/png"], True),
        ("text/html", ["*/*"], True),
        ("text/html", ["image/png"], False),
        ("", ["image/png"], False),
        ("image/png-x", ["image/png"], False),
    ],
    ids=[
        "exact",
        "case",
        "accept-list",
        "params",
        "any-header",
        "any-allowed",
        "other",
        "empty",
        "prefix",
    ],
)
def test_matches_content_type(header: str, allowed: list[str], matches: bool) -> None:
    assert matches_content_type(header, allowed) is matches


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=15,
)


@given(json_values)
def test_json_body_round_trips_compactly(value: Any) -> None:
    result = Response({"v": value}).to_dict()
    assert json.loads(result["body"]) == {"v": value}
    assert result["body"] == json.dumps({"v": value}, separators=(",", ":"))


@given(st.binary(max_size=64))
def test_binary_body_round_trips_through_base64(data: bytes) -> None:
    result = Response(data, headers={"Content-Type": "application/octet-stream"}).to_dict(
        ["application/octet-stream"]
    )
    assert base64.b64decode(result["body"]) == data


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3))
def test_decimal_renders_as_the_same_number(value: Decimal) -> None:
    rendered = json.loads(dumps(value))
    assert math.isclose(rendered, float(value))
    assert isinstance(rendered, int) == (value == value.to_integral_value())


def test_a_wildcard_binary_type_matches_its_subtypes() -> None:
    # "Binary media types for REST APIs in API Gateway": binary media types may use wildcards.
    png = Response(b"\x89PNG", headers={"Content-Type": "image/png"}).to_dict(["image/*"])
    assert png["isBase64Encoded"] is True and png["body"] == "iVBORw=="
    text = Response(b"abc", headers={"Content-Type": "text/plain"}).to_dict(["image/*"])
    assert "isBase64Encoded" not in text
