"""The apps the benchmarks run, written once and loaded against fw or Chalice.

Only the import line differs, which is the porting story: a Chalice app runs on fw by
changing ``from chalice import ...`` to ``from microframework import ...``.
"""

from __future__ import annotations

import types

IMPORTS = {
    "fw": "from microframework import App as Chalice, BadRequestError, NotFoundError, Response, CORSConfig",
    "chalice": "from chalice import Chalice, BadRequestError, NotFoundError, Response, CORSConfig",
}

# A realistic API: 40 routes over 8 resources, path parameters, CORS on some, errors on others.
REST_40 = """
app = Chalice(app_name="bench")
RESOURCES = ["users", "orders", "items", "carts", "invoices", "reviews", "stores", "coupons"]


def _make(resource):
    def list_view():
        params = app.current_request.query_params or {}
        return {"resource": resource, "limit": params.get("limit", "10"), "items": []}

    def create_view():
        body = app.current_request.json_body
        if not isinstance(body, dict):
            raise BadRequestError("expected an object")
        return Response(body={"created": body}, status_code=201, headers={"Location": "/" + resource + "/1"})

    def get_view(item_id):
        if item_id == "missing":
            raise NotFoundError(item_id)
        return {"id": item_id, "resource": resource}

    def update_view(item_id):
        return {"id": item_id, "updated": app.current_request.json_body}

    def delete_view(item_id):
        return Response(body="", status_code=204)

    app.route("/" + resource, methods=["GET"], name=resource + "_list", cors=True)(list_view)
    app.route("/" + resource, methods=["POST"], name=resource + "_create", cors=True)(create_view)
    app.route("/" + resource + "/{item_id}", methods=["GET"], name=resource + "_get")(get_view)
    app.route("/" + resource + "/{item_id}", methods=["PUT"], name=resource + "_update")(update_view)
    app.route("/" + resource + "/{item_id}", methods=["DELETE"], name=resource + "_delete")(delete_view)


for _resource in RESOURCES:
    _make(_resource)
"""

HELLO = """
app = Chalice(app_name="hello")


@app.route("/")
def index():
    return {"hello": "world"}
"""


def load(framework: str, source: str) -> types.ModuleType:
    module = types.ModuleType(f"bench_app_{framework}")
    exec(IMPORTS[framework] + "\n" + source, module.__dict__)  # noqa: S102 - our own benchmark source
    return module


def proxy_event(
    method: str,
    resource: str,
    path: str,
    params: dict | None = None,
    body: str | None = None,
    query: dict | None = None,
) -> dict:
    """A REST API proxy event with the headers a browser + CloudFront actually send."""
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "Accept-Language": "en-US,en;q=0.9",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Is-Mobile-Viewer": "false",
        "CloudFront-Viewer-Country": "US",
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        "Via": "2.0 a1b2c3.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "Jj2lQm0nXgZ8mXgJ3rXhZ1y0X0iW9r3Qd6hF6kL1yYh5x8b2K9Q==",
        "X-Amzn-Trace-Id": "Root=1-5e9f1a2b-3c4d5e6f7a8b9c0d1e2f3a4b",
        "X-Forwarded-For": "203.0.113.7, 130.176.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "path": "/api" + path,
            "accountId": "123456789012",
            "stage": "api",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "apiId": "abc123",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def rest_40_events() -> list[dict]:
    """A request mix over the 40-route app: reads, writes, params, queries, an error."""
    return [
        proxy_event("GET", "/users", "/users", query={"limit": "5"}),
        proxy_event("GET", "/orders/{item_id}", "/orders/42", params={"item_id": "42"}),
        proxy_event("POST", "/items", "/items", body='{"name": "widget", "price": 3}'),
        proxy_event(
            "PUT", "/carts/{item_id}", "/carts/7", params={"item_id": "7"}, body='{"qty": 2}'
        ),
        proxy_event("DELETE", "/invoices/{item_id}", "/invoices/9", params={"item_id": "9"}),
        proxy_event("GET", "/reviews/{item_id}", "/reviews/missing", params={"item_id": "missing"}),
        proxy_event("GET", "/stores", "/stores"),
        proxy_event("GET", "/coupons/{item_id}", "/coupons/x1", params={"item_id": "x1"}),
    ]
