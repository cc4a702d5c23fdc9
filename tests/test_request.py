"""microframework.request: Request fields, lazy parsing, MultiDict and CaseInsensitiveMapping laws."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework import BadRequestError, CaseInsensitiveMapping, MultiDict, Request
from microframework.request import find_header
from microframework.sample_events import apigateway_event


def request(method: str = "GET", path: str = "/", **kwargs: Any) -> Request:
    return Request(apigateway_event(method, path, **kwargs), lambda_context="ctx")


def test_fields_come_from_the_event() -> None:
    event = apigateway_event("POST", "/u/3?x=1", resource="/u/{id}", path_parameters={"id": "3"})
    event["stageVariables"] = {"env": "dev"}
    req = Request(event, lambda_context="ctx")
    assert (req.method, req.path, req.uri_params) == ("POST", "/u/{id}", {"id": "3"})
    assert req.stage_vars == {"env": "dev"}
    assert req.context["stage"] == "api"
    assert req.lambda_context == "ctx"
    assert req.to_original_event() is event
    assert repr(req) == "<Request POST /u/{id}>"


def test_headers_ignore_case() -> None:
    req = request(headers={"X-Request-Id": "abc", "Content-Type": "text/plain"})
    assert req.headers["x-request-id"] == req.headers["X-REQUEST-ID"] == "abc"
    assert "content-type" in req.headers
    assert req.headers.get("missing", "dflt") == "dflt"
    assert sorted(req.headers) == ["content-type", "x-request-id"]


def test_no_headers_and_no_query_string() -> None:
    req = request()
    assert dict(req.headers) == {}
    assert req.query_params is None
    assert req.raw_body == b""
    assert req.json_body is None


def test_query_params_give_last_value_and_all_values() -> None:
    req = request(path="/?tag=a&tag=b&empty=")
    assert req.query_params["tag"] == "b"
    assert req.query_params.getlist("tag") == ["a", "b"]
    assert req.query_params["empty"] == ""
    with pytest.raises(KeyError):  # as in Chalice
        req.query_params.getlist("missing")


def test_single_value_query_parameters_are_used_without_multi_values() -> None:
    event = apigateway_event("GET", "/")
    event["queryStringParameters"] = {"a": "1"}
    assert Request(event).query_params.getlist("a") == ["1"]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", {"a": 1}),
        ("application/json; charset=utf-8", {"a": 1}),
        ("text/plain", None),
    ],
    ids=["json", "json-charset", "text"],
)
def test_json_body_only_for_json_requests(content_type: str, expected: Any) -> None:
    req = request("POST", body='{"a": 1}', headers={"Content-Type": content_type})
    assert req.json_body == expected
    assert req.raw_body == b'{"a": 1}'


def test_json_body_is_parsed_once() -> None:
    req = request("POST", body='{"a": [1]}')
    assert req.json_body is req.json_body


def test_malformed_json_body_is_bad_request() -> None:
    with pytest.raises(BadRequestError, match="Error Parsing JSON"):
        request("POST", body='{"a": ').json_body  # noqa: B018


def test_base64_body_is_decoded() -> None:
    event = apigateway_event("POST", "/", body=base64.b64encode(b"\x00\xff").decode())
    event["isBase64Encoded"] = True
    assert Request(event).raw_body == b"\x00\xff"


def test_to_dict_is_json_serializable() -> None:
    req = request("GET", "/p?a=1&a=2", headers={"X-A": "1"})
    data = json.loads(json.dumps(req.to_dict()))
    assert data["query_params"] == {"a": "2"}
    assert data["headers"] == {"x-a": "1"}
    assert (data["method"], data["path"], data["uri_params"]) == ("GET", "/p", None)
    assert "lambda_context" not in data


def test_http_api_v2_request_fields() -> None:
    event = {
        "version": "2.0",
        "routeKey": "PATCH /u/{id}",
        "rawPath": "/u/1",
        "rawQueryString": "a=1&a=2&b=",
        "headers": {"content-type": "application/json"},
        "pathParameters": {"id": "1"},
        "requestContext": {"http": {"method": "PATCH"}},
        "body": '{"k": true}',
    }
    req = Request(event)
    assert (req.method, req.path, req.uri_params) == ("PATCH", "/u/{id}", {"id": "1"})
    assert req.query_params.getlist("a") == ["1", "2"]
    assert req.query_params["b"] == ""
    assert req.json_body == {"k": True}


@pytest.mark.parametrize(
    ("headers", "name", "expected"),
    [
        (None, "accept", None),
        ({"Accept": "a/b"}, "accept", "a/b"),
        ({"ACCEPT": "a/b", "Accept-Encoding": "gzip"}, "accept-encoding", "gzip"),
        ({"Accepts": "x"}, "accept", None),
    ],
    ids=["none", "title-case", "upper-and-longer", "prefix-only"],
)
def test_find_header(headers: dict[str, str] | None, name: str, expected: str | None) -> None:
    assert find_header(headers, name) == expected


query_values = st.lists(st.text(max_size=5), min_size=1, max_size=4)
query_dicts = st.dictionaries(st.text(max_size=5), query_values, max_size=5)


@given(query_dicts)
def test_multidict_laws(data: dict[str, list[str]]) -> None:
    multi = MultiDict(data)
    assert len(multi) == len(data)
    assert list(multi) == list(data)
    for key, values in data.items():
        assert key in multi
        assert multi[key] == multi.get(key) == values[-1]
        assert multi.getlist(key) == values
        multi.getlist(key).append("mutated")
        assert multi.getlist(key) == values
    assert json.loads(json.dumps({k: multi[k] for k in multi})) == {
        k: v[-1] for k, v in data.items()
    }


@given(query_dicts, st.text(max_size=5))
def test_multidict_missing_keys(data: dict[str, list[str]], key: str) -> None:
    multi = MultiDict(data)
    if key not in data:
        assert key not in multi
        assert multi.get(key) is None
        for read in (multi.__getitem__, multi.getlist, multi.__delitem__):
            with pytest.raises(KeyError):
                read(key)


header_names = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=8)


@given(st.dictionaries(header_names, st.text(max_size=5), max_size=6), st.data())
def test_case_insensitive_mapping_laws(headers: dict[str, str], data: st.DataObject) -> None:
    mapping = CaseInsensitiveMapping(headers)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered[name.lower()] = value  # the last spelling wins, as in the event's own dict
    assert dict(mapping) == lowered
    assert len(mapping) == len(lowered)
    for name in lowered:
        spelled = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
        assert spelled in mapping
        assert mapping[spelled] == mapping.get(spelled) == lowered[name]
    assert mapping == lowered


def test_http_api_cookies_are_the_cookie_header() -> None:
    event = {
        "version": "2.0",
        "routeKey": "GET /",
        "rawPath": "/",
        "headers": {"host": "example.com"},
        "cookies": ["a=1", "b=2"],
        "requestContext": {"http": {"method": "GET"}},
    }
    headers = Request(event).headers
    assert headers["Cookie"] == "a=1; b=2"
    assert headers["host"] == "example.com"
