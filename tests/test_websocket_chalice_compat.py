"""Chalice as the oracle for websockets: one app source, on Chalice and ported to fw, driven by
the same API Gateway events, gives the same results and makes the same management API calls.

The management API is a real botocore client on both sides; a ``before-call`` hook records each
request as it would go on the wire (operation, path, body) and answers it, so nothing leaves
the machine and the ``GoneException`` path is botocore's own error.
"""

from __future__ import annotations

import copy
import datetime
import types
from typing import Any

import botocore.awsrequest
import botocore.session
import pytest
from test_chalice_compat_port import port

from microframework.websocket_local import websocket_event

APP = """
import json
from chalice import Chalice, Response, WebsocketDisconnectedError

app = Chalice(app_name="wscompat")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = SESSION
seen = []


@app.middleware("websocket")
def trace(event, get_response):
    seen.append(("middleware", type(event).__name__, event.connection_id))
    return get_response(event)


@app.on_ws_connect()
def connect(event):
    query = event.to_dict().get("queryStringParameters") or {}
    if query.get("token") != "ok":
        return Response(body={"error": "no token"}, status_code=403)
    return {"headers": {"Sec-WebSocket-Protocol": "chat"}}


@app.on_ws_message()
def message(event):
    body = event.json_body
    action = body.get("action")
    if action == "info":
        identity = app.websocket_api.info(event.connection_id)["Identity"]
        return {"statusCode": 200, "body": json.dumps(identity)}
    if action == "close":
        app.websocket_api.close(event.connection_id)
        return None
    try:
        app.websocket_api.send(body.get("to", event.connection_id), body["text"])
    except WebsocketDisconnectedError as error:
        return {"statusCode": 410, "body": error.connection_id}
    return Response(body={"sent": body["text"], "stage": event.stage})


@app.on_ws_disconnect()
def disconnect(event):
    seen.append(("disconnect", event.body))
    return "ignored"
"""

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


class ManagementAPI:
    """A boto3 Session stand-in whose clients record their requests and answer them."""

    region_name = None

    def __init__(self) -> None:
        self.clients: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, bytes]] = []

    def client(self, service: str, **options: Any) -> Any:
        self.clients.append({"service": service, **options})
        client = botocore.session.get_session().create_client(
            service, region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s",
            **options,
        )  # fmt: skip
        client.meta.events.register("before-call.*.*", self._answer)
        return client

    def _answer(self, model: Any, params: dict[str, Any], **kwargs: Any) -> Any:
        path = params["url_path"]
        self.requests.append((model.name, path, params["body"]))
        if "gone" in path:
            parsed: dict[str, Any] = {"Error": {"Code": "GoneException", "Message": ""}}
            status = 410
        elif model.name == "GetConnection":
            identity = {"SourceIp": "192.0.2.7", "UserAgent": "wscat"}
            parsed = {"ConnectedAt": NOW, "Identity": identity, "LastActiveAt": NOW}
            status = 200
        else:
            parsed, status = {}, 200
        http = botocore.awsrequest.AWSResponse(path, status, {}, None)
        return http, parsed


def event(route_key: str, **fields: Any) -> dict[str, Any]:
    return websocket_event(
        route_key,
        connection_id="L0SM9cOFvHcCIhw=",
        domain_name="a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        stage="prod",
        api_id="a1b2c3d4e5",
        source_ip="192.0.2.7",
        user_agent="wscat",
        **fields,
    )


EVENTS = [
    ("$connect", event("$connect", query={"token": "ok"})),
    ("$connect", event("$connect")),
    ("$default", event("$default", body='{"text": "hello"}')),
    ("$default", event("$default", body='{"text": "hi", "to": "gone-one="}')),
    ("$default", event("$default", body='{"action": "info"}')),
    ("$default", event("$default", body='{"action": "close"}')),
    ("$default", event("$default", body="not json")),
    ("$disconnect", event("$disconnect", disconnect_status_code=1000)),
]


def run(source: str) -> tuple[list[Any], ManagementAPI, list[Any]]:
    session = ManagementAPI()
    module = types.ModuleType("ws_compat_app")
    module.SESSION = session  # type: ignore[attr-defined]
    exec(source, module.__dict__)  # noqa: S102 - test source
    app = module.app  # type: ignore[attr-defined]
    handlers = {
        "$connect": module.connect,  # type: ignore[attr-defined]
        "$default": module.message,  # type: ignore[attr-defined]
        "$disconnect": module.disconnect,  # type: ignore[attr-defined]
    }
    results: list[Any] = []
    for route_key, raw in EVENTS:
        try:
            results.append(handlers[route_key](copy.deepcopy(raw), None))
        except Exception as error:  # noqa: BLE001 - the failure is what is compared
            results.append((type(error).__name__, str(error)))
    assert app.websocket_handlers.keys() == handlers.keys()
    return results, session, module.seen  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_REGION", "eu-west-1")
        return run(APP), run(port(APP))


def test_results_match_chalice(both: tuple[Any, Any]) -> None:
    (chalice_results, _, _), (fw_results, _, _) = both
    assert fw_results == chalice_results
    assert chalice_results[1]["statusCode"] == 403  # the case is there, on both
    assert chalice_results[6] == ("BadRequestError", "Error Parsing JSON")


def test_management_calls_match_chalice(both: tuple[Any, Any]) -> None:
    (_, chalice_api, _), (_, fw_api, _) = both
    assert (
        fw_api.clients
        == chalice_api.clients
        == [
            {
                "service": "apigatewaymanagementapi",
                "endpoint_url": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod",
            }
        ]
    )
    assert fw_api.requests == chalice_api.requests
    assert [name for name, _, _ in fw_api.requests] == [
        "PostToConnection", "PostToConnection", "GetConnection", "DeleteConnection"
    ]  # fmt: skip


def test_middleware_and_handlers_see_the_same_events(both: tuple[Any, Any]) -> None:
    (_, _, chalice_seen), (_, _, fw_seen) = both
    assert fw_seen == chalice_seen
    assert ("disconnect", "None") in fw_seen
