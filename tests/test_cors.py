"""microframework.cors: the Access-Control-* headers of a route and of its preflight."""

from __future__ import annotations

import pytest

from microframework import App, CORSConfig
from microframework.cors import preflight_headers, route_preflight

STANDARD = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"


def test_default_config_allows_any_origin_and_the_standard_headers() -> None:
    assert CORSConfig().get_access_control_headers() == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": STANDARD,
    }


def test_every_option_becomes_a_header() -> None:
    config = CORSConfig(
        allow_origin="https://a.example",
        allow_headers=["X-Trace", "Content-Type"],
        expose_headers=["X-B", "X-A"],
        max_age=600,
        allow_credentials=True,
    )
    assert config.get_access_control_headers() == {
        "Access-Control-Allow-Origin": "https://a.example",
        "Access-Control-Allow-Headers": STANDARD + ",X-Trace",
        "Access-Control-Expose-Headers": "X-B,X-A",
        "Access-Control-Max-Age": "600",
        "Access-Control-Allow-Credentials": "true",
    }


@pytest.mark.parametrize("credentials", [False, None], ids=["false", "none"])
def test_credentials_header_only_when_true(credentials: bool | None) -> None:
    headers = CORSConfig(allow_credentials=credentials).get_access_control_headers()
    assert "Access-Control-Allow-Credentials" not in headers


def test_returned_headers_are_a_copy() -> None:
    config = CORSConfig()
    config.get_access_control_headers()["Access-Control-Allow-Origin"] = "mutated"
    assert config.get_access_control_headers()["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (CORSConfig(), CORSConfig(), True),
        (
            CORSConfig(allow_headers=["X-A"]),
            CORSConfig(allow_headers=["X-A", "Content-Type"]),
            True,
        ),
        (CORSConfig(), CORSConfig(allow_origin="https://a"), False),
        (CORSConfig(), CORSConfig(max_age=1), False),
    ],
    ids=["defaults", "standard-header-repeated", "origin", "max-age"],
)
def test_equality_follows_the_headers(left: CORSConfig, right: CORSConfig, equal: bool) -> None:
    assert (left == right) is equal
    if equal:
        assert hash(left) == hash(right)


def test_not_equal_to_other_types() -> None:
    assert CORSConfig() != {"Access-Control-Allow-Origin": "*"}
    assert CORSConfig() is not None


def test_preflight_lists_the_methods_in_order_then_options() -> None:
    headers = preflight_headers(CORSConfig(max_age=5), ["PUT", "GET"])
    assert headers["Access-Control-Allow-Methods"] == "PUT,GET,OPTIONS"
    assert headers["Access-Control-Max-Age"] == "5"
    assert headers["Access-Control-Allow-Origin"] == "*"


def _routes(*views: tuple[str, CORSConfig | bool]) -> App:
    app = App("cors")
    for method, cors in views:
        app.route("/p", methods=[method], cors=cors, name=f"view_{method.lower()}")(lambda: {})
    return app


def test_route_preflight_lists_only_the_cors_enabled_views() -> None:
    app = _routes(("GET", False), ("POST", True), ("DELETE", True))
    headers = route_preflight(app.routes["/p"])
    assert headers is not None
    assert headers["Access-Control-Allow-Methods"] == "POST,DELETE,OPTIONS"


def test_route_preflight_is_none_without_cors() -> None:
    assert route_preflight(_routes(("GET", False), ("POST", False)).routes["/p"]) is None


def test_cors_enabled_views_of_a_path_must_agree() -> None:
    with pytest.raises(
        ValueError, match="view 'view_post' has a CORS config different from view 'view_put'"
    ):
        _routes(("GET", False), ("PUT", True), ("POST", CORSConfig(allow_origin="https://a")))
