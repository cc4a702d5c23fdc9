"""CORS configuration for routes: the headers API Gateway + Lambda send back."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .app import RouteEntry

# API Gateway's console adds these to every CORS-enabled method; browsers need them for signed
# and API-key requests, so they are always allowed.
_STANDARD_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Api-Key",
)


class CORSConfig:
    """CORS settings for a route; ``cors=True`` on a route means ``CORSConfig()``."""

    __slots__ = (
        "allow_origin",
        "_allow_headers",
        "_expose_headers",
        "_max_age",
        "_allow_credentials",
        "_headers",
    )

    def __init__(
        self,
        allow_origin: str = "*",
        allow_headers: Sequence[str] | None = None,
        expose_headers: Sequence[str] | None = None,
        max_age: int | None = None,
        allow_credentials: bool | None = None,
    ) -> None:
        self.allow_origin = allow_origin
        self._allow_headers = frozenset(_STANDARD_HEADERS).union(allow_headers or ())
        self._expose_headers = list(expose_headers or ())
        self._max_age = max_age
        self._allow_credentials = allow_credentials
        self._headers: dict[str, str] | None = None

    @property
    def allow_headers(self) -> str:
        return ",".join(sorted(self._allow_headers))

    def get_access_control_headers(self) -> dict[str, str]:
        """The ``Access-Control-*`` headers added to every response of the route."""
        if self._headers is None:
            headers = {
                "Access-Control-Allow-Origin": self.allow_origin,
                "Access-Control-Allow-Headers": self.allow_headers,
            }
            if self._expose_headers:
                headers["Access-Control-Expose-Headers"] = ",".join(self._expose_headers)
            if self._max_age is not None:
                headers["Access-Control-Max-Age"] = str(self._max_age)
            if self._allow_credentials is True:
                headers["Access-Control-Allow-Credentials"] = "true"
            self._headers = headers
        return dict(self._headers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CORSConfig):
            return NotImplemented
        return self.get_access_control_headers() == other.get_access_control_headers()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_access_control_headers().items())))

    def __repr__(self) -> str:
        return f"CORSConfig(allow_origin={self.allow_origin!r})"


def preflight_headers(cors: CORSConfig, methods: list[str]) -> dict[str, str]:
    """What the OPTIONS preflight of a CORS route answers (locally and in the deployed API).

    The methods keep the order the app declared them in, then OPTIONS, as Chalice's deployed
    preflight and local server list them.
    """
    headers = cors.get_access_control_headers()
    listed = [m for m in dict.fromkeys(methods) if m != "OPTIONS"]
    headers["Access-Control-Allow-Methods"] = ",".join([*listed, "OPTIONS"])
    return headers


def route_preflight(by_method: Mapping[str, RouteEntry]) -> dict[str, str] | None:
    """The preflight headers of one path, or None when none of its views enables CORS.

    Only the CORS-enabled views are listed: a browser may then send those methods
    cross-origin, and the others stay same-origin, as their responses carry no CORS headers.
    """
    cors: CORSConfig | None = None
    enabled = []
    for method, entry in by_method.items():
        if entry.cors is not None:
            cors = cors or entry.cors
            enabled.append(method)
    return None if cors is None else preflight_headers(cors, enabled)


def check_route_cors(
    path: str, view_name: str, new: CORSConfig | None, existing: Mapping[str, RouteEntry]
) -> None:
    """Refuse a view whose CORS config differs from another CORS-enabled view of its path.

    One OPTIONS preflight answers for the whole path, so the CORS-enabled views must agree;
    views without CORS may sit beside them (Chalice's deploy-time rule, checked here at import).
    """
    if new is None:
        return
    for other in existing.values():
        if other.cors is not None and other.cors != new:
            raise ValueError(
                f"route {path!r}: view {view_name!r} has a CORS config different from view "
                f"{other.view_name!r} on the same path; the CORS-enabled views of a path share "
                "one preflight, so they need the same CORSConfig"
            )
