"""A websocket app's three handlers in AWS's runtime client (awslambdaric), from a read-only
task root holding only fw's zip, as Lambda runs them: entry points ``app.<function name>``, as
for every other event handler, and boto3 (which Lambda's Python runtime provides) imported on
the first ``app.websocket_api`` call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lambda_runtime import LambdaError, LambdaRuntime, unavailable_reason
from test_lambda_runtime import _zip
from test_websocket import _Recorder, management_api  # noqa: F401 - a fixture used below

from microframework.websocket_local import websocket_event

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))

APP = """\
import os
import sys

from microframework import App, Response, WebsocketDisconnectedError

app = App("wsrt")
# The management API of this test (Lambda's would be https://{api_id}.execute-api...).
app.websocket_api.use_endpoint(os.environ["MANAGEMENT_URL"])


@app.on_ws_connect()
def connect(event):
    query = event.to_dict().get("queryStringParameters") or {}
    if "deny" in query:
        return Response(body={"error": "denied"}, status_code=403)
    return {"boto3_loaded": "boto3" in sys.modules}


@app.on_ws_message()
def message(event):
    target = event.json_body.get("to", event.connection_id)
    try:
        app.websocket_api.send(target, "echo:" + event.body)
    except WebsocketDisconnectedError as gone:
        return {"statusCode": 410, "body": gone.connection_id}
    return {"statusCode": 200, "body": "sent"}


@app.on_ws_disconnect()
def disconnect(event):
    return None
"""


def event(route_key: str, **fields: object) -> dict[str, object]:
    return websocket_event(
        route_key,
        connection_id="L0SM9cOFvHcCIhw=",
        domain_name="a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        stage="api",
        api_id="a1b2c3d4e5",
        source_ip="192.0.2.7",
        user_agent="wscat",
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _zip(tmp_path_factory.mktemp("wsrt"), APP)


@pytest.fixture
def start(zip_path: Path, management_api: str) -> Callable[[str], LambdaRuntime]:  # noqa: F811
    def run(handler: str) -> LambdaRuntime:
        name = handler.rpartition(".")[2]
        return LambdaRuntime(
            zip_path,
            handler,
            env={"MANAGEMENT_URL": management_api},
            function_name=f"wsrt-dev-websocket_{name}",
        )

    return run


def test_connect_accepts_or_refuses_without_loading_boto3(
    start: Callable[[str], LambdaRuntime],
) -> None:
    with start("app.connect") as fn:
        accepted = fn.invoke(event("$connect"))
        refused = fn.invoke(event("$connect", query={"deny": "1"}))
    assert accepted == {"statusCode": 200, "boto3_loaded": False}, accepted
    assert refused["statusCode"] == 403 and json.loads(refused["body"]) == {"error": "denied"}


def test_message_posts_through_boto3_and_gone_is_the_apps_error(
    start: Callable[[str], LambdaRuntime],
) -> None:
    with start("app.message") as fn:
        sent = fn.invoke(event("$default", body='{"text": "hi"}'))
        gone = fn.invoke(event("$default", body='{"to": "gone="}'))
        broken = fn.invoke(event("$default", body="not json"))
    assert sent == {"statusCode": 200, "body": "sent"}, sent
    assert gone == {"statusCode": 410, "body": "gone="}, gone
    assert [(method, path, body) for method, path, body, _ in _Recorder.seen] == [
        ("POST", "/@connections/L0SM9cOFvHcCIhw%3D", b'echo:{"text": "hi"}'),
        ("POST", "/@connections/gone%3D", b'echo:{"to": "gone="}'),
    ]
    # An exception fails the invocation, as in Chalice: API Gateway reports the error.
    assert isinstance(broken, LambdaError) and broken.error_type == "BadRequestError", broken


def test_disconnect_answers_200(start: Callable[[str], LambdaRuntime]) -> None:
    with start("app.disconnect") as fn:
        assert fn.invoke(event("$disconnect", disconnect_status_code=1001)) == {"statusCode": 200}
