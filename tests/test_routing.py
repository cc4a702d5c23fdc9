"""microframework.routing: RouteTable matching as API Gateway matches, against a brute-force oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microframework.routing import RouteTable, split_path

ROUTES = ["/", "/users", "/users/{id}", "/users/{id}/posts", "/users/me", "/files/{path+}"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ("/", None)),
        ("/users", ("/users", None)),
        ("/users/", ("/users", None)),
        ("/users/42", ("/users/{id}", {"id": "42"})),
        ("/users/me", ("/users/me", None)),
        ("/users/42/posts", ("/users/{id}/posts", {"id": "42"})),
        ("/users/me/posts", ("/users/{id}/posts", {"id": "me"})),
        ("/files/a", ("/files/{path+}", {"path": "a"})),
        ("/files/a/b/c.txt", ("/files/{path+}", {"path": "a/b/c.txt"})),
        ("/files", None),
        ("/users/42/comments", None),
        ("/nope", None),
    ],
    ids=[
        "root", "static", "trailing-slash", "param", "static-beats-param", "nested-param",
        "backtrack-to-param", "greedy-one", "greedy-many", "greedy-needs-a-segment",
        "no-such-child", "unknown",
    ],
)  # fmt: skip
def test_match(path: str, expected: tuple[str, dict[str, str] | None] | None) -> None:
    assert RouteTable(dict.fromkeys(ROUTES)).match(path) == expected


def test_greedy_is_the_fallback_after_deeper_routes_fail() -> None:
    table = RouteTable(dict.fromkeys(["/{proxy+}", "/a/b", "/a/{x}/c"]))
    assert table.match("/a/b") == ("/a/b", None)
    assert table.match("/a/z/c") == ("/a/{x}/c", {"x": "z"})
    assert table.match("/a/z/d") == ("/{proxy+}", {"proxy": "a/z/d"})
    assert table.match("/") is None


def test_routes_added_after_construction() -> None:
    table = RouteTable({})
    assert table.match("/x/1") is None
    table.add("/x/{n}")
    assert table.match("/x/1") == ("/x/{n}", {"n": "1"})


@pytest.mark.parametrize(
    ("path", "segments"),
    [("/", []), ("", []), ("/a", ["a"]), ("/a/b/", ["a", "b"]), ("/a//b", ["a", "", "b"])],
    ids=["root", "empty", "one", "trailing", "double-slash"],
)
def test_split_path(path: str, segments: list[str]) -> None:
    assert split_path(path) == segments


# -- property: the trie answers what an exhaustive search over every template answers ------------

STATIC = ["a", "b", "c"]


def reference_rank(template: str, segments: list[str]) -> tuple[list[int], dict[str, str]] | None:
    """How ``template`` matches ``segments``: per segment 0 static, 1 {param}, 2 {greedy+}."""
    parts = split_path(template)
    rank: list[int] = []
    params: dict[str, str] = {}
    for index, part in enumerate(parts):
        if index >= len(segments):
            return None
        if part.endswith("+}"):
            params[part[1:-2]] = "/".join(segments[index:])
            return [*rank, 2], params
        if part.startswith("{"):
            if not segments[index]:
                return None
            params[part[1:-1]] = segments[index]
            rank.append(1)
        elif part == segments[index]:
            rank.append(0)
        else:
            return None
    return (rank, params) if len(parts) == len(segments) else None


def reference_match(templates: list[str], path: str) -> tuple[str, dict[str, str] | None] | None:
    """Try every template; API Gateway prefers, segment by segment, static > {param} > {greedy+}."""
    segments = split_path(path)
    ranked = []
    for template in templates:
        found = reference_rank(template, segments)
        if found is not None:
            ranked.append((found[0], template, found[1] or None))
    if not ranked:
        return None
    _, template, params = min(ranked, key=lambda r: r[0])
    return template, params


@st.composite
def templates(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=0, max_value=4))
    parts = []
    for level in range(depth):
        kind = draw(st.sampled_from(["static", "static", "param", "greedy"]))
        if kind == "greedy":
            parts.append("{rest+}")
            break
        # One parameter name per depth, as registration enforces for siblings.
        parts.append(draw(st.sampled_from(STATIC)) if kind == "static" else f"{{p{level}}}")
    return "/" + "/".join(parts)


paths = st.lists(st.sampled_from([*STATIC, "d", ""]), max_size=5).map(lambda s: "/" + "/".join(s))


@given(st.lists(templates(), min_size=1, max_size=8, unique=True), st.lists(paths, max_size=8))
def test_matches_like_an_exhaustive_search(routes: list[str], requests: list[str]) -> None:
    table = RouteTable(dict.fromkeys(routes))
    for path in [*requests, *routes]:
        assert table.match(path) == reference_match(routes, path), path
