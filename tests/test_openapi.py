"""The OpenAPI document of an app: structure, security schemes, determinism, moto's import."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from openapi_spec_validator import validate

from deployer.package.openapi import api_fingerprint, build_openapi, integration_uri
from microframework import (
    App,
    CognitoUserPoolAuthorizer,
    CORSConfig,
    CustomAuthorizer,
    IAMAuthorizer,
)

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:demo-dev"
AUTH_ARN = "arn:aws:lambda:us-east-1:123456789012:function:demo-dev-check"
HANDLER_URI = integration_uri("us-east-1", FUNCTION_ARN)
AUTH_URI = integration_uri("us-east-1", AUTH_ARN)
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def sample_app() -> App:
    """CORS, a path parameter, a greedy path, a built-in authorizer, an API key, binary types."""
    app = App("demo")
    app.api.binary_types.append("application/x-demo")

    @app.authorizer(ttl_seconds=60, header="X-Token")
    def check(request: Any) -> None:
        return None

    @app.route("/")
    def index() -> dict:
        return {}

    @app.route("/users/{user_id}", methods=["GET", "PUT"], cors=True, authorizer=check)
    def user(user_id: str) -> dict:
        return {}

    @app.route("/files/{proxy+}", api_key_required=True)
    def files() -> dict:
        return {}

    return app


def build(app: App, **kwargs: Any) -> dict[str, Any]:
    return build_openapi(
        app, handler_uri=HANDLER_URI, authorizer_uris={"check": AUTH_URI}, **kwargs
    )


def check_structure(doc: dict[str, Any]) -> None:
    """What API Gateway's import (and moto's) needs of every operation."""
    assert doc["openapi"] == "3.0.1"
    assert doc["info"]["description"]
    assert list(doc["paths"]) == sorted(doc["paths"])
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for path, operations in doc["paths"].items():
        assert set(operations) <= _METHODS, path
        assert list(operations) == sorted(operations)
        templated = [name.rstrip("+") for name in re.findall(r"{([^}]+)}", path)]
        for operation in operations.values():
            declared = [p["name"] for p in operation.get("parameters", [])]
            assert declared == templated, path
            assert all(p["in"] == "path" and p["required"] for p in operation.get("parameters", []))
            assert operation["responses"]
            assert "x-amazon-apigateway-integration" in operation
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes)


def test_every_route_is_an_explicit_proxied_method() -> None:
    doc = build(sample_app())
    check_structure(doc)
    assert list(doc["paths"]) == ["/", "/files/{proxy+}", "/users/{user_id}"]
    assert list(doc["paths"]["/users/{user_id}"]) == ["get", "options", "put"]
    integration = doc["paths"]["/"]["get"]["x-amazon-apigateway-integration"]
    assert integration == {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": HANDLER_URI,
        "passthroughBehavior": "when_no_match",
        "contentHandling": "CONVERT_TO_TEXT",
    }
    assert "x-amazon-apigateway-any-method" not in json.dumps(doc)


def test_greedy_parameter_is_declared_by_its_bare_name() -> None:
    operation = build(sample_app())["paths"]["/files/{proxy+}"]["get"]
    assert operation["parameters"] == [
        {"name": "proxy", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_binary_types_come_from_the_app() -> None:
    app = sample_app()
    doc = build(app)
    assert doc["x-amazon-apigateway-binary-media-types"] == app.api.binary_types
    assert "application/x-demo" in doc["x-amazon-apigateway-binary-media-types"]


def test_cors_preflight_is_a_mock_answering_the_local_headers() -> None:
    app = App("demo")

    @app.route("/items", methods=["POST", "GET"], cors=CORSConfig(max_age=600))
    def items() -> dict:
        return {}

    options = build(app)["paths"]["/items"]["options"]
    integration = options["x-amazon-apigateway-integration"]
    assert integration["type"] == "mock"
    params = integration["responses"]["default"]["responseParameters"]
    assert params["method.response.header.Access-Control-Allow-Methods"] == "'POST,GET,OPTIONS'"
    assert params["method.response.header.Access-Control-Max-Age"] == "'600'"
    assert params["method.response.header.Access-Control-Allow-Origin"] == "'*'"
    assert set(options["responses"]["200"]["headers"]) == {
        name.rpartition(".")[2] for name in params
    }


def test_route_without_cors_gets_no_preflight() -> None:
    assert "options" not in build(sample_app())["paths"]["/"]


def test_builtin_authorizer_is_a_token_authorizer() -> None:
    doc = build(sample_app(), authorizer_credentials={"check": "arn:aws:iam::1:role/invoke"})
    assert doc["paths"]["/users/{user_id}"]["get"]["security"] == [{"check": []}]
    assert doc["components"]["securitySchemes"]["check"] == {
        "type": "apiKey",
        "name": "X-Token",
        "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": {
            "type": "token",
            "authorizerUri": AUTH_URI,
            "authorizerResultTtlInSeconds": 60,
            "authorizerCredentials": "arn:aws:iam::1:role/invoke",
        },
    }


def test_builtin_authorizer_execution_role_is_the_invoke_credential() -> None:
    app = App("demo")

    @app.authorizer(execution_role="arn:aws:iam::1:role/auth-invoker")
    def gate(request: Any) -> None:
        return None

    @app.route("/", authorizer=gate)
    def index() -> dict:
        return {}

    doc = build_openapi(app, handler_uri=HANDLER_URI, authorizer_uris={"gate": AUTH_URI})
    authorizer = doc["components"]["securitySchemes"]["gate"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerCredentials"] == "arn:aws:iam::1:role/auth-invoker"
    assert authorizer["authorizerResultTtlInSeconds"] == 300


def test_api_key_required_adds_the_api_key_scheme() -> None:
    doc = build(sample_app())
    assert doc["paths"]["/files/{proxy+}"]["get"]["security"] == [{"api_key": []}]
    assert doc["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }


def test_cognito_iam_and_custom_authorizers() -> None:
    app = App("demo")
    pool = CognitoUserPoolAuthorizer("pool", ["arn:aws:cognito-idp:us-east-1:1:userpool/x"])
    custom = CustomAuthorizer("ext", "arn:aws:apigateway:...:ext/invocations", ttl_seconds=0)

    @app.route("/a", authorizer=pool.with_scopes(["read"]))
    def a() -> dict:
        return {}

    @app.route("/b", authorizer=IAMAuthorizer())
    def b() -> dict:
        return {}

    @app.route("/c", authorizer=custom)
    def c() -> dict:
        return {}

    doc = build_openapi(app, handler_uri=HANDLER_URI)
    schemes = doc["components"]["securitySchemes"]
    assert doc["paths"]["/a"]["get"]["security"] == [{"pool": ["read"]}]
    assert schemes["pool"]["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": ["arn:aws:cognito-idp:us-east-1:1:userpool/x"],
    }
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert schemes["ext"]["x-amazon-apigateway-authorizer"]["authorizerResultTtlInSeconds"] == 0
    check_structure(doc)


def test_two_authorizers_with_one_name_are_refused() -> None:
    app = App("demo")

    @app.route("/a", authorizer=CustomAuthorizer("auth", "uri-a"))
    def a() -> dict:
        return {}

    @app.route("/b", authorizer=CustomAuthorizer("auth", "uri-b"))
    def b() -> dict:
        return {}

    with pytest.raises(ValueError, match="'auth'"):
        build_openapi(app, handler_uri=HANDLER_URI)


def test_builtin_authorizer_without_uri_is_refused() -> None:
    with pytest.raises(ValueError, match="'check'"):
        build_openapi(sample_app(), handler_uri=HANDLER_URI)


def test_intrinsics_are_copied_as_they_are() -> None:
    uri = {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/x"}
    doc = build_openapi(sample_app(), handler_uri=uri, authorizer_uris={"check": {"Ref": "X"}})
    assert doc["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["uri"] == uri
    assert doc["components"]["securitySchemes"]["check"]["x-amazon-apigateway-authorizer"][
        "authorizerUri"
    ] == {"Ref": "X"}


def test_fingerprint_is_stable_and_sees_changes() -> None:
    first, second = build(sample_app()), build(sample_app())
    assert json.dumps(first) == json.dumps(second)
    assert api_fingerprint(first) == api_fingerprint(second)
    assert re.fullmatch(r"[0-9a-f]{64}", api_fingerprint(first))
    changed = sample_app()
    changed.api.binary_types.append("image/webp")
    assert api_fingerprint(build(changed)) != api_fingerprint(first)


@pytest.mark.parametrize(
    ("region", "arn", "prefix"),
    [
        ("us-east-1", FUNCTION_ARN, "arn:aws:apigateway:us-east-1:lambda:"),
        ("cn-north-1", "arn:aws-cn:lambda:cn-north-1:1:function:f", "arn:aws-cn:apigateway:"),
    ],
    ids=["aws", "aws-cn"],
)
def test_integration_uri(region: str, arn: str, prefix: str) -> None:
    uri = integration_uri(region, arn)
    assert uri.startswith(prefix)
    assert uri.endswith(f"path/2015-03-31/functions/{arn}/invocations")


def test_document_without_greedy_path_is_valid_openapi() -> None:
    # openapi-spec-validator wants "proxy+" as the greedy parameter's name where API Gateway
    # wants "proxy", so the app checked here has no greedy path.
    app = sample_app()
    del app.routes["/files/{proxy+}"]
    validate(build(app))


def test_moto_imports_the_document(aws: str) -> None:
    client = boto3.client("apigateway")
    api_id = client.create_rest_api(name="demo")["id"]
    client.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(build(sample_app())))
    resources = client.get_resources(restApiId=api_id, embed=["methods"])["items"]
    methods = {r["path"]: sorted(r.get("resourceMethods", {})) for r in resources}
    assert methods == {
        "/": ["GET"],
        "/files": [],
        "/files/{proxy+}": ["GET"],
        "/users": [],
        "/users/{user_id}": ["GET", "OPTIONS", "PUT"],
    }
    by_path = {r["path"]: r["id"] for r in resources}
    get = client.get_integration(
        restApiId=api_id, resourceId=by_path["/users/{user_id}"], httpMethod="GET"
    )
    assert (get["type"], get["uri"]) == ("aws_proxy", HANDLER_URI)
    preflight = client.get_integration(
        restApiId=api_id, resourceId=by_path["/users/{user_id}"], httpMethod="OPTIONS"
    )
    headers = preflight["integrationResponses"]["200"]["responseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,PUT,OPTIONS'"
