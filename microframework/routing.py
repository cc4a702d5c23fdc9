"""Route matching outside Lambda (local server, test client), as API Gateway matches.

The route templates compile once into a tree of path segments, so a lookup costs one dict
probe per segment whatever the number of routes. Static segments win over parameters, and a
greedy ``{name+}`` takes the rest of the path.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class _Node:
    __slots__ = ("static", "param", "param_name", "greedy_name", "greedy_path", "path")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.param_name = ""
        self.greedy_name = ""
        self.greedy_path: str | None = None
        self.path: str | None = None  # the route template ending here


def split_path(path: str) -> list[str]:
    """Path segments; a trailing slash is ignored, as API Gateway does."""
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


class RouteTable:
    """Maps a concrete request path to ``(route template, path parameters)``."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self._root = _Node()
        self._static: dict[str, str] = {}
        for template in routes:
            self.add(template)

    def add(self, template: str) -> None:
        segments = split_path(template)
        if not any(s.startswith("{") for s in segments):
            self._static["/" + "/".join(segments)] = template
        node = self._root
        for segment in segments:
            if segment.startswith("{") and segment.endswith("+}"):
                node.greedy_name = segment[1:-2]
                node.greedy_path = template
                return
            if segment.startswith("{"):
                if node.param is None:
                    node.param = _Node()
                    node.param_name = segment[1:-1]
                node = node.param
            else:
                node = node.static.setdefault(segment, _Node())
        node.path = template

    def match(self, path: str) -> tuple[str, dict[str, str] | None] | None:
        """``(template, params)`` for a request path, or None (API Gateway's 403).

        The local gateway passes the path as sent (REST APIs match and pass it percent-encoded);
        HTTP API events carry it decoded.
        """
        segments = split_path(path)
        template = self._static.get("/" + "/".join(segments))
        if template is not None:
            return template, None
        params: dict[str, str] = {}
        found = self._walk(self._root, segments, 0, params)
        if found is None:
            return None
        return found, params or None

    def _walk(
        self, node: _Node, segments: list[str], index: int, params: dict[str, str]
    ) -> str | None:
        if index == len(segments):
            return node.path
        segment = segments[index]
        child = node.static.get(segment)
        if child is not None:
            found = self._walk(child, segments, index + 1, params)
            if found is not None:
                return found
        if node.param is not None and segment:
            params[node.param_name] = segment
            found = self._walk(node.param, segments, index + 1, params)
            if found is not None:
                return found
            del params[node.param_name]
        if node.greedy_path is not None:
            params[node.greedy_name] = "/".join(segments[index:])
            return node.greedy_path
        return None
