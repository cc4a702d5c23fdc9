"""CORS configuration for routes: the headers API Gateway + Lambda send back."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

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
    """What the OPTIONS preflight of a CORS route answers (locally and in the deployed API)."""
    headers = cors.get_access_control_headers()
    headers["Access-Control-Allow-Methods"] = ",".join(sorted(set(methods) | {"OPTIONS"}))
    return headers
