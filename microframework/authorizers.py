"""Authorizers: declarations the deployer turns into API Gateway authorizers, and the built-in
(Lambda) authorizer whose decorated function is itself the Lambda handler."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_ALL_METHODS = ("DELETE", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "GET")


class Authorizer:
    """Base of every authorizer a route can name."""

    name: str = ""
    scopes: list[str]

    def with_scopes(self, scopes: list[str]) -> Authorizer:
        """A copy that requires OAuth ``scopes`` (Cognito) on the route that uses it."""
        import copy

        clone = copy.copy(self)
        clone.scopes = list(scopes)
        return clone


class IAMAuthorizer(Authorizer):
    """Callers sign requests with SigV4 (API Gateway's ``AWS_IAM`` authorization)."""

    name = "sigv4"

    def __init__(self) -> None:
        self.scopes = []


class CognitoUserPoolAuthorizer(Authorizer):
    """Tokens from the given Cognito user pools."""

    def __init__(
        self,
        name: str,
        provider_arns: list[str],
        header: str = "Authorization",
        scopes: list[str] | None = None,
    ) -> None:
        if isinstance(provider_arns, str):
            raise TypeError(
                f"provider_arns must be a list of ARNs, got the string {provider_arns!r}"
            )
        self.name = name
        self.provider_arns = list(provider_arns)
        self.header = header
        self.scopes = list(scopes or [])


class CustomAuthorizer(Authorizer):
    """A Lambda authorizer deployed outside this app, named by its invocation URI."""

    def __init__(
        self,
        name: str,
        authorizer_uri: str,
        ttl_seconds: int = 300,
        header: str = "Authorization",
        invoke_role_arn: str | None = None,
        scopes: list[str] | None = None,
    ) -> None:
        self.name = name
        self.authorizer_uri = authorizer_uri
        self.ttl_seconds = ttl_seconds
        self.header = header
        self.invoke_role_arn = invoke_role_arn
        self.scopes = list(scopes or [])


class AuthRequest:
    """What a built-in authorizer receives (a TOKEN authorizer's event)."""

    __slots__ = ("auth_type", "token", "method_arn")

    def __init__(self, auth_type: str, token: str, method_arn: str) -> None:
        self.auth_type = auth_type
        self.token = token
        self.method_arn = method_arn


class AuthRoute:
    """A path and the methods on it that an :class:`AuthResponse` allows."""

    __slots__ = ("path", "methods")

    def __init__(self, path: str, methods: list[str]) -> None:
        self.path = path
        self.methods = list(methods)


class AuthResponse:
    """What a built-in authorizer returns: the routes a caller may invoke, and who the caller is."""

    ALL_HTTP_METHODS = list(_ALL_METHODS)

    def __init__(
        self,
        routes: list[str | AuthRoute],
        principal_id: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.routes = routes
        self.principal_id = principal_id
        self.context = {} if context is None else context

    def to_dict(self, request: AuthRequest) -> dict[str, Any]:
        """The policy document API Gateway expects back from a Lambda authorizer."""
        return {
            "context": self.context,
            "principalId": self.principal_id,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Action": "execute-api:Invoke",
                        "Effect": "Allow",
                        "Resource": self._resources(request.method_arn),
                    }
                ],
            },
        }

    def _resources(self, method_arn: str) -> list[str]:
        # methodArn: arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/path/parts;
        # allowed routes keep the API id and stage and swap in method and path.
        prefix, _, resource = method_arn.partition(":execute-api:")
        region, account, rest = resource.split(":", 2)
        api_and_stage = "/".join(rest.split("/")[:2])
        base = f"{prefix}:execute-api:{region}:{account}:{api_and_stage}"
        arns = []
        for route in self.routes:
            if isinstance(route, AuthRoute):
                path, methods = route.path, route.methods
            else:
                path, methods = route, ["*"]
            for method in methods:
                if path == "*":
                    arns.append(f"{base}/{method}/*")
                else:
                    arns.append(f"{base}/{method}/{path[1:]}")
        return arns


class BuiltinAuthConfig:
    """A built-in authorizer as the deployer needs it: a Lambda function of its own."""

    __slots__ = ("name", "handler_string", "ttl_seconds", "execution_role", "header")

    def __init__(
        self,
        name: str,
        handler_string: str,
        ttl_seconds: int | None = None,
        execution_role: str | None = None,
        header: str = "Authorization",
    ) -> None:
        self.name = name
        self.handler_string = handler_string
        self.ttl_seconds = ttl_seconds
        self.execution_role = execution_role
        self.header = header

    def __repr__(self) -> str:
        return f"BuiltinAuthConfig(name={self.name!r}, handler_string={self.handler_string!r})"


class BuiltinAuthorizer(Authorizer):
    """An ``@app.authorizer()`` function: a route's ``authorizer=`` and its own Lambda handler."""

    def __init__(
        self, name: str, func: Callable[[AuthRequest], Any], config: BuiltinAuthConfig
    ) -> None:
        self.name = name
        self.func = func
        self.config = config
        self.scopes = []
        self.__name__ = getattr(func, "__name__", name)
        self.__doc__ = getattr(func, "__doc__", None)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = AuthRequest(
            event.get("type", "TOKEN"), event.get("authorizationToken", ""), event["methodArn"]
        )
        result = self.func(request)
        if isinstance(result, AuthResponse):
            return result.to_dict(request)
        return result

    def __repr__(self) -> str:
        return f"<BuiltinAuthorizer {self.name}>"
