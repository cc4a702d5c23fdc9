"""The REST handler: what Lambda runs when API Gateway sends the app a request.

In Lambda, API Gateway has already matched the route, so dispatch is two dict lookups on
``requestContext.resourcePath`` and ``httpMethod``: the app's size never costs a request anything.
:class:`~microframework.app.App` inherits this; registration (what fills ``routes``) is its own.
"""

from __future__ import annotations

from .errors import FrameworkError, InvalidEventError, UnhandledError, ViewError, not_an_object
from .request import Request, find_header, invalid_field
from .response import Response, error_response, is_binary

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextvars import ContextVar
    from typing import Any

    from .app import APIGateway, RouteEntry


class RestDispatch:
    """``app(event, context)``: the REST API's Lambda handler, over what the App registered."""

    # Set by App.__init__ (and its registration methods); declared here for type checkers.
    api: APIGateway
    routes: dict[str, dict[str, RouteEntry]]
    middleware_handlers: list[tuple[Callable[..., Any], str]]
    _middleware_version: int
    _http_chain: Callable[[Request], Response] | None
    _http_chain_version: int
    _debug: bool
    _request_var: ContextVar[Request | None]
    if TYPE_CHECKING:

        @property
        def log(self) -> Any: ...

        @property
        def route_table(self) -> Any: ...

    def _middleware_for(self, event_type: str) -> list[Callable[..., Any]]:
        return [
            func for func, kind in self.middleware_handlers if kind == event_type or kind == "all"
        ]

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if type(event) is not dict and not isinstance(event, dict):
            raise not_an_object(event, "the REST API handler app(event, context)", "API Gateway")
        request = Request(event, context)
        request_token = self._request_var.set(request)
        try:
            if self.middleware_handlers:
                response = self._middleware_chain()(request)
            else:
                try:
                    response = self._dispatch(event, request)
                except Exception:
                    response = self._unhandled_error_response()
            try:
                result = response.to_dict(self.api.binary_types)
            except Exception:
                # A body JSON cannot encode is a view bug: answer 500 like any other, rather
                # than failing the invocation (which API Gateway turns into a bare 502).
                result = self._unhandled_error_response().to_dict()
        finally:
            self._request_var.reset(request_token)
        if request._v2:
            return _to_v2_result(result)
        return result

    def _middleware_chain(self) -> Callable[[Request], Response]:
        if self._http_chain is None or self._http_chain_version != self._middleware_version:
            from .handlers import chain

            def outermost(
                request: Request, get_response: Callable[[Request], Response]
            ) -> Response:
                try:
                    return get_response(request)
                except InvalidEventError as err:  # a middleware read a malformed field
                    return error_response(str(err), "BadRequestError", 400)
                except Exception:
                    return self._unhandled_error_response()

            def innermost(request: Request) -> Response:
                return self._dispatch(request.to_original_event(), request)

            self._http_chain = chain([outermost, *self._middleware_for("http")], innermost)
            self._http_chain_version = self._middleware_version
        return self._http_chain

    def _dispatch(self, event: dict[str, Any], request: Request) -> Response:
        """Route the event to its view; a field of the wrong shape is a 400 that names it.

        The checks are type tests on the fields dispatch reads, so a well-formed event pays
        for a few identity comparisons; the view's own reads are checked by Request.
        """
        try:
            path: Any
            if request._v2:
                path, method, params = self._route_v2(event, request)
            else:
                context: Any = event.get("requestContext")
                path = context.get("resourcePath") if type(context) is dict else None
                if type(path) is not str:
                    return self._not_routable(event, context)
                method = context.get("httpMethod")
                params = event.get("pathParameters")
            by_method = self.routes.get(path)
            if by_method is None:
                return error_response(f"No view function for: {path}", "NotFoundError", 404)
            if type(method) is not str:
                raise invalid_field("requestContext.httpMethod", method, "a string")
            entry = by_method.get(method)
            if entry is None:
                return error_response(
                    f"Unsupported method: {method}",
                    "MethodNotAllowedError",
                    405,
                    {"Allow": ", ".join(by_method)},
                )
            cors = entry._cors_headers
            if entry.content_types:
                content_type = find_header(event.get("headers"), "content-type")
                if not entry.accepts(content_type):
                    return error_response(
                        f"Unsupported media type: {content_type or 'application/json'}",
                        "UnsupportedMediaType",
                        415,
                        dict(cors) if cors else None,
                    )
            kwargs = _view_kwargs(entry, params) if entry.view_args else None
            response = self._call_view(entry, kwargs)
            if cors:
                headers = response.headers
                for name, value in cors.items():
                    if name not in headers:
                        headers[name] = value
            if response.headers and not self._binary_response_allowed(event, response):
                content_type = _get_header(response.headers, "content-type")
                return error_response(
                    f"Request did not specify an Accept header with {content_type}, The response "
                    f"has a Content-Type of {content_type}. If a response has a binary "
                    "Content-Type then the request must specify an Accept header that matches.",
                    "BadRequest",
                    400,
                    dict(cors) if cors else None,
                )
            return response
        except InvalidEventError as err:
            return error_response(str(err), "BadRequestError", 400)

    def _route_v2(
        self, event: dict[str, Any], request: Request
    ) -> tuple[str, str, dict[str, str] | None]:
        # An HTTP API (payload 2.0) names the route in routeKey; its $default route leaves
        # the matching to fw, on rawPath.
        method = request.method
        path = request.path
        params = event.get("pathParameters")
        if path not in self.routes:
            raw_path = event.get("rawPath", "/")
            if type(raw_path) is not str:
                raise invalid_field("rawPath", raw_path, "a string")
            match = self.route_table.match(raw_path)
            if match is not None:
                path, params = match
                request._matched = match
        return path, method, params

    def _not_routable(self, event: dict[str, Any], context: Any) -> Response:
        # A REST API proxy event names its resource in requestContext.resourcePath. When that
        # field is there in a wrong shape (or requestContext itself is not an object), the
        # event is a malformed request: a 400 naming the field. When it is absent (an SQS or
        # S3 event, {}, a WebSocket or ALB event, a hand-made `aws lambda invoke`), API
        # Gateway's REST API did not send the event: the function is wired to the wrong source,
        # a deployment fault no HTTP client can fix. That is Chalice's 500 "Unknown request."
        # (same body), logged, because no client reads that answer.
        if "requestContext" in event:
            if type(context) is not dict:
                raise invalid_field("requestContext", context, "an object")
            if "resourcePath" in context:
                raise invalid_field(
                    "requestContext.resourcePath", context["resourcePath"], "a string"
                )
        self.log.error(
            "The REST API handler got an event that API Gateway's REST API does not send (no "
            "requestContext.resourcePath; top-level keys %s): check what triggers this function",
            list(event)[:10],
        )
        return error_response("Unknown request.", "InternalServerError", 500)

    def _call_view(self, entry: RouteEntry, kwargs: dict[str, str] | None) -> Response:
        try:
            if kwargs:
                result = entry.view_function(**kwargs)
            else:
                result = entry.view_function()
            if type(result) is not Response and not isinstance(result, Response):
                return Response(result)
            for name, value in result.headers.items():
                if "\n" in (value if isinstance(value, str) else "".join(map(str, value))):
                    raise FrameworkError(f"Bad value for header {name!r}: {value!r}")
            return result
        except UnhandledError:
            raise
        except InvalidEventError as err:  # the view read a malformed field of the event
            return error_response(str(err), "BadRequestError", 400)
        except ViewError as err:
            return error_response(str(err), type(err).__name__, err.STATUS_CODE)
        except Exception:
            return self._unhandled_error_response()

    def _binary_response_allowed(self, event: dict[str, Any], response: Response) -> bool:
        binary_types = self.api.binary_types
        content_type = _get_header(response.headers, "content-type") or "application/json"
        if not is_binary(content_type, binary_types):
            return True
        accept = find_header(event.get("headers"), "accept")
        return accept is not None and is_binary(accept, binary_types)

    def _unhandled_error_response(self) -> Response:
        request = self._request_var.get()
        try:
            path = request.path if request is not None else "unknown"
        except InvalidEventError:
            path = "unknown"
        self.log.error("Caught exception for path %s", path, exc_info=True)
        if self._debug:
            import traceback

            return Response(
                traceback.format_exc(), headers={"Content-Type": "text/plain"}, status_code=500
            )
        return error_response("An internal server error occurred.", "InternalServerError", 500)


def _view_kwargs(entry: RouteEntry, params: Any) -> dict[str, str]:
    """The view's path arguments; API Gateway always sends every parameter of the route."""
    if type(params) is not dict:
        raise invalid_field("pathParameters", params, f"an object with {entry.view_args}")
    kwargs = {}
    for name in entry.view_args:
        value = params.get(name)
        if type(value) is not str:
            raise invalid_field(f"pathParameters[{name!r}]", value, "a string")
        kwargs[name] = value
    return kwargs


def _get_header(headers: dict[str, Any], lower_name: str) -> Any:
    for key, value in headers.items():
        if key.lower() == lower_name:
            return value
    return None


def _to_v2_result(result: dict[str, Any]) -> dict[str, Any]:
    # HTTP APIs (payload 2.0) have no multiValueHeaders: join them, and Set-Cookie goes to cookies.
    headers = dict(result["headers"])
    cookies: list[str] = []
    for name, values in result.get("multiValueHeaders", {}).items():
        if name.lower() == "set-cookie":
            cookies.extend(values)
        else:
            headers[name] = ", ".join(values)
    for name in [n for n in headers if n.lower() == "set-cookie"]:
        cookies.append(headers.pop(name))
    out = {"statusCode": result["statusCode"], "headers": headers, "body": result["body"]}
    out["isBase64Encoded"] = result.get("isBase64Encoded", False)
    if cookies:
        out["cookies"] = cookies
    return out
